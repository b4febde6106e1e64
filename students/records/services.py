"""Writes of student records (SPEC §7.5): create, update, soft delete, archive, avatar.

Every write bumps `updated_at` (so `modified_since` sync sees it) and keeps the
maintained `programme_label` right in the same transaction.
"""
import io
from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from accounts.audit.services import audit_record, audit_snapshot
from accounts.models import StaffUser
from catalogue.models import Programme
from catalogue.programmes.selectors import programmes_for_codes
from config.errors import AppError, BulkRefused
from config.ids import is_valid_opaque_id
from students.maintained import programmes_lock_for_counting, student_refresh_programme_labels
from students.models import ArchivedMembership, Cohort, Enrolment, GroupMembership, Student
from students.records.selectors import student_record_get

MSG_ARCHIVE_EXACTLY_ONE = "Give exactly one of withdrawn_on or graduated_on."
MSG_EMAIL_TAKEN = "Another student already uses this email address."
MSG_STUDENT_NUMBER_TAKEN = "Another student already has this student number."
MSG_USER_ID_TAKEN = "A student with this user_id already exists (or existed and was deleted)."
MAX_BULK_STUDENTS = 500
MSG_BULK_IDS = f"Give 1 to {MAX_BULK_STUDENTS} user ids."
MSG_BULK_ARCHIVE_REFUSED = "Nothing was archived: some students cannot be; see errors for each id."
MSG_BULK_UNARCHIVE_REFUSED = "Nothing was unarchived: some students cannot be; see errors for each id."
REASON_BAD_ID = "Not a valid user id."
REASON_UNKNOWN = "no student with this id on this tenant."
REASON_ALREADY_ARCHIVED = "this student is already archived."
REASON_NOT_ARCHIVED = "this student is not archived."
MSG_UNKNOWN_COHORT = "No cohort has this id."
MSG_UNKNOWN_ADVISOR = "No staff user has this id."
MSG_AVATAR_MISSING = "Send the image as the multipart field 'avatar'."
MSG_AVATAR_TOO_LARGE = "The image is larger than 2 MB."
MSG_AVATAR_NOT_IMAGE = "The file is not a PNG, JPEG or WebP image."
MSG_AVATAR_TOO_MANY_PIXELS = "The image has too many pixels (at most 25 megapixels)."

AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_MAX_PIXELS = 25_000_000
# Pillow's format name -> stored file extension. The name and content type the client
# sent are ignored: the stored format is what Pillow recognises.
AVATAR_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}

_CONFLICTS = {
    "student_email_ci_unique": ("email", MSG_EMAIL_TAKEN),
    "student_number_unique": ("student_number", MSG_STUDENT_NUMBER_TAKEN),
    "students_student_pkey": ("user_id", MSG_USER_ID_TAKEN),
}

UNSET = object()

# What these services write on an existing row. The maintained columns (programme_label,
# last_seen) are left out: their own UPDATEs keep them right, and a stale copy in memory
# must never overwrite them.
RECORD_FIELDS = [
    "first_name", "last_name", "email", "status", "student_number", "cohort", "advisor",
    "archived", "enrollment_status", "withdrawn_on", "graduated_on", "avatar", "updated_at",
]


