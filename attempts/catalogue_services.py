"""The catalogue (SPEC §7.6): programmes and case studies. Writes, plus the few reads the
catalogue API needs (kept here, at the end, so the catalogue lives in one module).

Renaming (or recoding) a programme refreshes its students' maintained `programme_label`
in the same transaction. `overall_case_studies` is computed live from `is_active` by the
console selectors, so deactivating a case study needs nothing else here: nothing caches it.
"""
from django.db import IntegrityError, transaction
from django.db.models import Prefetch

from attempts.catalogue_serializers import MSG_BAD_PROGRAMME_CODE, PROGRAMME_CODE_RE
from attempts.models import CaseStudy
from config.errors import AppError
from config.ids import is_valid_opaque_id
from students.maintained import programme_refresh_labels
from students.models import Programme
from students.record_selectors import programmes_for_codes
from students.serializers import MSG_BAD_ID

MSG_PROGRAMME_CODE_TAKEN = "A programme with this code already exists."
MSG_CASE_STUDY_ID_TAKEN = "A case study with this case_study_id already exists."
MSG_CASE_STUDY_ID_FIXED = "A case study's id cannot be changed."

UNSET = object()


def _programme_code_conflict():
    return AppError.conflict(MSG_PROGRAMME_CODE_TAKEN, errors={"code": [MSG_PROGRAMME_CODE_TAKEN]})


def programme_create(*, code, name, is_active=True):
    if Programme.objects.filter(code=code).exists():
        raise _programme_code_conflict()
    try:
        with transaction.atomic():
            return Programme.objects.create(code=code, name=name, is_active=is_active)
    except IntegrityError:  # created concurrently since the check
        raise _programme_code_conflict() from None


def programme_update(*, programme, code=UNSET, name=UNSET, is_active=UNSET):
    """Update the given fields; a new name or code refreshes enrolled students' labels
    (labels are names ordered by code, so both matter)."""
    try:
        with transaction.atomic():
            programme = Programme.objects.select_for_update().get(pk=programme.pk)
            if code is not UNSET and code != programme.code:
                if Programme.objects.filter(code=code).exists():
                    raise _programme_code_conflict()
            label_changes = (code is not UNSET and code != programme.code) or (name is not UNSET and name != programme.name)
            for field, value in (("code", code), ("name", name), ("is_active", is_active)):
                if value is not UNSET:
                    setattr(programme, field, value)
            programme.save()
            if label_changes:
                programme_refresh_labels(programme_id=programme.pk)
    except IntegrityError:
        raise _programme_code_conflict() from None
    return programme


def programme_deactivate(*, programme):
    return programme_update(programme=programme, is_active=False)


def case_study_create(
    *, title, programme_codes, max_attempts=2, grading_method=CaseStudy.GradingMethod.HIGHEST, is_active=True,
    case_study_id=None,
):
    conflict = AppError.conflict(MSG_CASE_STUDY_ID_TAKEN, errors={"case_study_id": [MSG_CASE_STUDY_ID_TAKEN]})
    try:
        with transaction.atomic():
            programmes = programmes_for_codes(programme_codes)
            if case_study_id is not None and CaseStudy.objects.filter(pk=case_study_id).exists():
                raise conflict
            case_study = CaseStudy(
                title=title, max_attempts=max_attempts, grading_method=grading_method, is_active=is_active
            )
            if case_study_id is not None:
                case_study.case_study_id = case_study_id
            case_study.save(force_insert=True)
            case_study.programmes.set(programmes)
    except IntegrityError:
        raise conflict from None
    return case_study


@transaction.atomic
def case_study_update(
    *, case_study, title=UNSET, programme_codes=UNSET, max_attempts=UNSET, grading_method=UNSET, is_active=UNSET,
    case_study_id=UNSET,
):
    case_study = CaseStudy.objects.select_for_update().get(pk=case_study.pk)
    if case_study_id is not UNSET and case_study_id != case_study.pk:
        raise AppError.validation({"case_study_id": MSG_CASE_STUDY_ID_FIXED})
    for field, value in (
        ("title", title), ("max_attempts", max_attempts), ("grading_method", grading_method), ("is_active", is_active)
    ):
        if value is not UNSET:
            setattr(case_study, field, value)
    case_study.save()
    if programme_codes is not UNSET:
        case_study.programmes.set(programmes_for_codes(programme_codes))
    return case_study


def case_study_deactivate(*, case_study):
    return case_study_update(case_study=case_study, is_active=False)


# Reads ----------------------------------------------------------------------------------


def programmes_list(*, is_active=None):
    qs = Programme.objects.order_by("code")
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs


def programme_get(*, code):
    """The programme with this code, 404, or 400 when the code is malformed."""
    if not PROGRAMME_CODE_RE.match(code):
        raise AppError.validation({"code": MSG_BAD_PROGRAMME_CODE})
    programme = Programme.objects.filter(code=code).first()
    if programme is None:
        raise AppError.not_found()
    return programme


def case_studies_list(*, is_active=None, programme=None):
    qs = CaseStudy.objects.order_by("title", "case_study_id")
    qs = qs.prefetch_related(Prefetch("programmes", queryset=Programme.objects.order_by("code")))
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    if programme is not None:
        qs = qs.filter(programmes__code=programme)
    return qs


def case_study_get(*, case_study_id):
    """The case study (programmes loaded), 404, or 400 when the id is malformed."""
    if not is_valid_opaque_id(case_study_id):
        raise AppError.validation({"case_study_id": MSG_BAD_ID})
    case_study = case_studies_list().filter(pk=case_study_id).first()
    if case_study is None:
        raise AppError.not_found()
    return case_study
