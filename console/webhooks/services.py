"""Webhook endpoints and their deliveries.

Admins register endpoints (each change audited, never the secret); the job queue delivers:

- `webhooks.dispatch` (one per tenant, woken at the commit of every transaction that writes
  events, accounts.events.services) queues a `webhooks.deliver` job for every enabled endpoint
  with events to catch up on and no retry pending.
- `webhooks.deliver` gives one endpoint its events after its cursor, of its types, in position
  (commit) order, one at a time, advancing the cursor as each is answered 2xx; every attempt is
  a row of the delivery log. Jobs of one endpoint share a queue lock, so two never run at once
  and events of one student arrive in order. A failure stops the run; the endpoint is tried
  again after an exponential backoff with jitter (WEBHOOK_RETRY_BASE_SECONDS, doubling, at most
  an hour), from the same event, with the same `webhook-id`. An endpoint failing for
  WEBHOOK_DISABLE_AFTER_HOURS since the first failure of its streak is disabled, and the
  console tells its admins.
- `webhooks.replay` sends chosen events again (one delivery's, or every event of a time range),
  under the same lock, beside the endpoint's own progress.
- `webhooks.wake` is a retry's alarm clock: scheduled without the lock, it queues the locked job
  when due (a job waiting under a lock holds back every later job of that lock, so a retry
  scheduled an hour ahead must not wait under it: a replay or a re-enabled endpoint's delivery
  would wait that hour too).

A delivery is signed per Standard Webhooks (console.webhooks.delivery) with the endpoint's
secret, and during WEBHOOK_SECRET_OVERLAP_HOURS after a rotation with the previous one too.
"""
import base64
import datetime as dt
import logging
import re
import secrets as random_secrets
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.audit.services import audit_record
from accounts.events.selectors import event_payload
from accounts.events.types import EVENT_TYPES
from config.errors import AppError
from config.metrics import WEBHOOK_DELIVERIES
from console.webhooks import selectors
from console.webhooks.delivery import Sender, body_of, forbidden_address, literal_address
from console.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants.jobs import Backoff, defer

log = logging.getLogger("console.webhooks")

DISPATCH_TASK = "webhooks.dispatch"  # the name accounts.events.services queues
DELIVER_TASK = "webhooks.deliver"
REPLAY_TASK = "webhooks.replay"
WAKE_TASK = "webhooks.wake"

BATCH = 500  # events read at once
FLUSH_EVERY = 100  # deliveries logged (and the cursor saved) together
RUN_SECONDS = 30  # a run hands over to a new job after this long (other endpoints get a turn)
TRANSACTIONS_WAIT_SECONDS = 5.0
TRANSACTIONS_POLL_SECONDS = 0.05
RETRY_CAP_SECONDS = 3600
REPLAY_MAX_FAILURES = 8  # a replay that keeps failing gives up after this many tries
DELIVERY_LOG_DAYS = 30  # the delivery log is pruned daily past this
CLOCK_TOLERANCE = dt.timedelta(seconds=1)

# What a URL may look like: http(s), a host name, an IPv4 address or a bracketed IPv6 one
# (RFC 3986's grammar), a port, then a path and query of printable ASCII (no fragment, no
# credentials). The schema states it; whether the address is allowed is checked below.
_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"


def _groups(n):
    return rf"(?:{_H16}:){{{n}}}" if n else ""


def _up_to(n):
    return rf"(?:(?:{_H16}:){{0,{n}}}{_H16})?"


_IPV6 = "(?:" + "|".join([
    rf"{_groups(6)}{_LS32}",
    rf"::{_groups(5)}{_LS32}",
    rf"(?:{_H16})?::{_groups(4)}{_LS32}",
    rf"{_up_to(1)}::{_groups(3)}{_LS32}",
    rf"{_up_to(2)}::{_groups(2)}{_LS32}",
    rf"{_up_to(3)}::{_H16}:{_LS32}",
    rf"{_up_to(4)}::{_LS32}",
    rf"{_up_to(5)}::{_H16}",
    rf"{_up_to(6)}::",
]) + ")"
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
URL_PATTERN = rf"^https?://(?:{_LABEL}(?:\.{_LABEL})*|\[{_IPV6}\])(?::{_PORT})?(?:[/?][!-\"$-~]*)?$"
URL_MAX_LENGTH = 2000

