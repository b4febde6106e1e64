from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.identity.policy import PasswordNotAllowed
from accounts.signin.services import SignInRefused, sign_in

MSG_INVALID_LOGIN = "That email and password do not match an account here. Check both and try again."


class LoginForm(AuthenticationForm):
    """Email and password (StaffUser's USERNAME_FIELD is the email), checked by
    accounts.signin, which limits guessing exactly as on the token endpoint."""

    error_messages = {
        "invalid_login": MSG_INVALID_LOGIN,
        "inactive": MSG_INVALID_LOGIN,
    }

    refused = None  # the SignInRefused of the last attempt, if any

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:
            return self.cleaned_data
        try:
            self.user_cache = sign_in(request=self.request, email=email, password=password)
        except SignInRefused as refused:
            self.refused = refused
            raise forms.ValidationError(
                refused.message if refused.locked else MSG_INVALID_LOGIN, code="invalid_login"
            ) from None
        except PasswordNotAllowed as refused:
            raise forms.ValidationError(refused.message, code="sso_only") from None
        return self.cleaned_data

    @property
    def rate_limited(self):
        return self.refused is not None and self.refused.locked


MSG_CODE_REQUIRED = "Enter the 6-digit code from your authenticator app, or one of your recovery codes."


class SecondFactorForm(forms.Form):
    """A code of the second factor as typed: accounts.twofactor tells a TOTP code from a
    recovery code and checks it."""

    code = forms.CharField(max_length=64, strip=True, error_messages={"required": MSG_CODE_REQUIRED})
