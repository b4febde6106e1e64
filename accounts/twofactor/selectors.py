"""Reads of the second factor: what a password sign-in needs after the password, and a
user's state for the account page."""
import datetime as dt
from dataclasses import dataclass

from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.identity.policy import policy_get
from accounts.permissions import USER_MANAGEMENT_VIEW

VERIFY = "verify"  # the account has an authenticator app: ask for its code
ENROL = "enrol"  # the tenant requires a second factor and the account has none yet


def totp_device(user, *, confirmed=True):
    """The user's TOTP device (the confirmed one, or the newest set-up still unconfirmed), or None."""
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-id").first()


def is_service_account(user):
    """A user with no console access (the runtime's ingest account): one that signs in with a
    password at the token endpoint only, and so has nowhere to set up an authenticator app."""
    return USER_MANAGEMENT_VIEW not in user.permission_strings


def second_factor_step(user, *, channel, policy=None):
    """What a password sign-in of `user` needs once the password is right: VERIFY, ENROL or
    None. `channel` is "console" or "token"; at the token endpoint, service accounts without
    an authenticator app are not held to the tenant's requirement. Queries: the device, and
    the policy when there is none."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return VERIFY
    policy = policy if policy is not None else policy_get()
    if not policy.require_two_factor:
        return None
    if channel == "token" and is_service_account(user):
        return None
    return ENROL


@dataclass(frozen=True)
class TwoFactorStatus:
    applies: bool  # the account has a password here (a second factor protects password sign-ins only)
    enrolled: bool
    enrolled_at: dt.datetime | None
    last_used_at: dt.datetime | None
    recovery_codes_left: int
    required: bool  # by the tenant's sign-in policy


def two_factor_status(user):
    """The user's second factor as the account page shows it. Queries: the device, the
    recovery codes left, the policy."""
    device = totp_device(user)
    left = StaticToken.objects.filter(device__user=user).count() if device is not None else 0
    return TwoFactorStatus(
        applies=user.has_usable_password(),
        enrolled=device is not None,
        enrolled_at=device.created_at if device is not None else None,
        last_used_at=device.last_used_at if device is not None else None,
        recovery_codes_left=left,
        required=policy_get().require_two_factor,
    )
