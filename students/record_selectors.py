"""Reads of the student records API (SPEC §7.5) and catalogue look-ups shared by writes."""
from django.db.models import Prefetch

from config.errors import AppError
from config.ids import is_valid_opaque_id
from students.models import Programme, Student
from students.record_filters import StudentRecordFilter, error_name, record_query_normalise
from students.serializers import MSG_BAD_ID

MSG_UNKNOWN_PROGRAMMES = "Unknown programme code(s): {codes}."


def student_records():
    """Students with what a record shows: cohort, advisor and programmes (ordered by code).
    Deleted students are included; callers filter them (see student_record_get)."""
    qs = Student.objects.all()
    qs = qs.select_related("cohort", "advisor")
    qs = qs.prefetch_related(Prefetch("programmes", queryset=Programme.objects.order_by("code")))
    return qs


def student_records_list(*, query_params):
    """(queryset, tombstones) for GET /v1/students; raises a 400 naming bad parameters.

    Live records are ordered by user_id; with `deleted_since` the queryset holds the
    tombstones (user_id, deleted_at) of students deleted since then, oldest first."""
    filterset = StudentRecordFilter(data=record_query_normalise(query_params), queryset=Student.objects.all())
    if not filterset.is_valid():
        raise AppError.validation({error_name(field): msgs for field, msgs in filterset.errors.items()})
    qs = filterset.qs
    if filterset.tombstones:
        qs = qs.order_by("deleted_at", "user_id").values("user_id", "deleted_at")
        return qs, True
    qs = qs.select_related("cohort", "advisor")
    qs = qs.prefetch_related(Prefetch("programmes", queryset=Programme.objects.order_by("code")))
    qs = qs.order_by("user_id")
    return qs, False


def student_id_check(user_id):
    if not is_valid_opaque_id(user_id):
        raise AppError.validation({"user_id": MSG_BAD_ID})


def student_record_get(*, user_id, queryset=None):
    """A non-deleted student by id, or 404 (400 when the id is malformed)."""
    student_id_check(user_id)
    qs = student_records() if queryset is None else queryset
    student = qs.filter(pk=user_id, deleted_at__isnull=True).first()
    if student is None:
        raise AppError.not_found()
    return student


def programmes_for_codes(codes, *, field="programme_codes"):
    """The programmes with these codes (duplicates ignored), or a 400 naming `field`."""
    wanted = list(dict.fromkeys(codes))
    found = {p.code: p for p in Programme.objects.filter(code__in=wanted)}
    missing = [code for code in wanted if code not in found]
    if missing:
        raise AppError.validation({field: MSG_UNKNOWN_PROGRAMMES.format(codes=", ".join(missing))})
    return [found[code] for code in wanted]
