"""The shapes of GET /v1/events for the OpenAPI schema: one event schema per type
(accounts.events.types), told apart by `type`, and the page around them. The events
themselves are written by accounts.events.selectors.event_payload, the shape webhooks send."""
import re

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from accounts.events.filters import CURSOR_PATTERN
from accounts.events.types import EVENT_TYPES
from config.serializers import InputSerializer

LIMIT_DEFAULT = 100
LIMIT_MAX = 1000


class EventPageQuery(InputSerializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=LIMIT_MAX, default=LIMIT_DEFAULT, help_text=f"Events to return (1–{LIMIT_MAX:,})."
    )


def _exactly(value, help_text=None):
    """A string field documented as exactly `value` (a pattern, not an enum: each type's
    schema would otherwise add an enum component of one value)."""
    schema = {"type": "string", "pattern": f"^{re.escape(value)}$"}
    if help_text:
        schema["description"] = help_text
    return extend_schema_field(schema)(type("Exactly", (serializers.CharField,), {}))()


class EventActorSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="The staff user's id (null for a command).")
    email = serializers.CharField(allow_blank=True, help_text="Their email at the time (empty for a command).")
    via = serializers.CharField(help_text="session, token, or system (a management command).")


_subjects: dict[str, type[serializers.Serializer]] = {}


def _subject(subject_type):
    """The schema of `subject` for events about a `subject_type` (one component each)."""
    if subject_type not in _subjects:
        _subjects[subject_type] = type(
            f"{_camel(subject_type)}EventSubject",
            (serializers.Serializer,),
            {"type": _exactly(subject_type), "id": serializers.CharField()},
        )
    return _subjects[subject_type]


def _event_serializer(event_type):
    fields = {
        "__doc__": event_type.description,
        "id": serializers.CharField(help_text="The event's id (a webhook's webhook-id)."),
        "type": _exactly(event_type.name),
        "position": serializers.RegexField(
            rf"^(?:{CURSOR_PATTERN})$", help_text="Its place in commit order: the cursor to read on from (`after`)."
        ),
        "occurred_at": serializers.DateTimeField(),
        "actor": EventActorSerializer(),
        "subject": _subject(event_type.subject_type)(),
        "student_id": serializers.CharField(
            allow_null=not event_type.about_a_student,
            help_text=(
                "The student the event concerns: a student's events come in order."
                if event_type.about_a_student
                else "Always null: this event concerns no one student."
            ),
        ),
        "data": event_type.data(help_text=event_type.data.__doc__),
    }
    return type(f"{_camel(event_type.name)}Event", (serializers.Serializer,), fields)


def _camel(name):
    return "".join(part.capitalize() for part in re.split(r"[._]", name))


EventSchema = PolymorphicProxySerializer(
    component_name="Event",
    serializers={name: _event_serializer(event_type) for name, event_type in EVENT_TYPES.items()},
    resource_type_field_name="type",
    many=False,
)


class EventFeedPage(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    data = serializers.ListField(child=EventSchema, help_text="The events, in commit order.")
    next = serializers.RegexField(
        rf"^(?:{CURSOR_PATTERN})$",
        help_text="The cursor to read on from: the last event's position (the same `after` when there was none).",
    )
    has_more = serializers.BooleanField(help_text="Whether more events follow already: ask again at once.")
    message = serializers.CharField(allow_null=True, default=None)