MSG_URL_SHAPE = "Give an http or https address (https://host[:port]/path), without credentials or a #fragment."
MSG_URL_NOT_HTTPS = "Use an https address."
MSG_URL_PRIVATE = (
    "This address is private, loopback, link-local or otherwise not public; webhooks are only delivered to public "
    "addresses."
)
MSG_UNKNOWN_EVENT_TYPES = "Unknown event types: {types}."
MSG_REPLAY_ENDPOINT_DISABLED = "This endpoint is disabled; enable it before sending deliveries again."
MSG_EVENT_NOT_KEPT = "This event is no longer kept, so it cannot be delivered again."
MSG_REPLAY_SINCE_AFTER_UNTIL = "since must not be after until."
MSG_DISABLED_BY = "Disabled by {who}."
MSG_DISABLED_AFTER_FAILURES = "Disabled after failing for {hours} hours; the last attempt: {error}"

URL_VALIDATOR = RegexValidator(re.compile(URL_PATTERN), MSG_URL_SHAPE)


def endpoint_lock(endpoint_id):
    """The queue lock every job of one endpoint holds: they run one at a time, in order."""
    return f"webhook:{connection.schema_name}:{endpoint_id}"


def new_secret():
    """A signing secret in the Standard Webhooks form: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode()


# Registration ------------------------------------------------------------------------------


def _check_url(url):
    """The address rules beyond its shape: https, and no literal private address (nor a
    *.localhost name), unless WEBHOOKS_ALLOW_PRIVATE. A name is checked again, on the address
    it resolves to, at every connect (console.webhooks.delivery)."""
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return url
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise AppError.validation({"url": MSG_URL_NOT_HTTPS})
    host = (parts.hostname or "").rstrip(".").lower()
    address = literal_address(host)
    if host == "localhost" or host.endswith(".localhost") or (address is not None and forbidden_address(address)):
        raise AppError.validation({"url": MSG_URL_PRIVATE})
    return url


def _check_types(event_types):
    """The types, known ones only (accounts.events.types), each once, sorted; empty is every type."""
    unknown = sorted({t for t in event_types if t not in EVENT_TYPES})
    if unknown:
        raise AppError.validation({"event_types": MSG_UNKNOWN_EVENT_TYPES.format(types=", ".join(unknown))})
    return sorted(set(event_types))


def _snapshot(endpoint):
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
    }


def endpoint_create(*, url, description="", event_types=(), enabled=True, user=None):
    """A new endpoint, following the events from now on; its secret (endpoint.secret) is for the
    caller to show once."""
    url = _check_url(url)
    event_types = _check_types(event_types)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url, description=description, event_types=event_types, enabled=enabled, secret=new_secret(),
            cursor=selectors.last_position(), created_by=user if getattr(user, "pk", None) else None,
            disabled_at=None if enabled else timezone.now(),
            disabled_reason="" if enabled else _disabled_by_message(),
        )
        audit_record(action="webhook.create", target_type="webhook", target_id=endpoint.pk,
                     after=_snapshot(endpoint))
    return endpoint


def _disabled_by_message():
    from accounts.audit.services import audit_actor

    _, email, via, _, _ = audit_actor()
    return MSG_DISABLED_BY.format(who=email or via)


def _locked(endpoint_id):
    return selectors.access_endpoint(webhook_id=endpoint_id, locked=True)


def endpoint_update(*, endpoint_id, url=None, description=None, event_types=None, enabled=None):
    """Change what is given. Enabling clears the failure streak and delivers what waits at
    once; a new URL starts a new streak too; disabling stops deliveries (the cursor stays, so
    enabling again delivers what came meanwhile)."""
    if url is not None:
        url = _check_url(url)
    if event_types is not None:
        event_types = _check_types(event_types)
    now = timezone.now()
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        before = _snapshot(endpoint)
        changed = set()
        if url is not None and url != endpoint.url:
            endpoint.url = url
            changed |= {"url", *_clear_streak(endpoint)}
        if description is not None and description != endpoint.description:
            endpoint.description = description
            changed.add("description")
        if event_types is not None and event_types != endpoint.event_types:
            endpoint.event_types = event_types
            changed.add("event_types")
        if enabled is not None and enabled != endpoint.enabled:
            endpoint.enabled = enabled
            changed.add("enabled")
            if enabled:
                endpoint.disabled_at, endpoint.disabled_reason, endpoint.disabled_by_failures = None, "", False
                changed |= _clear_streak(endpoint)
            else:
                endpoint.disabled_at, endpoint.disabled_reason = now, _disabled_by_message()
                endpoint.disabled_by_failures = False
            changed |= {"disabled_at", "disabled_reason", "disabled_by_failures"}
        if not changed:
            return endpoint
        endpoint.save(update_fields=[*sorted(changed), "updated_at"])
        audit_record(action="webhook.update", target_type="webhook", target_id=endpoint.pk,
                     before=before, after=_snapshot(endpoint))
        if "disabled_by_failures" in changed:
            transaction.on_commit(selectors.forget_notice)
        if endpoint.enabled and ("url" in changed or "enabled" in changed):
            _queue_delivery(endpoint.pk)
    return endpoint


def _clear_streak(endpoint):
    endpoint.failing_since = endpoint.next_attempt_at = None
    endpoint.failures, endpoint.failing_event_id, endpoint.last_error = 0, "", ""
    return {"failing_since", "next_attempt_at", "failures", "failing_event_id", "last_error"}


def endpoint_delete(*, endpoint_id):
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        audit_record(action="webhook.delete", target_type="webhook", target_id=endpoint.pk,
                     before=_snapshot(endpoint))
        was_noticed = endpoint.disabled_by_failures
        endpoint.delete()
        if was_noticed:
            transaction.on_commit(selectors.forget_notice)


def endpoint_rotate_secret(*, endpoint_id, now=None):
    """A new secret (for the caller to show once); the one it replaces still signs, beside it,
    for WEBHOOK_SECRET_OVERLAP_HOURS (a secret rotated out earlier stops signing now)."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        overlap = dt.timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
        endpoint.previous_secret = endpoint.secret if overlap else ""
        endpoint.previous_secret_until = now + overlap if overlap else None
        endpoint.secret = new_secret()
        endpoint.secret_rotated_at = now
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until", "secret_rotated_at",
                                     "updated_at"])
        audit_record(action="webhook.rotate_secret", target_type="webhook", target_id=endpoint.pk,
                     detail={"previous_secret_signs_until": endpoint.previous_secret_until})
    return endpoint


