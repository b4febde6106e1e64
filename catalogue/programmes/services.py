"""Writes of programmes (SPEC §7.6). A new name or code changes the `programme_label` of the
students enrolled in it: the students app maintains that column itself, with a trigger on
the programme table (students/migrations), since the catalogue knows nothing of students."""
from django.db import IntegrityError, transaction

from accounts.audit.services import audit_record, audit_snapshot
from catalogue.models import Programme
from catalogue.programmes.selectors import programme_get
from config.errors import AppError

MSG_PROGRAMME_CODE_TAKEN = "A programme with this code already exists."

UNSET = object()


PROGRAMME_FIELDS = ("code", "name", "is_active")


def _programme_code_conflict():
    return AppError.conflict(MSG_PROGRAMME_CODE_TAKEN, errors={"code": [MSG_PROGRAMME_CODE_TAKEN]})


def programme_create(*, code, name, is_active=True):
    if Programme.objects.filter(code=code).exists():
        raise _programme_code_conflict()
    try:
        with transaction.atomic():
            programme = Programme.objects.create(code=code, name=name, is_active=is_active)
            audit_record(
                action="programme.create", target_type="programme", target_id=programme.pk,
                after=audit_snapshot(programme, PROGRAMME_FIELDS),
            )
            return programme
    except IntegrityError:  # created concurrently since the check
        raise _programme_code_conflict() from None


def programme_update(*, code, new_code=UNSET, name=UNSET, is_active=UNSET):
    """Update the given fields of the programme with `code` (404 when there is none)."""
    try:
        with transaction.atomic():
            programme = programme_get(code=code, for_update=True)
            before = audit_snapshot(programme, PROGRAMME_FIELDS)
            changes_code = new_code is not UNSET and new_code != programme.code
            if changes_code and Programme.objects.filter(code=new_code).exists():
                raise _programme_code_conflict()
            for field, value in (("code", new_code), ("name", name), ("is_active", is_active)):
                if value is not UNSET:
                    setattr(programme, field, value)
            programme.save()
            audit_record(
                action="programme.update", target_type="programme", target_id=programme.pk,
                before=before, after=audit_snapshot(programme, PROGRAMME_FIELDS),
            )
    except IntegrityError:
        raise _programme_code_conflict() from None
    return programme


def programme_deactivate(*, code):
    return programme_update(code=code, is_active=False)
