"""Creating, renaming and deleting cohorts; each change audited. A cohort still holding
students (archived and deleted ones included) is not deleted: their records would change
without a word."""
from django.db import IntegrityError, transaction

from accounts.audit.services import audit_record
from config.errors import AppError
from students.models import Cohort, Student

MSG_COHORT_NAME_TAKEN = "Another cohort already has this name."
MSG_COHORT_HAS_STUDENTS = "This cohort still has students; move them to another cohort first."


def _name_taken():
    return AppError.conflict(MSG_COHORT_NAME_TAKEN, errors={"name": [MSG_COHORT_NAME_TAKEN]})


def cohort_create(*, name):
    try:
        with transaction.atomic():
            cohort = Cohort.objects.create(name=name)
            audit_record(action="cohort.create", target_type="cohort", target_id=cohort.pk, after={"name": name})
    except IntegrityError:
        raise _name_taken() from None
    return cohort


def _locked(cohort_id):
    cohort = Cohort.objects.select_for_update().filter(pk=cohort_id).first()
    if cohort is None:
        raise AppError.not_found()
    return cohort


def cohort_update(*, cohort_id, name=None):
    """Rename the cohort (404 when there is none); without a name, nothing changes."""
    try:
        with transaction.atomic():
            cohort = _locked(cohort_id)
            if name is None:
                return cohort
            before = {"name": cohort.name}
            cohort.name = name
            cohort.save(update_fields=["name"])
            audit_record(action="cohort.update", target_type="cohort", target_id=cohort.pk, before=before, after={"name": name})
    except IntegrityError:
        raise _name_taken() from None
    return cohort


@transaction.atomic
def cohort_delete(*, cohort_id):
    cohort = _locked(cohort_id)
    students = Student.objects.filter(cohort=cohort).count()
    if students:
        raise AppError.conflict(MSG_COHORT_HAS_STUDENTS, errors={"student_count": [str(students)]})
    audit_record(action="cohort.delete", target_type="cohort", target_id=cohort.pk, before={"name": cohort.name})
    cohort.delete()