# Replays -----------------------------------------------------------------------------------


def _check_replayable(endpoint):
    if not endpoint.enabled:
        raise AppError.conflict(MSG_REPLAY_ENDPOINT_DISABLED)


def delivery_replay(*, endpoint, delivery):
    """Send the delivery's event to the endpoint again (queued; the same webhook-id)."""
    _check_replayable(endpoint)
    if not selectors.events_by_id([delivery.event_id]):
        raise AppError.conflict(MSG_EVENT_NOT_KEPT)
    with transaction.atomic():
        audit_record(action="webhook.replay", target_type="webhook", target_id=endpoint.pk,
                     detail={"event_id": delivery.event_id, "delivery_id": delivery.pk})
        defer(REPLAY_TASK, lock=endpoint_lock(endpoint.pk), endpoint_id=endpoint.pk, event_ids=[delivery.event_id])
    return 1


def endpoint_replay_range(*, endpoint, since, until=None):
    """Send again every kept event of the endpoint's types that occurred in [since, until]
    (until: now), in position order (queued). Returns how many events that is."""
    until = until or timezone.now()
    if since > until:
        raise AppError.validation({"since": MSG_REPLAY_SINCE_AFTER_UNTIL})
    _check_replayable(endpoint)
    count = selectors.events_between_count(since=since, until=until, types=endpoint.event_types)
    with transaction.atomic():
        audit_record(action="webhook.replay", target_type="webhook", target_id=endpoint.pk,
                     detail={"since": since, "until": until, "events": count})
        if count:
            defer(REPLAY_TASK, lock=endpoint_lock(endpoint.pk), endpoint_id=endpoint.pk,
                  since=since.isoformat(), until=until.isoformat())
    return count


# Dispatching -------------------------------------------------------------------------------


