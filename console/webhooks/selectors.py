"""Reads of webhook endpoints, their delivery log, and the events they are due."""
import datetime as dt

from django.core.cache import cache
from django.db.models import Count, Max

from accounts.events.models import Event
from config.errors import AppError
from config.ids import check_id
from console.webhooks.models import WebhookDelivery, WebhookEndpoint

MSG_WEBHOOK_NOT_FOUND = "No webhook endpoint with this id on this tenant."
MSG_DELIVERY_NOT_FOUND = "No delivery with this id for this webhook endpoint."
NOTICE_CACHE_KEY = "webhooks:disabled-by-failures"
NOTICE_CACHE_SECONDS = 60  # how long another process may miss a change (without a shared cache)


def endpoint_list():
    """Every endpoint, newest first."""
    return WebhookEndpoint.objects.order_by("-created_at", "-id")


def access_endpoint(*, webhook_id, locked=False):
    """The endpoint (its row locked until the transaction ends, when `locked`), else 404; a
    malformed id is a 400 naming webhook_id. One query."""
    check_id(webhook_id, field="webhook_id")
    endpoints = WebhookEndpoint.objects.select_for_update() if locked else WebhookEndpoint.objects
    endpoint = endpoints.filter(pk=webhook_id).first()
    if endpoint is None:
        raise AppError.not_found(MSG_WEBHOOK_NOT_FOUND)
    return endpoint


def delivery_list(*, endpoint, outcome=None):
    """The endpoint's delivery attempts, newest first (the log's index)."""
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    if outcome:
        deliveries = deliveries.filter(outcome=outcome)
    return deliveries.order_by("-created_at", "-id")


def access_delivery(*, endpoint, delivery_id):
    check_id(delivery_id, field="delivery_id")
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint, pk=delivery_id).first()
    if delivery is None:
        raise AppError.not_found(MSG_DELIVERY_NOT_FOUND)
    return delivery


def disabled_endpoints_notice():
    """[(id, url, disabled_reason)] of the endpoints disabled because they kept failing, for the
    console's notice to admins: from the cache, else one query (and cached)."""
    notice = cache.get(NOTICE_CACHE_KEY)
    if notice is None:
        rows = WebhookEndpoint.objects.filter(disabled_by_failures=True, enabled=False).order_by("disabled_at")
        notice = [tuple(row) for row in rows.values_list("id", "url", "disabled_reason")[:10]]
        cache.set(NOTICE_CACHE_KEY, notice, NOTICE_CACHE_SECONDS)
    return notice


def forget_notice():
    cache.delete(NOTICE_CACHE_KEY)


# Events -------------------------------------------------------------------------------------


def last_position() -> int:
    """The position of the last committed event (0: none). Positions are given at commit, in
    commit order and without gaps, so every event at or below it is committed and visible."""
    return Event.objects.filter(position__isnull=False).aggregate(last=Max("position"))["last"] or 0


def events_due(*, after: int, through: int, types, limit: int) -> list[Event]:
    """Up to `limit` events with a position in (after, through], of `types` (every type when
    empty), in position order; one query down the position index."""
    events = Event.objects.filter(position__gt=after, position__lte=through)
    if types:
        events = events.filter(type__in=list(types))
    return list(events.order_by("position")[:limit])


def events_between(*, since: dt.datetime, until: dt.datetime, types, after: int, limit: int) -> list[Event]:
    """Up to `limit` committed events that occurred in [since, until], of `types`, with a
    position above `after`, in position order (a replay)."""
    events = Event.objects.filter(position__gt=after, occurred_at__gte=since, occurred_at__lte=until)
    if types:
        events = events.filter(type__in=list(types))
    return list(events.order_by("position")[:limit])


def events_between_count(*, since: dt.datetime, until: dt.datetime, types) -> int:
    events = Event.objects.filter(position__isnull=False, occurred_at__gte=since, occurred_at__lte=until)
    if types:
        events = events.filter(type__in=list(types))
    return events.count()


def events_by_id(event_ids) -> list[Event]:
    """The committed events of these ids (those still kept), in position order."""
    return list(Event.objects.filter(pk__in=list(event_ids), position__isnull=False).order_by("position"))


def attempts_made(*, endpoint_id, event_ids) -> dict[str, int]:
    """{event id: attempts logged} for these events to this endpoint (a replay numbers its
    attempt after them)."""
    rows = (
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, event_id__in=list(event_ids))
        .values("event_id")
        .annotate(n=Count("*"))
    )
    return {row["event_id"]: row["n"] for row in rows}
