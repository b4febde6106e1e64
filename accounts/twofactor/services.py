"""Writes of the second factor, each with its rule and message here, once.

A TOTP device (django-otp) is created unconfirmed when set-up begins and confirmed by the
first code the app shows, which also makes the account's ten recovery codes (a StaticDevice;
each usable once, shown once). A code is a TOTP code or a recovery code: django-otp accepts a
TOTP code within one 30-second step of the clock and never one of a step at or before the
last it accepted (no replay), and after each wrong code it refuses every code for a time that
doubles (1, 2, 4 … seconds); every wrong code also counts against the sign-in limits of the
account and the client address (accounts.signin), so guessing codes is as slow as guessing
passwords. Changes are audited: two_factor.enrol (confirmed), two_factor.recovery_codes,
two_factor.recovery_code_used, two_factor.disable, two_factor.reset; never a key or a code.
"""
import math
import re
from base64 import b32encode
from dataclasses import dataclass

import segno
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit.services import audit_record
from accounts.identity.policy import policy_get
from accounts.models import StaffUser
from accounts.signin.services import normalise_email, sign_in_attempt, sign_in_failed
from accounts.twofactor.selectors import ENROL, second_factor_step, totp_device
from config.errors import CONFLICT, PERMISSION_DENIED, RATE_LIMITED, UNAUTHENTICATED, VALIDATION_ERROR, AppError

MSG_CODE_WRONG = (
    "That code is not right, or it has been used already. Enter the 6-digit code your "
    "authenticator app shows now, or one of your unused recovery codes."
)
MSG_CODE_MISSING = (
    "This account signs in with a second factor: send `otp`, the 6-digit code its authenticator "
    "app shows now, or one of its recovery codes."
)
MSG_CODE_THROTTLED = "Too many wrong codes in a row. Wait {seconds} second{s} and try again with the code the app shows."
MSG_ENROL_FIRST = (
    "This university requires a second factor for password sign-ins and this account has none yet. "
    "Sign in to the console once to set up an authenticator app, then ask for a token with `otp`."
)
MSG_SETUP_CODE_WRONG = (
    "That code does not match the key. Check that the app holds the key shown here and that your "
    "phone sets its clock automatically, then enter the code the app shows now."
)
MSG_SETUP_NOT_STARTED = "Set-up has not started for this account. Open the set-up page again."
MSG_ALREADY_ENROLLED = (
    "An authenticator app is already set up for this account. To move to another one, turn the "
    "second factor off first (or, where your university requires it, ask an administrator to reset it)."
)
MSG_NOT_ENROLLED = "No authenticator app is set up for this account."
MSG_REQUIRED_CANNOT_DISABLE = (
    "Your university requires a second factor for password sign-ins, so it cannot be turned off. "
    "If you have lost your authenticator app, ask an administrator to reset it."
)
MSG_NO_PASSWORD = (
    "This account signs in through your university's identity provider, which asks for its own "
    "second factor: there is no password here to protect."
)

RECOVERY_CODES = 10
TOTP = "totp"
RECOVERY_CODE = "recovery_code"
DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
_TOTP_CODE = re.compile(r"[0-9]{6}")
_RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")  # django-otp's StaticToken.random_token: 40 random bits, base32


class SecondFactorRefused(AppError):
    """A code refused, naming the `otp` field: `reason` is "missing" (401), "wrong" (401; at
    set-up 400), "throttled" (429, with when to retry) or "enrol" (403: required, none set up)."""

    def __init__(self, reason, message, *, status_code, code, retry_after=None):
        super().__init__(message, code=code, status_code=status_code, errors={"otp": [message]}, retry_after=retry_after)
        self.reason = reason