# Transactions in progress on this database: each one that has written holds the lock on its
# own transaction id until it ends. (The current snapshot's in-progress list is not enough: it
# leaves out every transaction whose id is above the last one to end, such as a lone writer.)
_IN_PROGRESS_SQL = """
    SELECT coalesce(array_agg(l.transactionid::text), '{}')
    FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted
      AND l.pid <> pg_backend_pid() AND a.datname = current_database()
"""
_STILL_IN_PROGRESS_SQL = """
    SELECT coalesce(array_agg(transactionid::text), '{}') FROM pg_locks
    WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted AND transactionid::text = ANY(%s)
"""


def wait_for_transactions_in_progress(*, timeout=None):
    """Wait (at most `timeout` seconds, TRANSACTIONS_WAIT_SECONDS by default, looking every
    TRANSACTIONS_POLL_SECONDS) until every transaction of this database that was in progress
    when this was called has ended. Returns whether they all did.

    Why: a transaction that writes events wakes the dispatcher at its commit (the numbering
    trigger, accounts migration 0006), and queues none when a dispatcher job is already waiting,
    relying on that one. But the waiting job may start in the instant before that commit lands
    (a worker takes it the moment it is free), read the events, miss the uncommitted ones, and
    finish: they would wait for the next change. Any transaction that found a dispatcher waiting
    was in progress when that dispatcher started (it looked while the job was still waiting), so
    once every transaction in progress then has ended, each has committed (its events are
    readable) or rolled back. It was already committing, so the wait is short; should it outlast
    the timeout, the dispatcher reads what has committed and the next wake-up takes the rest.
    """
    timeout = TRANSACTIONS_WAIT_SECONDS if timeout is None else timeout
    with connection.cursor() as cursor:
        cursor.execute(_IN_PROGRESS_SQL)
        in_progress = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while in_progress:
            if time.monotonic() >= deadline:
                return False
            time.sleep(TRANSACTIONS_POLL_SECONDS)
            cursor.execute(_STILL_IN_PROGRESS_SQL, [in_progress])
            in_progress = cursor.fetchone()[0]
    return True


def webhooks_dispatch(*, now=None):
    """Queue a delivery run for every enabled endpoint behind the last event and not waiting for
    a retry. Returns how many were queued (or were already waiting)."""
    wait_for_transactions_in_progress()
    now = now or timezone.now()
    last = selectors.last_position()
    due = (
        WebhookEndpoint.objects.filter(enabled=True, cursor__lt=last)
        .exclude(next_attempt_at__gt=now)
        .values_list("pk", flat=True)
    )
    queued = 0
    for endpoint_id in due:
        _queue_delivery(endpoint_id)
        queued += 1
    return queued


def _queue_delivery(endpoint_id, **options):
    """A delivery run for the endpoint; at most one waits per endpoint (one already waiting will
    deliver whatever is there when it starts)."""
    return defer(
        DELIVER_TASK, lock=endpoint_lock(endpoint_id),
        queueing_lock=f"{DELIVER_TASK}:{connection.schema_name}:{endpoint_id}", endpoint_id=endpoint_id, **options,
    )


def webhooks_wake(*, endpoint_id, replay=None):
    """A retry is due: queue the endpoint's locked job (its delivery run, or the replay)."""
    if replay is None:
        _queue_delivery(endpoint_id)
    else:
        defer(REPLAY_TASK, lock=endpoint_lock(endpoint_id), endpoint_id=endpoint_id, **replay)


# Delivering --------------------------------------------------------------------------------


class _Gone(Exception):
    """The endpoint was deleted while it was being delivered to."""


