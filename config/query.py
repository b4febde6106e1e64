"""Reading query-string values the same way in DRF serializers and django-filter FilterSets.

- `parse_boolean`: a boolean from the spellings an endpoint accepts (case-insensitive).
- `IsoDateTimeBoundField` (a form field, for FilterSets): an ISO 8601 date or date-time; a
  date means the start (or end) of that day in UTC, a date-time without an offset is UTC.
"""
import datetime as dt
import re
import unicodedata

import django_filters
from django import forms
from django.utils.dateparse import parse_date, parse_datetime

DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
# The extended ISO 8601 forms only: basic (20260604) and week (2026-W23) dates are refused
# rather than read with surprising bounds.
UNENCODED_PLUS_RE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$", re.ASCII)
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$", re.ASCII)

MSG_BAD_DATETIME = "Enter an ISO 8601 date or date-time, e.g. 2026-06-04 or 2026-06-04T09:00:00Z."


def normalise_text(value):
    """Text as stored and compared: NFC, so "Zoë" typed decomposed is the same "Zoë"."""
    return unicodedata.normalize("NFC", value)


# The query-string booleans' messages, one per accepted vocabulary (each endpoint's contract
# fixes which it reads).
MSG_BOOLEAN_TRUE_FALSE = "Must be true or false (or 1 or 0)."
MSG_BOOLEAN_WORDS_OR_DIGITS = "Use 1, 0, true or false."
MSG_BOOLEAN_ZERO_ONE = "Use 1 or 0."


def parse_boolean(value, *, true, false):
    """True, False, or None when `value` is none of the accepted spellings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in true:
        return True
    if text in false:
        return False
    return None


class QueryBooleanFormField(forms.Field):
    """parse_boolean for FilterSets; an empty value means the filter is not applied."""

    def __init__(self, *, true=("1", "true"), false=("0", "false"), message, **kwargs):
        self.true, self.false, self.message = true, false, message
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in (None, ""):
            return None
        parsed = parse_boolean(value, true=self.true, false=self.false)
        if parsed is None:
            raise forms.ValidationError(self.message)
        return parsed


class IsoDateTimeBoundField(forms.Field):
    """An ISO 8601 date-time, or a date meaning the start (or end) of that day in UTC.
    A date-time without an offset is read as UTC."""

    def __init__(self, *, end_of_day=False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if len(text) > 40:
            raise forms.ValidationError(MSG_BAD_DATETIME, code="invalid")
        if DATE_ONLY_RE.match(text):
            try:
                day = parse_date(text)
            except ValueError:
                day = None
            if day is None:
                raise forms.ValidationError(MSG_BAD_DATETIME, code="invalid")
            bound = dt.time.max if self.end_of_day else dt.time.min
            return dt.datetime.combine(day, bound, tzinfo=dt.timezone.utc)
        # An offset's "+" sent unencoded in a query string arrives as a space.
        text = UNENCODED_PLUS_RE.sub(r"\1+\2", text)
        if not DATETIME_RE.match(text):
            raise forms.ValidationError(MSG_BAD_DATETIME, code="invalid")
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            parsed = _in_utc(parsed)
        if parsed is None:
            raise forms.ValidationError(MSG_BAD_DATETIME, code="invalid")
        return parsed


def _in_utc(moment):
    """`moment` in UTC (naive means UTC). A valid date-time just past the calendar's ends in UTC
    (9999-12-31T23:59:59-14:00) is the last (or first) representable instant: a bound that far
    out filters the same."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    try:
        return moment.astimezone(dt.timezone.utc)
    except OverflowError:
        edge = dt.datetime.max if moment.year == dt.MAXYEAR else dt.datetime.min
        return edge.replace(tzinfo=dt.timezone.utc)


class IsoDateTimeBoundFilter(django_filters.Filter):
    field_class = IsoDateTimeBoundField
