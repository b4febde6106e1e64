"""The query of GET /v1/events: which events, from where (`after`, `types`). This FilterSet
validates it and is its documented schema (config.filter_schema); the page's size (`limit`)
is accounts.events.serializers.EventPageQuery."""
import re

import django_filters
from django import forms
from drf_spectacular.drainage import set_override

from accounts.events.models import Event
from accounts.events.types import EVENT_TYPES
from config.query import FilterSet

MSG_BAD_CURSOR = "A cursor is a position from the feed: digits, e.g. 0 or the `next` of a page."
MSG_UNKNOWN_TYPE = "Unknown event type {names}; the types are: {types}."

# Positions are bigints counted from 1; 18 digits are far above any of them and below 2**63.
CURSOR_PATTERN = r"0|[1-9][0-9]{0,17}"
_CURSOR_RE = re.compile(rf"(?:{CURSOR_PATTERN})\Z")
# One value of `types`: type names separated by commas (empty items ignored), nothing else.
_TYPE = "|".join(re.escape(name) for name in EVENT_TYPES)
TYPES_PATTERN = rf"^(?:{_TYPE})?(?:,(?:{_TYPE})?)*$"


class CursorField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or not _CURSOR_RE.match(value):
            raise forms.ValidationError(MSG_BAD_CURSOR)
        return int(value)


class CursorFilter(django_filters.Filter):
    field_class = CursorField

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        set_override(self, "field", {"type": "string", "pattern": rf"^(?:{CURSOR_PATTERN})$"})


class EventTypesField(forms.Field):
    widget = forms.SelectMultiple  # reads every value of the parameter

    def to_python(self, value):
        names = [name for raw in value or () for name in str(raw).split(",") if name]
        unknown = sorted({name for name in names if name not in EVENT_TYPES})
        if unknown:
            raise forms.ValidationError(
                MSG_UNKNOWN_TYPE.format(names=", ".join(unknown)[:200], types=", ".join(EVENT_TYPES))
            )
        return list(dict.fromkeys(names)) or None


class EventTypesFilter(django_filters.Filter):
    field_class = EventTypesField

    def __init__(self, **kwargs):
        kwargs.setdefault("lookup_expr", "in")
        super().__init__(**kwargs)
        set_override(self, "field", {"type": "array", "items": {"type": "string", "pattern": TYPES_PATTERN}})


class EventFeedFilter(FilterSet):
    after = CursorFilter(
        field_name="position", lookup_expr="gt",
        help_text=(
            "Events after this position: the `next` of the previous page. Left out: from the oldest event "
            "kept. A position from before the retention period is a 410 CURSOR_EXPIRED."
        ),
    )
    types = EventTypesFilter(
        field_name="type",
        help_text="Only events of these types (repeat the parameter, or separate types with commas).",
    )

    class Meta:
        model = Event
        fields = []
