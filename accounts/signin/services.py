"""Signing in with an email and password, for the token endpoint and the HTML login alike.

Guessing is slow: failed attempts are counted per account (the normalised email, whether or
not such an account exists, so a refusal never tells) and per client address, over the last
SIGN_IN_WINDOW_SECONDS, a window sliding with the clock: each failure is a row with its time
and counts until it is that old. Once either count reaches its limit, attempts are refused
with RATE_LIMITED, without checking the password, until the oldest failure that keeps it there
leaves the window; so no span of that length holds more failures than the limit (save those of
attempts checked at the same moment, which may each add one). The failures live in the
tenant's database (one statement per failure), so every app process and server shares them,
with Redis or without; sign-in runs outside any request transaction, so a failure is counted
even though the request fails.

Written here rather than taken from a library: django-ratelimit counts fixed windows in the
cache, and limits keeps its sliding windows in Redis, Memcached, MongoDB or etcd; neither
keeps them in PostgreSQL.

The limiter is public (`sign_in_attempt`, `sign_in_failed`) so that a second factor's wrong
codes (accounts.twofactor) count against the same budgets as wrong passwords."""
import datetime as dt
import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection

from accounts.identity.policy import check_password_sign_in, policy_get
from accounts.models import SignInFailures
from config.errors import RATE_LIMITED, UNAUTHENTICATED, AppError
from config.http import client_address
from config.query import normalise_text

logger = logging.getLogger("console.signin")

MSG_BAD_CREDENTIALS = "The email or password is not correct."
MSG_TOO_MANY_FAILURES = "Too many failed sign-ins. Try again in {minutes} minute{s}."


class SignInRefused(AppError):
    """401 for wrong credentials (`locked` False) or 429 while the limit holds (`locked` True)."""

    def __init__(self, *, locked, retry_after=None):
        self.locked = locked
        if locked:
            minutes = max(1, math.ceil(retry_after / 60))
            message = MSG_TOO_MANY_FAILURES.format(minutes=minutes, s="" if minutes == 1 else "s")
            super().__init__(message, code=RATE_LIMITED, status_code=429, retry_after=retry_after)
        else:
            super().__init__(MSG_BAD_CREDENTIALS, code=UNAUTHENTICATED, status_code=401)


def normalise_email(email):
    return normalise_text(str(email or "")).strip().lower()


def _limits(address, email):
    """[(key, limit)]: one counter for the account, one for the client address."""
    account = hashlib.sha256(email.encode()).hexdigest()
    return [
        (f"account:{account}", settings.SIGN_IN_FAILURES_PER_ACCOUNT),
        (f"address:{address}", settings.SIGN_IN_FAILURES_PER_ADDRESS),
    ]


def _moment(seconds):
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def _failures_since(keys, since):
    """{key: [time of each failure after `since`, in seconds, newest first]}. A key holds at
    most its limit of them (and a few of attempts checked at once): none is recorded while the
    key is refused."""
    failures: dict[str, list[float]] = {key: [] for key in keys}
    rows = SignInFailures.objects.filter(key__in=keys, failed_at__gt=_moment(since)).order_by("key", "-failed_at")
    for key, failed_at in rows.values_list("key", "failed_at"):
        failures[key].append(failed_at.timestamp())
    return failures


def _record_failure(keys, now, window_seconds):
    """One statement: a failure at `now` for each key, and the failures that have left every
    window deleted."""
    table = SignInFailures._meta.db_table
    values = ", ".join(["(%s, %s)"] * len(keys))
    params = [p for key in keys for p in (key, _moment(now))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {table} WHERE failed_at <= %s) "
            f"INSERT INTO {table} (key, failed_at) VALUES {values}",
            [_moment(now - window_seconds), *params],
        )


@dataclass(frozen=True)
class SignInAttempt:
    """An attempt both of whose limits were open when it began; `sign_in_failed` counts it."""

    address: str
    keys: tuple[str, ...]
    now: float
    window_seconds: int


def sign_in_attempt(*, request, email):
    """Begin an attempt for the account `email` (normalised) from the request's client
    address: SignInRefused (429, with when to retry) while either limit holds, else the
    attempt. One query: the failures in the window."""
    address = client_address(request)
    window_seconds = settings.SIGN_IN_WINDOW_SECONDS
    now = time.time()
    limits = _limits(address, email)
    failures = _failures_since([key for key, _ in limits], now - window_seconds)
    # A key at its limit opens again when its limit-th newest failure leaves the window.
    opens_at = [
        failures[key][limit - 1] + window_seconds for key, limit in limits if len(failures[key]) >= limit
    ]
    if opens_at:
        retry_after = max(1, math.ceil(max(opens_at) - now))
        logger.warning("sign-in refused: too many failures (address %s)", address)
        raise SignInRefused(locked=True, retry_after=retry_after)
    return SignInAttempt(
        address=address, keys=tuple(key for key, _ in limits), now=now, window_seconds=window_seconds
    )


def sign_in_failed(attempt, *, what="sign-in"):
    """Count a failed attempt (a wrong password, or a wrong second factor: `what`) against both
    of its limits, and log it (the address, never the email or what was typed). One statement."""
    _record_failure(list(attempt.keys), attempt.now, attempt.window_seconds)
    logger.warning("%s failed (address %s)", what, attempt.address)


def sign_in(*, request, email, password, channel="console"):
    """The active staff user these credentials name on this tenant, or SignInRefused; or
    PasswordNotAllowed (403) when the tenant's policy signs this account in through its
    identity providers only (`channel`: "console" or "token", accounts.identity.policy).
    A second factor, when the account needs one, is checked after this (accounts.twofactor).
    Queries: the policy and the failures in the window; then authentication, and one
    statement when it fails."""
    email = normalise_email(email)
    policy = policy_get()
    check_password_sign_in(email, channel=channel, policy=policy)
    attempt = sign_in_attempt(request=request, email=email)
    user = authenticate(request, username=email, password=password)
    if user is None or not user.is_active:
        sign_in_failed(attempt)
        raise SignInRefused(locked=False)
    check_password_sign_in(email, channel=channel, policy=policy, user=user)
    return user