@contextmanager
def _atomic_with_conflicts():
    """One transaction; a unique-constraint violation we know (a race past _check_unique)
    comes out as its 409, any other IntegrityError as itself."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint not in _CONFLICTS:
            raise
        field, message = _CONFLICTS[constraint]
        raise AppError.conflict(message, errors={field: [message]}) from None


def _check_unique(*, email=None, student_number=None, exclude_pk=None):
    """Friendly 409s before writing; the unique constraints catch races (see _atomic_with_conflicts)."""
    live = Student.objects.filter(deleted_at__isnull=True)
    if exclude_pk is not None:
        live = live.exclude(pk=exclude_pk)
    if email is not None and live.filter(email__iexact=email).exists():
        raise AppError.conflict(MSG_EMAIL_TAKEN, errors={"email": [MSG_EMAIL_TAKEN]})
    if student_number is not None and live.filter(student_number=student_number).exists():
        raise AppError.conflict(MSG_STUDENT_NUMBER_TAKEN, errors={"student_number": [MSG_STUDENT_NUMBER_TAKEN]})


def _referenced(model, pk, *, field, message):
    """The row an optional reference names (None stays None); 400 on `field` when there is none."""
    if pk is None:
        return None
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise AppError.validation({field: message})
    return row


def _cohort(cohort_id):
    return _referenced(Cohort, cohort_id, field="cohort_id", message=MSG_UNKNOWN_COHORT)


def _advisor(advisor_id):
    return _referenced(StaffUser, advisor_id, field="advisor_id", message=MSG_UNKNOWN_ADVISOR)


def _enrolments_replace(*, student, programmes):
    """Make the student's enrolments exactly `programmes`, keeping existing enrolment dates."""
    wanted = {p.pk for p in programmes}
    current = set(Enrolment.objects.filter(student=student).values_list("programme_id", flat=True))
    if wanted == current:
        return False
    Enrolment.objects.filter(student=student).exclude(programme_id__in=wanted).delete()
    today = timezone.localdate()
    Enrolment.objects.bulk_create(
        [Enrolment(student=student, programme_id=pk, enrolled_on=today) for pk in sorted(wanted - current)]
    )
    student_refresh_programme_labels(student_ids=[student.pk])
    return True


AUDITED_FIELDS = (
    "first_name", "last_name", "email", "status", "student_number", "cohort", "advisor",
    "archived", "enrollment_status", "withdrawn_on", "graduated_on", "avatar",
)


def _audited(student):
    """The record as the audit trail keeps it, with its programme codes."""
    codes = sorted(Enrolment.objects.filter(student=student).values_list("programme__code", flat=True))
    return {**audit_snapshot(student, AUDITED_FIELDS), "programmes": codes}


def _audit(action, student, before=None):
    audit_record(
        action=action, target_type="student", target_id=student.pk, before=before, after=_audited(student)
    )


def _locked(user_id):
    """The student's record, locked for this transaction (404 when there is none)."""
    return student_record_get(user_id=user_id, for_update=True)


def _shown(student):
    """The record as callers show it: programmes (re)read, ordered by code."""
    student._prefetched_objects_cache = {}
    prefetch_related_objects([student], Prefetch("programmes", queryset=Programme.objects.order_by("code")))
    return student


def student_create(
    *,
    first_name,
    last_name,
    email,
    programme_codes,
    status=Student.Status.ACTIVE,
    student_number=None,
    cohort_id=None,
    advisor_id=None,
    user_id=None,
):
    """A new student, enrolled in `programme_codes`. 409 on a duplicate email, student
    number or user_id; 400 on an unknown programme, cohort or advisor."""
    with _atomic_with_conflicts():
        programmes = programmes_for_codes(programme_codes)
        cohort = _cohort(cohort_id)
        advisor = _advisor(advisor_id)
        if user_id is not None and Student.objects.filter(pk=user_id).exists():
            raise AppError.conflict(MSG_USER_ID_TAKEN, errors={"user_id": [MSG_USER_ID_TAKEN]})
        _check_unique(email=email, student_number=student_number)
        student = Student(
            first_name=first_name,
            last_name=last_name,
            email=email,
            status=status,
            student_number=student_number,
            cohort=cohort,
            advisor=advisor,
        )
        if user_id is not None:
            student.user_id = user_id
        student.save(force_insert=True)
        _enrolments_replace(student=student, programmes=programmes)
        _audit("student.create", student)
    return _shown(student)


