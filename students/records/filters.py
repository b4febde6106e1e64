"""Filters of GET /v1/students (ManageBac parity, SPEC §7.5).

Query parameters arrive in ManageBac's spellings (`ids[]`, `cohort_ids[]`, and the seed's
`year_group_ids[]` / `homeroom_advisor_ids[]` aliases); `record_query_normalise` folds them
into the FilterSet's field names, and errors are reported under the documented names.
"""

import django_filters
from django import forms
from django.db.models import Q
from django.http import QueryDict
from drf_spectacular.drainage import set_override
from drf_spectacular.utils import extend_schema_field

from config.ids import OPAQUE_ID, is_valid_opaque_id
from config.query import (
    MSG_BOOLEAN_ZERO_ONE,
    FilterSet,
    IsoDateTimeBoundField,
    QueryBooleanFormField,
    normalise_text,
)
from students.models import Student

MSG_BAD_ID_LIST = "Every id must be 1-64 letters, digits or _ . : -."
MSG_BAD_INT_LIST = "Every id must be a positive integer."
MSG_TOO_MANY_IDS = "At most {max} ids at once."

# Ids one list filter of GET /v1/students takes (`ids[]`, `cohort_ids[]`, `advisor_ids[]`): a bound
# on a read's query, not the bulk actions' cap (config.bulk), though both are 500 today.
MAX_IDS = 500
MAX_QUERY_LENGTH = 200

# FilterSet field -> accepted spellings (the first one is the documented name).
LIST_PARAMS = {
    "ids": ("ids[]", "ids"),
    "cohort_ids": ("cohort_ids[]", "cohort_ids", "year_group_ids[]", "year_group_ids"),
    "advisor_ids": ("advisor_ids[]", "advisor_ids", "homeroom_advisor_ids[]", "homeroom_advisor_ids"),
}
SCALAR_PARAMS = ("archived", "status", "modified_since", "deleted_since", "q")


def record_query_normalise(query_params):
    """The request's query as a QueryDict keyed by FilterSet field names.
    List values may repeat the parameter or separate values with commas."""
    data = QueryDict(mutable=True)
    for field, spellings in LIST_PARAMS.items():
        values = []
        for spelling in spellings:
            for raw in query_params.getlist(spelling):
                values.extend(part.strip() for part in raw.split(",") if part.strip())
        if values or any(spelling in query_params for spelling in spellings):
            data.setlist(field, values)
    for name in SCALAR_PARAMS:
        if name in query_params:
            data[name] = query_params.get(name)
    return data


def error_name(field):
    """The documented parameter name for a FilterSet field's error."""
    return LIST_PARAMS[field][0] if field in LIST_PARAMS else field


class IdListField(forms.Field):
    widget = forms.SelectMultiple  # reads every value of the parameter

    def __init__(self, *, item=str, **kwargs):
        self.item = item
        super().__init__(**kwargs)

    def to_python(self, value):
        if not value:
            return None
        if len(value) > MAX_IDS:
            raise forms.ValidationError(MSG_TOO_MANY_IDS.format(max=MAX_IDS))
        if self.item is int:
            if not all(v.isascii() and v.isdigit() for v in value):  # int() would read "+1" and "1_0"
                raise forms.ValidationError(MSG_BAD_INT_LIST)
            ids = [int(v) for v in value]
            if any(not 1 <= v < 2**63 for v in ids):
                raise forms.ValidationError(MSG_BAD_INT_LIST)
            return ids
        if not all(is_valid_opaque_id(v) for v in value):
            raise forms.ValidationError(MSG_BAD_ID_LIST)
        return list(value)


def _id_list_schema(item):
    """A list parameter's value: items separated by commas, spaces around them and empty items
    ignored (as IdListField reads it)."""
    part = rf"\s*(?:{item})?\s*"
    return {"type": "array", "items": {"type": "string", "pattern": rf"^{part}(?:,{part})*$"}}


class IdListFilter(django_filters.Filter):
    field_class = IdListField

    def __init__(self, *, item=str, **kwargs):
        kwargs.setdefault("lookup_expr", "in")
        super().__init__(item=item, **kwargs)
        set_override(self, "field", _id_list_schema(r"0*[1-9][0-9]{0,17}" if item is int else OPAQUE_ID))


class SinceFilter(django_filters.Filter):
    """ISO 8601 date-time (naive means UTC) or a date (midnight UTC): the console list's parser."""

    field_class = IsoDateTimeBoundField


# 1 or 0; true and false are read too, in any case, as parse_boolean reads them.
@extend_schema_field({"type": "string", "pattern": r"^\s*(?:[01]|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\s*$"})
class ZeroOneFilter(django_filters.Filter):
    """ManageBac's `archived`: 1 or 0 (true and false are read too)."""

    field_class = QueryBooleanFormField

    def __init__(self, **kwargs):
        super().__init__(message=MSG_BOOLEAN_ZERO_ONE, **kwargs)


class StudentRecordFilter(FilterSet):
    """The query of GET /v1/students: validates it and is its documented schema
    (config.filter_schema), under the spellings of `parameter_names`."""

    ids = IdListFilter(
        field_name="user_id", help_text="Only these user_ids (repeat, or separate with commas; at most 500)."
    )
    archived = ZeroOneFilter(field_name="archived", help_text="1: only archived; 0: only not archived.")
    status = django_filters.ChoiceFilter(
        field_name="enrollment_status", choices=Student.EnrollmentStatus.choices, help_text="Enrollment status."
    )
    modified_since = SinceFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Records created or changed at or after this time (ISO 8601)."
    )
    # Applied in filter_queryset: it chooses between live records and tombstones.
    deleted_since = SinceFilter(
        method="filter_nothing",
        help_text="Instead of records: tombstones {user_id, deleted_at} of students deleted at or after this time.",
    )
    cohort_ids = IdListFilter(field_name="cohort_id", help_text="Cohort (year group) ids (at most 500).")
    advisor_ids = IdListFilter(
        field_name="advisor_id", item=int, help_text="Advisor (staff user) ids: positive integers (at most 500)."
    )
    q = django_filters.CharFilter(
        method="filter_search",
        max_length=MAX_QUERY_LENGTH,
        help_text="Substring of first name, last name, email or student number (read in Unicode NFC).",
    )
    parameter_names = {field: spellings[0] for field, spellings in LIST_PARAMS.items()}

    class Meta:
        model = Student
        fields = []

    @property
    def tombstones(self):
        return self.form.cleaned_data.get("deleted_since") is not None

    def filter_queryset(self, queryset):
        deleted_since = self.form.cleaned_data.get("deleted_since")
        if deleted_since is None:
            queryset = queryset.filter(deleted_at__isnull=True)
        else:
            queryset = queryset.filter(deleted_at__gte=deleted_since)
        return super().filter_queryset(queryset)

    def filter_nothing(self, queryset, name, value):
        return queryset

    def filter_search(self, queryset, name, value):
        term = normalise_text(value).strip()  # stored text is NFC: "Zoë" typed decomposed finds "Zoë"
        if not term:
            return queryset
        matches_term = (
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(full_name__icontains=term)
            | Q(email__icontains=term)
            | Q(student_number__icontains=term)
        )
        return queryset.filter(matches_term)