class _Run:
    """Deliveries to one endpoint over one connection, logged in batches: each flush writes the
    attempts and moves the cursor in one transaction (a run killed between flushes sends those
    events again: at least once)."""

    def __init__(self, endpoint, *, replay=False):
        self.endpoint = endpoint
        self.replay = replay
        self.sender = Sender(endpoint.url, timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                             allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
        self.pending: list[WebhookDelivery] = []
        self.cursor = endpoint.cursor
        self.delivered_at = None

    def send(self, event, *, attempt):
        now = timezone.now()
        result = self.sender.send(
            msg_id=event.id, body=body_of(event_payload(event)), secrets=self.endpoint.secrets_signing(now), now=now
        )
        WEBHOOK_DELIVERIES.labels(result.outcome).inc()
        self.pending.append(WebhookDelivery(
            endpoint_id=self.endpoint.pk, event_id=event.id, event_type=event.type, event_position=event.position,
            attempt=attempt, replay=self.replay, status_code=result.status_code, latency_ms=result.latency_ms,
            response_excerpt=result.excerpt, outcome=result.outcome, error=result.error, created_at=now,
        ))
        if result.delivered:
            self.delivered_at = now
            if not self.replay:
                self.cursor = event.position
        return result

    def flush(self, after=None, **fields):
        """Log the attempts and save the cursor (and `fields`) in one transaction, with what
        `after` does. _Gone when the endpoint was deleted meanwhile."""
        try:
            self._flush(after, fields)
        except IntegrityError:
            if WebhookEndpoint.objects.filter(pk=self.endpoint.pk).exists():
                raise
            raise _Gone from None

    def _flush(self, after, fields):
        with transaction.atomic():
            if self.pending:
                WebhookDelivery.objects.bulk_create(self.pending)
                self.pending = []
            if not self.replay:
                if self.delivered_at is not None:
                    fields["last_delivered_at"] = self.delivered_at
                if self.cursor != self.endpoint.cursor:
                    fields["cursor"] = self.cursor
                if fields:
                    WebhookEndpoint.objects.filter(pk=self.endpoint.pk).update(**fields)
                    for name, value in fields.items():
                        setattr(self.endpoint, name, value)
            if after is not None:
                after()

    def close(self):
        self.sender.close()


def retry_delay(failures):
    """Seconds before the next try after `failures` failed ones: WEBHOOK_RETRY_BASE_SECONDS,
    doubling, with jitter (between half and all of it), at most RETRY_CAP_SECONDS."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    return Backoff(base=base, factor=2, cap=max(RETRY_CAP_SECONDS, base), floor=min(1, base)).delay(failures - 1)


def endpoint_deliver(*, endpoint_id, now=None):
    """Deliver the endpoint's due events (see the module's docstring). Returns how many were
    delivered."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None or not endpoint.enabled:
        return 0
    at_start = now or timezone.now()
    if endpoint.next_attempt_at and endpoint.next_attempt_at > at_start + CLOCK_TOLERANCE:
        # Waiting for its retry, which webhooks.wake brings; should this job have come early
        # (the database's clock ahead of this machine's), one more wake-up makes sure.
        defer(WAKE_TASK, schedule_at=max(endpoint.next_attempt_at, at_start + CLOCK_TOLERANCE), endpoint_id=endpoint.pk)
        return 0
    started = time.monotonic()
    through = selectors.last_position()
    run = _Run(endpoint)
    delivered = 0
    try:
        while True:
            events = selectors.events_due(after=run.cursor, through=through, types=endpoint.event_types, limit=BATCH)
            if not events:
                # Every event it wants up to `through` is delivered: the cursor passes the rest.
                run.cursor = max(run.cursor, through)
                newer = selectors.last_position()
                if newer > through and time.monotonic() - started < RUN_SECONDS:
                    through = newer
                    continue
                break
            for event in events:
                attempt = endpoint.failures + 1 if event.id == endpoint.failing_event_id else 1
                result = run.send(event, attempt=attempt)
                if not result.delivered:
                    _failed(run, event, result, now=now)
                    return delivered
                delivered += 1
                if endpoint.failing_since:
                    run.flush(**_cleared_streak())  # it answers again: the streak ends here
                elif len(run.pending) >= FLUSH_EVERY:
                    run.flush()
            run.flush()
            if time.monotonic() - started >= RUN_SECONDS:
                _queue_delivery(endpoint.pk)  # the rest in a new job: other endpoints get a turn
                return delivered
            if not _still_enabled(endpoint):
                return delivered
        run.flush()
    except _Gone:
        log.info("webhook endpoint %s was deleted while delivering", endpoint_id)
    finally:
        run.close()
    return delivered


def _cleared_streak():
    return {"failing_since": None, "next_attempt_at": None, "failures": 0, "failing_event_id": "", "last_error": ""}


