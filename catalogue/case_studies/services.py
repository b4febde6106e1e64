"""Writes of case studies (SPEC §7.6). Each returns the case study with its programmes
loaded (ordered by code), ready to show."""
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects

from accounts.audit.services import audit_record, audit_snapshot
from catalogue.case_studies.selectors import case_study_get, programmes_by_code
from catalogue.models import CaseStudy
from catalogue.programmes.selectors import programmes_for_codes
from config.errors import AppError

MSG_CASE_STUDY_ID_TAKEN = "A case study with this case_study_id already exists."

UNSET = object()


CASE_STUDY_FIELDS = ("title", "max_attempts", "grading_method", "is_active")


def _audited(case_study):
    codes = sorted(case_study.programmes.values_list("code", flat=True))
    return {**audit_snapshot(case_study, CASE_STUDY_FIELDS), "programmes": codes}


def _audit(action, case_study, before=None):
    audit_record(
        action=action, target_type="case_study", target_id=case_study.pk, before=before, after=_audited(case_study)
    )


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
            _audit("case_study.create", case_study)
    except IntegrityError:
        raise conflict from None
    prefetch_related_objects([case_study], programmes_by_code())
    return case_study


@transaction.atomic
def case_study_update(
    *, case_study_id, title=UNSET, programme_codes=UNSET, max_attempts=UNSET, grading_method=UNSET, is_active=UNSET,
):
    """Update the given fields of the case study (404 when there is none)."""
    case_study = case_study_get(case_study_id=case_study_id, with_programmes=False, for_update=True)
    before = _audited(case_study)
    for field, value in (
        ("title", title), ("max_attempts", max_attempts), ("grading_method", grading_method), ("is_active", is_active)
    ):
        if value is not UNSET:
            setattr(case_study, field, value)
    case_study.save()
    if programme_codes is not UNSET:
        case_study.programmes.set(programmes_for_codes(programme_codes))
    _audit("case_study.update", case_study, before)
    prefetch_related_objects([case_study], programmes_by_code())
    return case_study


def case_study_deactivate(*, case_study_id):
    return case_study_update(case_study_id=case_study_id, is_active=False)
