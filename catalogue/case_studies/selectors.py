"""Reads of case studies: the one getter every feature uses."""
from django.db.models import Prefetch

from catalogue.models import CaseStudy, Programme
from config.errors import AppError
from config.ids import check_id


def programmes_by_code():
    """Prefetch of a case study's programmes, ordered by code."""
    return Prefetch("programmes", queryset=Programme.objects.order_by("code"))


def case_studies_list(*, is_active=None, programme=None, search=None):
    qs = CaseStudy.objects.order_by("title", "case_study_id")
    qs = qs.prefetch_related(programmes_by_code())
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    if programme is not None:
        qs = qs.filter(programmes__code=programme)
    if search:
        qs = qs.filter(title__icontains=search)
    return qs


def case_study_get(*, case_study_id, with_programmes=True, for_update=False):
    """The case study (with its programmes ordered by code unless asked not to), 404, or 400
    when the id is malformed."""
    check_id(case_study_id, field="case_study_id")
    qs = CaseStudy.objects.select_for_update() if for_update else CaseStudy.objects
    if with_programmes:
        qs = qs.prefetch_related(programmes_by_code())
    case_study = qs.filter(pk=case_study_id).first()
    if case_study is None:
        raise AppError.not_found()
    return case_study
