"""Reads of the student records API (SPEC §7.5)."""
from django.db.models import Prefetch

from catalogue.models import Programme
from config.errors import AppError
from config.ids import check_id
from students.models import Student
from students.records.filters import StudentRecordFilter, error_name, record_query_normalise


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
        # list(): a form's ErrorList keeps its messages where a JSON encoder does not look.
        raise AppError.validation({error_name(field): list(msgs) for field, msgs in filterset.errors.items()})
    qs = filterset.qs
    if filterset.tombstones:
        qs = qs.order_by("deleted_at", "user_id").values("user_id", "deleted_at")
        return qs, True
    qs = qs.select_related("cohort", "advisor")
    qs = qs.prefetch_related(Prefetch("programmes", queryset=Programme.objects.order_by("code")))
    qs = qs.order_by("user_id")
    return qs, False


def student_record_get(*, user_id, for_update=False, deleted_too=False):
    """A non-deleted student by id with what a record shows, or 404 (400 when the id is
    malformed). `for_update` locks the student's row (the cohort and advisor are read, not
    locked) for the rest of the transaction. `deleted_too`: a deleted student as well (a
    deleted record still holds personal data, which data rights reach)."""
    check_id(user_id, field="user_id")
    qs = student_records()
    if for_update:
        qs = qs.select_for_update(of=("self",)).prefetch_related(None)  # the writer reads programmes after writing
    if not deleted_too:
        qs = qs.filter(deleted_at__isnull=True)
    student = qs.filter(pk=user_id).first()
    if student is None:
        raise AppError.not_found()
    return student
