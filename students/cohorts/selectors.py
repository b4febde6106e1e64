"""Cohorts (year groups) with how many current students each has."""
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from config.errors import AppError
from students.models import LISTED, Cohort, Student


def cohort_list():
    """Cohorts by name, each with `student_count` (listed students; a correlated count, so
    only the page's rows are counted)."""
    counted = Student.objects.filter(LISTED, cohort=OuterRef("pk")).order_by().values("cohort")
    counted = counted.annotate(n=Count("*")).values("n")
    return Cohort.objects.annotate(student_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0)).order_by(
        "name", "id"
    )


def cohort_get(*, cohort_id):
    cohort = cohort_list().filter(pk=cohort_id).first()
    if cohort is None:
        raise AppError.not_found()
    return cohort