def student_update(
    *,
    user_id,
    first_name=UNSET,
    last_name=UNSET,
    email=UNSET,
    status=UNSET,
    programme_codes=UNSET,
    student_number=UNSET,
    cohort_id=UNSET,
    advisor_id=UNSET,
):
    """Partial update: only the arguments given change. Always bumps updated_at."""
    with _atomic_with_conflicts():
        programmes = UNSET
        if programme_codes is not UNSET:
            programmes = programmes_for_codes(programme_codes)
            # Before the row's lock, as a recount holding these takes row locks (students.maintained).
            programmes_lock_for_counting(p.pk for p in programmes)
        student = _locked(user_id)
        before = _audited(student)
        _check_unique(
            email=None if email is UNSET else email,
            student_number=None if student_number in (UNSET, None) else student_number,
            exclude_pk=student.pk,
        )
        for name, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("email", email),
            ("status", status),
            ("student_number", student_number),
        ):
            if value is not UNSET:
                setattr(student, name, value)
        if cohort_id is not UNSET:
            student.cohort = _cohort(cohort_id)
        if advisor_id is not UNSET:
            student.advisor = _advisor(advisor_id)
        if programmes is not UNSET:
            _enrolments_replace(student=student, programmes=programmes)
        student.save(update_fields=RECORD_FIELDS)
        _audit("student.update", student, before)
    return _shown(student)


@transaction.atomic
def student_delete(*, user_id):
    """Soft delete: the record disappears from normal reads; sync clients see a tombstone
    through `deleted_since`. The email becomes free for a new record."""
    student = _locked(user_id)
    student.deleted_at = timezone.now()
    student.save(update_fields=["deleted_at", "updated_at"])
    audit_record(action="student.delete", target_type="student", target_id=student.pk, before=_audited(student))
    return student


def _move_memberships(*, student, source, target):
    """Move the student's group memberships between the live and the remembered table."""
    rows = source.objects.filter(student=student)
    group_ids = list(rows.values_list("group_id", flat=True))
    target.objects.bulk_create([target(group_id=g, student=student) for g in group_ids], ignore_conflicts=True)
    rows.delete()


@transaction.atomic
def student_archive(*, user_id, withdrawn_on=None, graduated_on=None):
    """Archive as withdrawn or graduated (exactly one date). The student's group
    memberships move to ArchivedMembership so unarchive can put them back."""
    if (withdrawn_on is None) == (graduated_on is None):
        raise AppError.validation({"withdrawn_on": MSG_ARCHIVE_EXACTLY_ONE, "graduated_on": MSG_ARCHIVE_EXACTLY_ONE})
    student = _locked(user_id)
    before = _audited(student)
    _move_memberships(student=student, source=GroupMembership, target=ArchivedMembership)
    student.archived = True
    if withdrawn_on is not None:
        student.enrollment_status = Student.EnrollmentStatus.WITHDRAWN
        student.withdrawn_on, student.graduated_on = withdrawn_on, None
    else:
        student.enrollment_status = Student.EnrollmentStatus.GRADUATED
        student.withdrawn_on, student.graduated_on = None, graduated_on
    student.save(update_fields=RECORD_FIELDS)
    _audit("student.archive", student, before)
    return _shown(student)


@transaction.atomic
def student_unarchive(*, user_id):
    """Back to enrolled, with the group memberships archiving removed (for groups that
    still exist: deleting a group deletes its remembered memberships too)."""
    student = _locked(user_id)
    before = _audited(student)
    _move_memberships(student=student, source=ArchivedMembership, target=GroupMembership)
    student.archived = False
    student.enrollment_status = Student.EnrollmentStatus.ENROLLED
    student.withdrawn_on = student.graduated_on = None
    student.save(update_fields=RECORD_FIELDS)
    _audit("student.unarchive", student, before)
    return _shown(student)


def avatar_image_check(upload):
    """(bytes, extension) of a valid avatar upload, or a 400 naming `avatar`.
    The file is decoded by Pillow: a renamed text file or a truncated image is refused."""
    if upload is None:
        raise AppError.validation({"avatar": MSG_AVATAR_MISSING})
    if upload.size > AVATAR_MAX_BYTES:
        raise AppError.validation({"avatar": MSG_AVATAR_TOO_LARGE})
    data = upload.read(AVATAR_MAX_BYTES + 1)
    if len(data) > AVATAR_MAX_BYTES:
        raise AppError.validation({"avatar": MSG_AVATAR_TOO_LARGE})
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            if image_format not in AVATAR_FORMATS:
                raise AppError.validation({"avatar": MSG_AVATAR_NOT_IMAGE})
            width, height = image.size
            if width * height > AVATAR_MAX_PIXELS:
                raise AppError.validation({"avatar": MSG_AVATAR_TOO_MANY_PIXELS})
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # verify() does not decode JPEG data; load() does
    except AppError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise AppError.validation({"avatar": MSG_AVATAR_NOT_IMAGE}) from None
    return data, AVATAR_FORMATS[image_format]