@dataclass(frozen=True)
class Enrolment:
    """What an authenticator app needs: the key in base32 (typed by hand), the otpauth:// URI
    and that URI as a QR code (an SVG data URI, for an <img>)."""

    device: TOTPDevice
    secret: str
    uri: str
    qr_data_uri: str

    @property
    def secret_groups(self):
        """The key in groups of four characters, as it is easiest to type."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def recovery_code_display(token):
    """A recovery code as shown: `abcd-efgh` (typed with or without the hyphen, in any case)."""
    return f"{token[:4]}-{token[4:]}"


def _parsed(code):
    """(TOTP or RECOVERY_CODE or None, the code without spaces and hyphens, in lower case)."""
    text = "".join(str(code or "").split()).replace("-", "").lower()
    if _TOTP_CODE.fullmatch(text):
        return TOTP, text
    if _RECOVERY_CODE.fullmatch(text):
        return RECOVERY_CODE, text
    return None, text


def _throttled(device):
    """SecondFactorRefused (429) while django-otp's back-off after wrong codes holds."""
    allowed, info = device.verify_is_allowed()
    if allowed:
        return None
    locked_until = (info or {}).get("locked_until") or timezone.now()
    seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
    return SecondFactorRefused(
        "throttled", MSG_CODE_THROTTLED.format(seconds=seconds, s="" if seconds == 1 else "s"),
        status_code=429, code=RATE_LIMITED, retry_after=seconds,
    )


def _lock_user(user):
    """Serialise the second-factor writes of one user (two set-ups at once make one device)."""
    StaffUser.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def _audit(action, user, **detail):
    audit_record(action=action, target_type="staff_user", target_id=user.pk, detail={"email": user.email, **detail})


# Enrolment ------------------------------------------------------------------------------


def enrolment_of(device):
    """The Enrolment of an unconfirmed device. The URI's issuer is the tenant's name
    (OTP_TOTP_ISSUER) and its label the account's email."""
    uri = device.config_url
    qr = segno.make(uri, error="m", micro=False)
    return Enrolment(
        device=device,
        secret=b32encode(device.bin_key).decode().rstrip("="),
        uri=uri,
        qr_data_uri=qr.svg_data_uri(scale=4, border=4, dark="#000000", light="#ffffff"),
    )


def two_factor_enrol(*, user):
    """Begin setting up an authenticator app: the account's unconfirmed TOTP device (made now
    if there is none, so that reloading the page shows the same key) and what the app needs.
    Refused for an account without a password (403) or with an app already (409). Not
    audited until confirmed (two_factor_confirm): an unconfirmed device signs nobody in."""
    if not user.has_usable_password():
        raise AppError(MSG_NO_PASSWORD, code=PERMISSION_DENIED, status_code=403)
    with transaction.atomic():
        _lock_user(user)
        if totp_device(user) is not None:
            raise AppError.conflict(MSG_ALREADY_ENROLLED)
        device = totp_device(user, confirmed=False)
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return enrolment_of(device)


def two_factor_confirm(*, user, code):
    """Confirm the set-up with the first code the app shows: the device is confirmed, the
    account gets its recovery codes, returned here to be shown once. A code that does not
    match is a 400 (SecondFactorRefused "wrong"); django-otp's back-off applies (429). Not
    counted against the sign-in limits: the key is on the screen, so nothing is guessed."""
    kind, token = _parsed(code)
    codes: list[str] = []
    with transaction.atomic():
        _lock_user(user)
        if totp_device(user) is not None:
            raise AppError.conflict(MSG_ALREADY_ENROLLED)
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-id").first()
        if device is None:
            raise AppError(MSG_SETUP_NOT_STARTED, code=CONFLICT, status_code=409)
        refused = _throttled(device)
        if refused is not None:
            raise refused
        verified = kind == TOTP and device.verify_token(token)
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            codes = _recovery_codes_replace(user)
            _audit("two_factor.enrol", user, recovery_codes=len(codes))
    if not verified:  # outside the block: django-otp's count of the wrong code is kept
        raise SecondFactorRefused("wrong", MSG_SETUP_CODE_WRONG, status_code=400, code=VALIDATION_ERROR)
    return codes


