"""Signing in with an email and password, for the token endpoint and the HTML login alike.

Guessing is slow: failed attempts are counted per account (the normalised email, whether or
not such an account exists, so a refusal never tells) and per client address, in fixed
windows of SIGN_IN_WINDOW_SECONDS. Once either count reaches its limit, attempts are refused
with RATE_LIMITED until the window ends, without checking the password. The counts live in
the tenant's database (one upsert per failure), so every app process and server shares them;
sign-in runs outside any request transaction, so a failure is counted even though the
request fails."""
import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection

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


def _record_failure(keys, window):
    """One statement: add a failure to each key's count in this window, and drop the counts
    of windows that have ended."""
    table = SignInFailures._meta.db_table
    values = ", ".join(["(%s, %s, 1)"] * len(keys))
    params = [p for key in keys for p in (key, window)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {table} WHERE \"window\" < %s) "
            f"INSERT INTO {table} (key, \"window\", failures) VALUES {values} "
            f"ON CONFLICT (key, \"window\") DO UPDATE SET failures = {table}.failures + 1",
            [window, *params],
        )


def sign_in(*, request, email, password):
    """The active staff user these credentials name on this tenant, or SignInRefused.
    Queries: the window's counts; then authentication, and one upsert when it fails."""
    email = normalise_email(email)
    address = client_address(request)
    window_seconds = settings.SIGN_IN_WINDOW_SECONDS
    now = time.time()
    window = int(now // window_seconds) * window_seconds
    limits = _limits(address, email)
    counts = dict(
        SignInFailures.objects.filter(key__in=[key for key, _ in limits], window=window).values_list("key", "failures")
    )
    if any(counts.get(key, 0) >= limit for key, limit in limits):
        retry_after = max(1, math.ceil(window + window_seconds - now))
        logger.warning("sign-in refused: too many failures (address %s)", address)
        raise SignInRefused(locked=True, retry_after=retry_after)
    user = authenticate(request, username=email, password=password)
    if user is None or not user.is_active:
        _record_failure([key for key, _ in limits], window)
        logger.warning("sign-in failed (address %s)", address)
        raise SignInRefused(locked=False)
    return user
