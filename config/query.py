"""Reading query-string values the same way in DRF serializers and django-filter FilterSets.

- `parse_boolean`: a boolean from the spellings an endpoint accepts (case-insensitive).
- `IsoDateTimeBoundField` (a form field, for FilterSets): an ISO 8601 date or date-time; a
  date means the start (or end) of that day in UTC, a date-time without an offset is UTC.
- The range every date and date-time the API reads must lie in (`date_range_error`, the one
  check of it, and `DATE_RANGE_PATTERN` for the schema), in query strings and bodies alike.
"""
import datetime as dt
import re
import unicodedata
from typing import Any

import django_filters
from django import forms
from django.http import QueryDict
from django.utils.dateparse import parse_date, parse_datetime

DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
# The extended ISO 8601 forms only: basic (20260604) and week (2026-W23) dates are refused
# rather than read with surprising bounds.
UNENCODED_PLUS_RE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$", re.ASCII)
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$", re.ASCII)

MSG_BAD_DATETIME = "Enter an ISO 8601 date or date-time, e.g. 2026-06-04 or 2026-06-04T09:00:00Z."

# Dates and date-times the API reads (filters, archive dates, session times) lie in these
# years, as written (before a date-time's offset is applied): nothing the console records
# happened before 1900 or will after 2100, and a year outside them is a typing mistake or a
# probe. It keeps every value well inside what Python and PostgreSQL can hold, in UTC too.
DATE_MIN_YEAR = 1900
DATE_MAX_YEAR = 2100
MSG_DATE_OUT_OF_RANGE = f"Use a date from {DATE_MIN_YEAR}-01-01 to {DATE_MAX_YEAR}-12-31."
# The schema's statement of the range: the year a date or date-time starts with.
DATE_RANGE_PATTERN = r"^(?:19[0-9]{2}|20[0-9]{2}|2100)-"


# A query string may hold this many bytes as sent (percent-encoded), on every path: more is a
# 400 naming `query` (config.middleware), and the production server reads request lines up to
# 8,190 bytes, the most gunicorn can, answering a longer one the same way (config.serve), so a
# client always gets the envelope. 8,000 bytes hold about 300 of our ids in a list filter.
MAX_QUERY_STRING_BYTES = 8000
MSG_QUERY_TOO_LONG = (
    f"The address is too long: its query string may hold at most {MAX_QUERY_STRING_BYTES:,} bytes "
    "(as sent, percent-encoded)."
)


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


def date_range_error(value):
    """None when a date or date-time (as written, before any offset is applied) lies in
    DATE_MIN_YEAR-DATE_MAX_YEAR, else the message saying so."""
    return None if DATE_MIN_YEAR <= value.year <= DATE_MAX_YEAR else MSG_DATE_OUT_OF_RANGE


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
            if error := date_range_error(day):
                raise forms.ValidationError(error, code="range")
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
        if parsed is None:
            raise forms.ValidationError(MSG_BAD_DATETIME, code="invalid")
        if error := date_range_error(parsed):
            raise forms.ValidationError(error, code="range")
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.astimezone(dt.timezone.utc)


class IsoDateTimeBoundFilter(django_filters.Filter):
    field_class = IsoDateTimeBoundField


class FilterSet(django_filters.FilterSet):
    """A django-filter FilterSet that costs little to make, since every list request makes one.

    django-filter deep-copies every filter (and the form field each has cached) and builds a new
    form class on each instance: about 0.8 ms of a list request that otherwise costs a few. A
    filter's state per instance is only its `parent` and `model` (and the method bound to the
    parent), so a shallow copy with those set again serves; the form class is the same for
    every instance of a FilterSet class, so it is made once, and its instances copy each field
    but not the field's widget and validators (`_FieldsCopiedShallow`)."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {}
        for name, base in self.base_filters.items():
            filter_ = shallow_copy(base)
            filter_.model = queryset.model
            filter_.parent = self
            if filter_.method is not None:
                filter_.method = filter_.method  # binds the method to this copy, not to the class's filter
            self.filters[name] = filter_

    def get_form_class(self):
        cls = type(self)
        form_class: Any = cls.__dict__.get("_form_class")
        if form_class is None:
            fields = {name: filter_.field for name, filter_ in cls.base_filters.items()}
            form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            form_class.base_fields = _FieldsCopiedShallow(form_class.base_fields)
            cls._form_class = form_class
        return form_class


class _FieldsCopiedShallow(dict):
    """A filter form's `base_fields`, which each form instance copies: a Django form deep-copies
    every field with its widget, validators and messages (so that an instance may change
    them), about a third of the cost of validating a list's query. A filter form changes none
    of them, so each field is copied alone."""

    def __deepcopy__(self, memo):
        return {name: shallow_copy(field) for name, field in self.items()}


def shallow_copy(instance):
    """What `copy.copy` gives for an instance that keeps its state in its `__dict__` and does not
    define `__copy__`, `__reduce__` or `__getstate__` (the filters and form and serializer
    fields copied per request here), in a fifth of its time: `copy.copy` goes through
    `__reduce_ex__` and `copyreg` for each one."""
    copied = object.__new__(type(instance))
    copied.__dict__.update(instance.__dict__)
    return copied
