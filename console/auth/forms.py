from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Email and password (StaffUser's USERNAME_FIELD is the email)."""

    error_messages = {
        "invalid_login": "That email and password do not match an account here. Check both and try again.",
        "inactive": "This account is disabled. Ask an administrator to re-enable it.",
    }
