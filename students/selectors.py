"""Reads of students for the console: one selector feeds the JSON list, the HTML list and
the export (SPEC §7.1), and the detail header."""
from dataclasses import dataclass

from django.db.models import F, IntegerField, OuterRef, Prefetch, Subquery
from django.db.models.functions import Lower

from attempts.models import CaseStudy
from attempts.selectors import student_attempt_totals, student_case_study_cards
from config.errors import AppError
from students.filters import StudentListFilter
from students.models import LISTED, Programme, Student, name_order

MSG_STUDENT_NOT_FOUND = "Student not found in the current tenant."


class SubqueryCountDistinct(Subquery):
    """count(DISTINCT col) over a correlated subquery without a GROUP BY on the outer query.

    `queryset` must select exactly one column, named by `column`."""

    output_field = IntegerField()

    def __init__(self, queryset, column, **extra):
        self.template = f"(SELECT count(DISTINCT _sub.{column}) FROM (%(subquery)s) _sub)"
        super().__init__(queryset, **extra)


def overall_case_studies_expression(student_ref="pk"):
    """Active case studies sharing at least one programme with the student, each counted once."""
    assigned = (
        CaseStudy.objects.filter(is_active=True, programmes__enrolments__student_id=OuterRef(student_ref))
        .order_by()
        .values("case_study_id")
    )
    return SubqueryCountDistinct(assigned, "case_study_id")


def _ordering(sort_by, sort_order):
    """ORDER BY matching the partial indexes on Student; ties always on user_id ascending.
    Students without activity (last_seen NULL) sort last in both directions."""
    descending = sort_order == "desc"
    if sort_by == "last_seen":
        key = F("last_seen").desc(nulls_last=True) if descending else F("last_seen").asc(nulls_last=True)
    elif sort_by == "name":
        key = name_order(Lower("full_name")).desc() if descending else name_order(Lower("full_name")).asc()
    elif sort_by == "programme":
        key = name_order(Lower("programme_label")).desc() if descending else name_order(Lower("programme_label")).asc()
    else:
        key = F("status").desc() if descending else F("status").asc()
    return [key, F("user_id").asc()]


def programmes_prefetch():
    return Prefetch("programmes", queryset=Programme.objects.order_by("code").only("id", "code", "name"))


def student_list_filterset(params):
    """Validate list parameters; raises a 400 naming the field when any is bad."""
    filterset = StudentListFilter(params, queryset=Student.objects.filter(LISTED))
    if not filterset.is_valid():
        raise AppError.validation({field: list(msgs) for field, msgs in filterset.errors.items()})
    return filterset


def student_list(params):
    """Listed students (not archived, not deleted) filtered and ordered per SPEC §7.1.

    Returns an unevaluated queryset; rows carry `overall_case_studies`, and `programmes`
    is prefetched in code order. Slice it for a page; `.count()` for the total."""
    filterset = student_list_filterset(params)
    sort_by, sort_order = filterset.sort
    queryset = filterset.qs
    queryset = queryset.annotate(overall_case_studies=overall_case_studies_expression())
    queryset = queryset.order_by(*_ordering(sort_by, sort_order))
    return queryset.prefetch_related(programmes_prefetch())


def student_list_page(params, *, skip, limit):
    """(rows, total) for one page. Queries: count, page rows, programmes of the page."""
    queryset = student_list(params)
    total = queryset.count()
    rows = list(queryset[skip : skip + limit]) if skip < total else []
    return rows, total


def student_get(user_id):
    """A student (archived ones included, deleted ones not) with programmes and
    overall_case_studies, or 404 NOT_FOUND."""
    student = (
        Student.objects.filter(user_id=user_id, deleted_at__isnull=True)
        .select_related("cohort")
        .annotate(overall_case_studies=overall_case_studies_expression())
        .prefetch_related(programmes_prefetch())
        .first()
    )
    if student is None:
        raise AppError.not_found(MSG_STUDENT_NOT_FOUND)
    return student


@dataclass
class StudentDetail:
    """The console's operational profile of one student (seed: Get Student Details)."""

    student: Student
    case_studies_attempted: int
    total_attempts: int
    total_sessions: int
    cards: list | None = None  # attempts.selectors.CaseStudyCard, most recently started first

    @property
    def student_number(self):
        """The SIS number when set, else the user_id (SPEC §4)."""
        return self.student.student_number or self.student.user_id

    @property
    def cohort(self):
        return self.student.cohort.name if self.student.cohort_id else None


def student_detail(*, user_id, include_case_studies=True):
    """StudentDetail or 404 NOT_FOUND. Queries: student (with cohort and overall_case_studies),
    its programmes, attempt totals; with cards also sessions, case-study programmes and
    grant totals. Six at most, whatever the number of sessions."""
    student = student_get(user_id)
    totals = student_attempt_totals(student_id=student.pk)
    detail = StudentDetail(
        student=student,
        case_studies_attempted=totals["case_studies_attempted"],
        total_attempts=totals["total_attempts"],
        total_sessions=totals["total_sessions"],
    )
    if include_case_studies:
        detail.cards = student_case_study_cards(student_id=student.pk)
    return detail
