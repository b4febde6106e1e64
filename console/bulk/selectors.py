"""Reads of the bulk bar: which programmes the list's students are in, and the case studies a
grant or revoke offers for them."""
from django.db.models import Exists, OuterRef

from catalogue.models import CaseStudy, Programme

Assignment = CaseStudy.programmes.through


def programmes_with_students(students):
    """Every programme by code, each with `has_students`: whether any of `students` (the list's
    matching students, a queryset) is enrolled in it. One query, cheap at a million students:
    the EXISTS sits in the select list, so PostgreSQL runs it once per programme (tens of
    them) as a probe of the enrolment index (programme, student) that stops at the first
    enrolled student the filters match; it never collects the matching students."""
    enrolled = students.order_by().filter(enrolments__programme_id=OuterRef("pk"))
    programmes = Programme.objects.order_by("code").only("code", "name")
    return list(programmes.annotate(has_students=Exists(enrolled)))


def bulk_case_study_options(programmes):
    """[(programme, [(case study id, title)])]: the active case studies assigned to each of
    `programmes` (from programmes_with_students) that has students, by title; a case study of
    several such programmes is under each. One query (none when no programme has students)."""
    by_pk = {programme.pk: programme for programme in programmes if programme.has_students}
    rows = Assignment.objects.filter(programme_id__in=list(by_pk), casestudy__is_active=True)
    rows = rows.order_by("casestudy__title", "casestudy_id")
    options: dict[int, list[tuple[str, str]]] = {pk: [] for pk in by_pk}
    for programme_id, case_study_id, title in rows.values_list("programme_id", "casestudy_id", "casestudy__title"):
        options[programme_id].append((case_study_id, title))
    return [(by_pk[pk], choices) for pk, choices in options.items() if choices]
