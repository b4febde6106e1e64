"""Reading events: committed ones only (an event's position is given at its commit), in
position order, which is commit order. The feed (GET /v1/events) and the webhook deliveries
read them here, in the one shape `event_payload` gives."""
from rest_framework.fields import DateTimeField

from accounts.events.filters import EventFeedFilter
from accounts.events.models import Event, EventCounter
from config.errors import CURSOR_EXPIRED, AppError

MSG_CURSOR_EXPIRED = (
    "This cursor is from before the oldest event kept (events are kept EVENTS_RETENTION_DAYS): "
    "read the feed again from its start, without after."
)

_TIME = DateTimeField()  # the API's date-time format (REST_FRAMEWORK's DATETIME_FORMAT)


def events_after(after: int, *, types=None, limit: int) -> list[Event]:
    """Up to `limit` committed events with a position above `after` (of `types`, when given),
    in position order. One query, walking the position index."""
    events = Event.objects.filter(position__gt=after)
    if types:
        events = events.filter(type__in=list(types))
    return list(events.order_by("position")[:limit])


def events_pruned_through() -> int:
    """The highest position deleted by the retention prune (0: none yet): every event above it
    is still kept."""
    return EventCounter.objects.filter(pk=1).values_list("pruned_through", flat=True).first() or 0


def event_payload(event) -> dict:
    """The event as the feed and webhooks show it; `position`, the cursor, as a string."""
    return {
        "id": event.id,
        "type": event.type,
        "position": str(event.position),
        "occurred_at": _TIME.to_representation(event.occurred_at),
        "actor": event.actor,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "student_id": event.student_id,
        "data": event.data,
    }


def event_feed_filters(query_params) -> dict:
    """{"after": int or None, "types": [names] or None} of the feed's query (EventFeedFilter),
    or a 400 naming each bad parameter."""
    filterset = EventFeedFilter(data=query_params, queryset=Event.objects.none())
    if not filterset.is_valid():
        raise AppError.validation({field: list(messages) for field, messages in filterset.errors.items()})
    return {"after": filterset.form.cleaned_data["after"], "types": filterset.form.cleaned_data["types"]}


def event_feed(*, after=None, types=None, limit: int):
    """(events, next cursor, whether more follow) of one page of the feed: up to `limit` events
    after `after` (None: from the oldest kept). A cursor below the positions pruned (some of
    the events after it are gone) is a 410 CURSOR_EXPIRED. Queries: the events (one more than
    the page, to know whether more follow), then the counter row: read after the events, so a
    prune committed in between is seen and the page refused rather than a gap passed over."""
    events = events_after(after or 0, types=types, limit=limit + 1)
    pruned_through = events_pruned_through()
    if after is not None and after < pruned_through:
        raise AppError(MSG_CURSOR_EXPIRED, code=CURSOR_EXPIRED, status_code=410, errors={"after": [MSG_CURSOR_EXPIRED]})
    more = len(events) > limit
    events = events[:limit]
    # The last event's position; with none, the cursor given (or, from the start, the pruned ones').
    next_cursor = events[-1].position if events else (pruned_through if after is None else after)
    return events, next_cursor, more