def _delete_file_after_commit(storage, name):
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _audit_avatar(action, student, old_name):
    audit_record(
        action=action,
        target_type="student",
        target_id=student.pk,
        before={"avatar": old_name or None},
        after={"avatar": student.avatar.name or None},
    )


@transaction.atomic
def student_avatar_set(*, user_id, upload):
    data, extension = avatar_image_check(upload)
    student = _locked(user_id)
    old_name = student.avatar.name
    student.avatar.save(f"avatar.{extension}", ContentFile(data), save=False)
    student.save(update_fields=RECORD_FIELDS)
    _audit_avatar("student.avatar_set", student, old_name)
    _delete_file_after_commit(student.avatar.storage, old_name)
    return _shown(student)


@transaction.atomic
def student_avatar_clear(*, user_id):
    student = _locked(user_id)
    old_name = student.avatar.name
    student.avatar = ""
    student.save(update_fields=RECORD_FIELDS)
    _audit_avatar("student.avatar_clear", student, old_name)
    _delete_file_after_commit(student.avatar.storage, old_name)
    return _shown(student)


def students_lock_for_bulk(user_ids, *, refuse, message):
    """The ids of `user_ids` (repeats once, first-seen order) of live students, locked in id
    order, when none is refused; else BulkRefused, with `message`, naming each id that is
    malformed, unknown or deleted, or whose archived flag `refuse(archived)` gives a reason for."""
    if not isinstance(user_ids, (list, tuple)) or not 0 < len(user_ids) <= MAX_BULK_STUDENTS:
        raise AppError.validation({"user_ids": MSG_BULK_IDS})
    ids = list(dict.fromkeys(str(u) for u in user_ids))
    found = dict(
        Student.objects.select_for_update()
        .filter(pk__in=[u for u in ids if is_valid_opaque_id(u)], deleted_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "archived")
    )
    refused = {}
    for user_id in ids:
        if not is_valid_opaque_id(user_id):
            refused[user_id] = REASON_BAD_ID
        elif user_id not in found:
            refused[user_id] = REASON_UNKNOWN
        elif reason := refuse(found[user_id]):
            refused[user_id] = reason
    if refused:
        first_index = {}
        for index, user_id in enumerate(str(u) for u in user_ids):
            first_index.setdefault(user_id, index)
        raise BulkRefused(message, refused, first_index, bad_id_reason=REASON_BAD_ID)
    return ids


@transaction.atomic
def students_archive_bulk(*, user_ids, withdrawn_on=None, graduated_on=None):
    """Archive every student of `user_ids` as student_archive does (each audited), all or
    nothing: BulkRefused, changing nothing, when any is malformed, unknown, deleted or already
    archived. Returns the ids archived, in first-seen order."""
    if (withdrawn_on is None) == (graduated_on is None):
        raise AppError.validation({"withdrawn_on": MSG_ARCHIVE_EXACTLY_ONE, "graduated_on": MSG_ARCHIVE_EXACTLY_ONE})
    ids = students_lock_for_bulk(
        user_ids, refuse=lambda archived: REASON_ALREADY_ARCHIVED if archived else None, message=MSG_BULK_ARCHIVE_REFUSED
    )
    for user_id in ids:
        student_archive(user_id=user_id, withdrawn_on=withdrawn_on, graduated_on=graduated_on)
    return ids


@transaction.atomic
def students_unarchive_bulk(*, user_ids):
    """Unarchive every student of `user_ids` (student_unarchive, each audited), all or nothing
    as students_archive_bulk. Returns the ids unarchived."""
    ids = students_lock_for_bulk(
        user_ids, refuse=lambda archived: None if archived else REASON_NOT_ARCHIVED, message=MSG_BULK_UNARCHIVE_REFUSED
    )
    for user_id in ids:
        student_unarchive(user_id=user_id)
    return ids
