"""Bearer tokens: issued for a staff email and password on this tenant, revoked at logout."""
from django.contrib.auth import authenticate
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from config.errors import UNAUTHENTICATED, AppError

MSG_BAD_CREDENTIALS = "The email or password is not correct."


def token_issue(*, request, email, password):
    """Check the credentials against this tenant's staff and issue a Bearer token."""
    user = authenticate(request, username=(email or "").strip().lower(), password=password)
    if user is None or not user.is_active:
        raise AppError(MSG_BAD_CREDENTIALS, code=UNAUTHENTICATED, status_code=401)
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(user=user, key_hash=hash_token(raw), prefix=raw[:8])
    return token, raw


def token_revoke(*, token):
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