def _still_enabled(endpoint):
    """Re-read what an admin may have changed meanwhile; False when the endpoint was disabled or
    deleted, or its address changed (a new run will use the new one)."""
    current = WebhookEndpoint.objects.filter(pk=endpoint.pk).values("enabled", "url", "event_types").first()
    if current is None or not current["enabled"]:
        return False
    if current["url"] != endpoint.url:
        _queue_delivery(endpoint.pk)
        return False
    endpoint.event_types = current["event_types"]
    return True


def _failed(run, event, result, *, now=None):
    """The run stops at this event: log it, keep the cursor before it, and schedule the retry,
    or disable the endpoint when it has been failing for WEBHOOK_DISABLE_AFTER_HOURS."""
    endpoint = run.endpoint
    now = now or timezone.now()
    failures = endpoint.failures + 1
    failing_since = endpoint.failing_since or now
    deadline = failing_since + dt.timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    error = (result.error or "")[:500]
    fields = {"failures": failures, "failing_since": failing_since, "failing_event_id": event.id, "last_error": error}
    if now >= deadline:
        fields.update(
            enabled=False, next_attempt_at=None, disabled_at=now, disabled_by_failures=True,
            disabled_reason=MSG_DISABLED_AFTER_FAILURES.format(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS, error=error)[:500],
        )

        def after():
            audit_record(action="webhook.disable", target_type="webhook", target_id=endpoint.pk,
                         before={"enabled": True}, after={"enabled": False},
                         detail={"reason": fields["disabled_reason"], "failing_since": failing_since})
            transaction.on_commit(selectors.forget_notice)

        log.warning("webhook endpoint %s disabled after failing since %s", endpoint.pk, failing_since)
    else:
        at = min(now + dt.timedelta(seconds=retry_delay(failures)), deadline)
        fields["next_attempt_at"] = at

        def after():
            defer(WAKE_TASK, schedule_at=at, endpoint_id=endpoint.pk)

    run.flush(after, **fields)


# Replaying ---------------------------------------------------------------------------------


def endpoint_replay(*, endpoint_id, event_ids=None, since=None, until=None, after=0, failures=0):
    """Send the events again (those of `event_ids`, or every one of the endpoint's types that
    occurred in [since, until]), in position order, after position `after`. A failure stops it
    and schedules the rest after a backoff, at most REPLAY_MAX_FAILURES times. Returns how many
    were delivered."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None or not endpoint.enabled:
        return 0
    run = _Run(endpoint, replay=True)
    delivered = 0
    try:
        while True:
            if event_ids is not None:
                events = [e for e in selectors.events_by_id(event_ids) if e.position > after]
            else:
                events = selectors.events_between(
                    since=dt.datetime.fromisoformat(since), until=dt.datetime.fromisoformat(until),
                    types=endpoint.event_types, after=after, limit=BATCH,
                )
            if not events:
                break
            made = selectors.attempts_made(endpoint_id=endpoint.pk, event_ids=[e.id for e in events])
            for event in events:
                result = run.send(event, attempt=made.get(event.id, 0) + 1)
                if not result.delivered:
                    _replay_failed(run, endpoint, failures, event_ids=event_ids, since=since, until=until, after=after)
                    return delivered
                delivered += 1
                after = event.position
                if len(run.pending) >= FLUSH_EVERY:
                    run.flush()
            run.flush()
            if event_ids is not None:
                break
        run.flush()
    except _Gone:
        log.info("webhook endpoint %s was deleted while replaying", endpoint_id)
    finally:
        run.close()
    return delivered


def _replay_failed(run, endpoint, failures, **replay):
    failures += 1
    if failures >= REPLAY_MAX_FAILURES:
        log.warning("webhook endpoint %s: a replay failed %s times and was given up", endpoint.pk, failures)
        run.flush()
        return
    at = timezone.now() + dt.timedelta(seconds=retry_delay(failures))

    def after():
        defer(WAKE_TASK, schedule_at=at, endpoint_id=endpoint.pk, replay={**replay, "failures": failures})

    run.flush(after)


# Upkeep ------------------------------------------------------------------------------------


def deliveries_prune(*, now=None, days=DELIVERY_LOG_DAYS):
    """Delete delivery log rows older than `days`. Returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=cutoff).delete()
    return deleted