def _recovery_codes_replace(user):
    """Delete the account's recovery codes and make RECOVERY_CODES new ones (as shown)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    tokens: list[str] = []
    while len(tokens) < RECOVERY_CODES:
        token = StaticToken.random_token()
        if token not in tokens:
            tokens.append(token)
    StaticToken.objects.bulk_create([StaticToken(device=device, token=token) for token in tokens])
    return [recovery_code_display(token) for token in tokens]


# Verification ---------------------------------------------------------------------------


def two_factor_verify(*, request, user, code):
    """Check a code of the account's second factor: a code of its authenticator app or one
    of its unused recovery codes (which is then used up). Returns TOTP or RECOVERY_CODE.
    Refused: SignInRefused (429) while the sign-in limits hold, whatever the code;
    SecondFactorRefused "throttled" (429) during django-otp's back-off; "wrong" (401), counted
    against the sign-in limits. Queries: the failures in the window; the device (locked);
    one statement when it fails."""
    attempt = sign_in_attempt(request=request, email=normalise_email(user.email))
    kind, token = _parsed(code)
    verified = False
    with transaction.atomic():
        if kind == TOTP:
            device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        elif kind == RECOVERY_CODE:
            device = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        else:
            device = None
        if device is not None:
            refused = _throttled(device)
            if refused is not None:
                raise refused
            verified = device.verify_token(token)
        if verified and kind == RECOVERY_CODE:
            _audit("two_factor.recovery_code_used", user, left=StaticToken.objects.filter(device=device).count())
    if not verified:  # outside the block: django-otp's count of the wrong code is kept
        sign_in_failed(attempt, what="second factor")
        raise SecondFactorRefused("wrong", MSG_CODE_WRONG, status_code=401, code=UNAUTHENTICATED)
    return kind


def two_factor_check_token(*, request, user, otp):
    """The token endpoint's second factor, after a right password: nothing for an account that
    needs none; SecondFactorRefused "enrol" (403) when the tenant requires one and the account
    has none (service accounts excepted); "missing" (401) without `otp`; else two_factor_verify."""
    step = second_factor_step(user, channel="token")
    if step is None:
        return None
    if step == ENROL:
        raise SecondFactorRefused("enrol", MSG_ENROL_FIRST, status_code=403, code=PERMISSION_DENIED)
    if not str(otp or "").strip():
        raise SecondFactorRefused("missing", MSG_CODE_MISSING, status_code=401, code=UNAUTHENTICATED)
    return two_factor_verify(request=request, user=user, code=otp)


# Changes of a signed-in user, and an administrator's reset --------------------------------


def _require_enrolled(user):
    if totp_device(user) is None:
        raise AppError.conflict(MSG_NOT_ENROLLED)


def two_factor_recovery_codes_regenerate(*, request, user, code):
    """New recovery codes (the old ones stop working), after a code of the second factor
    (two_factor_verify: its refusals, its limits). Returns the new codes, to be shown once."""
    _require_enrolled(user)
    two_factor_verify(request=request, user=user, code=code)
    with transaction.atomic():
        _lock_user(user)
        _require_enrolled(user)
        codes = _recovery_codes_replace(user)
        _audit("two_factor.recovery_codes", user, recovery_codes=len(codes))
    return codes


def two_factor_disable(*, request, user, code):
    """Turn the second factor off (the app and the recovery codes), after a code of it.
    Refused (403) while the tenant's policy requires a second factor."""
    if policy_get().require_two_factor:
        raise AppError(MSG_REQUIRED_CANNOT_DISABLE, code=PERMISSION_DENIED, status_code=403)
    _require_enrolled(user)
    two_factor_verify(request=request, user=user, code=code)
    with transaction.atomic():
        _lock_user(user)
        removed = _devices_delete(user)
        _audit("two_factor.disable", user, **removed)


def two_factor_reset(*, user):
    """An administrator's reset (`manage.py two_factor_reset`): the account's authenticator
    app and recovery codes are deleted, so its next password sign-in asks for none, or, where
    the tenant requires one, sets a new one up. Audited when there was something to delete.
    Returns {"authenticator_apps": n, "recovery_codes_left": n} deleted."""
    with transaction.atomic():
        _lock_user(user)
        removed = _devices_delete(user)
        if any(removed.values()):
            _audit("two_factor.reset", user, **removed)
    return removed


def _devices_delete(user):
    """Delete every device of the user (unconfirmed set-ups too); counts of what was in use."""
    apps = TOTPDevice.objects.filter(user=user, confirmed=True).count()
    codes = StaticToken.objects.filter(device__user=user).count()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()  # and their codes
    return {"authenticator_apps": apps, "recovery_codes_left": codes}

