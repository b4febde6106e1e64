"""Bearer tokens: issued for a staff email and password on this tenant, revoked at logout."""
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from accounts.signin.services import sign_in
from accounts.twofactor.services import two_factor_check_token


def token_issue(*, request, email, password, otp=None):
    """Check the credentials against this tenant's staff (accounts.signin: 401, or 429 while
    too many have failed), then the second factor `otp` when the account needs one
    (accounts.twofactor: 401 naming `otp` when missing or wrong, 403 when the tenant requires
    one the account has not set up, 429 as for passwords), and issue a Bearer token."""
    user = sign_in(request=request, email=email, password=password, channel="token")
    two_factor_check_token(request=request, user=user, otp=otp)
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(user=user, key_hash=hash_token(raw), prefix=raw[:8])
    return token, raw


def token_revoke(*, token):
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
