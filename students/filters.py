"""The console student list's FilterSet: one definition for the JSON list, the HTML list and
the export, so a filter behaves the same in all three (SPEC §7.1)."""
import datetime as dt
import re

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils.dateparse import parse_date, parse_datetime

from students.models import Enrolment, Student

SORT_FIELDS = ("name", "last_seen", "programme", "status")
SORT_ORDERS = ("asc", "desc")
MAX_SEARCH_LENGTH = 200
DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The extended ISO 8601 forms only: basic (20260604) and week (2026-W23) dates are refused
# rather than read with surprising bounds.
UNENCODED_PLUS_RE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$")

MSG_BAD_DATETIME = "Enter an ISO 8601 date or date-time, e.g. 2026-06-04 or 2026-06-04T09:00:00Z."
MSG_DATE_RANGE = "start_date must not be after end_date."
MSG_SORT_BY = f"Choose one of: {', '.join(SORT_FIELDS)}."
MSG_SORT_ORDER = "Choose asc or desc."


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
            if parsed is not None and parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.timezone.utc)
            parsed = parsed.astimezone(dt.timezone.utc) if parsed is not None else None
        except (ValueError, OverflowError):  # e.g. 9999-12-31T23:59:59-14:00 is past year 9999 in UTC
            parsed = None
        if parsed is None:
            raise forms.ValidationError(MSG_BAD_DATETIME, code="invalid")
        return parsed


class IsoDateTimeBoundFilter(django_filters.Filter):
    field_class = IsoDateTimeBoundField


class StudentListFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=MAX_SEARCH_LENGTH)
    programme = django_filters.CharFilter(method="filter_programme", max_length=32)
    status = django_filters.ChoiceFilter(choices=Student.Status.choices)
    start_date = IsoDateTimeBoundFilter(field_name="last_seen", lookup_expr="gte")
    end_date = IsoDateTimeBoundFilter(field_name="last_seen", lookup_expr="lte", end_of_day=True)
    sort_by = django_filters.ChoiceFilter(
        method="filter_noop",
        choices=[(f, f) for f in SORT_FIELDS],
        error_messages={"invalid_choice": MSG_SORT_BY},
    )
    sort_order = django_filters.ChoiceFilter(
        method="filter_noop",
        choices=[(o, o) for o in SORT_ORDERS],
        error_messages={"invalid_choice": MSG_SORT_ORDER},
    )

    class Meta:
        model = Student
        fields = []

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            data = data.copy()
            # Lower-case the enumerations so `ACTIVE` or `Desc` mean what they say.
            for key in ("status", "sort_by", "sort_order"):
                if isinstance(data.get(key), str):
                    data[key] = data[key].strip().lower()
        super().__init__(data, *args, **kwargs)

    def is_valid(self):
        valid = super().is_valid()
        if valid:
            start, end = self.form.cleaned_data.get("start_date"), self.form.cleaned_data.get("end_date")
            if start and end and start > end:
                self.form.add_error("start_date", MSG_DATE_RANGE)
                return False
        return valid

    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_search(self, queryset, name, value):
        term = value.strip().lower()
        if not term:
            return queryset
        # lower(...) LIKE '%term%' matches the trigram indexes of migration 0002.
        queryset = queryset.alias(_name_lc=Lower("full_name"), _email_lc=Lower("email"))
        return queryset.filter(Q(_name_lc__contains=term) | Q(_email_lc__contains=term))

    def filter_programme(self, queryset, name, value):
        code = value.strip()
        if not code:
            return queryset
        enrolled = Enrolment.objects.filter(student_id=OuterRef("pk"), programme__code__iexact=code)
        return queryset.filter(Exists(enrolled))

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        if data.get("start_date") or data.get("end_date"):
            queryset = queryset.filter(last_seen__isnull=False)  # no activity: excluded from a date range
        return queryset

    @property
    def sort(self):
        """(sort_by, sort_order) with the defaults of SPEC §7.1."""
        data = self.form.cleaned_data
        return data.get("sort_by") or "last_seen", data.get("sort_order") or "desc"
