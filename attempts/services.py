"""Writes of attempts: granting and revoking extra attempts (SPEC §7.2).

The AttemptGrant ledger is the only source of `extra_attempts`: every change is a new row
with who (actor and a snapshot of their email), when and why. Rows are never updated or
deleted.

Rules, in one place:
- `attempts` is an integer 1-10; `reason` is required, non-blank after stripping, at most
  500 characters (stored stripped).
- The student must exist and not be deleted. Archived students (withdrawn or graduated)
  cannot be granted attempts; revoking from them is allowed so staff can correct a mistake.
- A grant's case study must be assigned to the student (an *active* case study sharing a
  programme with the student's enrolments, the same rule as `overall_case_studies`) or
  already attempted by them (a session exists). Revokes need no eligibility: there is
  nothing to take away unless something was granted.
- A revoke of more than the current extra attempts is a 409 CONFLICT and changes nothing,
  so the ledger sum never goes below zero.

Concurrency: every change to a (student, case study) pair first takes a transaction-level
advisory lock for that pair, then reads the ledger sum, then writes. Two requests on the
same pair therefore run one after the other (the second sees the first's committed row);
requests on different pairs do not wait for each other. Bulk grants lock their pairs in
ascending key order, so two bulk grants over overlapping students cannot deadlock.
Callers that wrap a service in their own `transaction.atomic` keep the lock until their
outer transaction commits, which lets them read the card under the same lock.
"""
import hashlib

from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from attempts.models import AttemptGrant, CaseStudy, Session
from attempts.selectors import extra_attempts_by_case_study
from config.errors import AppError
from config.ids import is_valid_opaque_id
from students.models import Enrolment, Student

MIN_ATTEMPTS = 1
MAX_ATTEMPTS = 10
MAX_REASON_LENGTH = 500
MAX_BULK_IDS = 500

MSG_ATTEMPTS_RANGE = f"Must be a whole number from {MIN_ATTEMPTS} to {MAX_ATTEMPTS}."
MSG_REASON_REQUIRED = "A reason is required."
MSG_REASON_TOO_LONG = f"Keep the reason to at most {MAX_REASON_LENGTH} characters."
MSG_STUDENT_UNKNOWN = "No student with this id on this tenant."
MSG_STUDENT_ARCHIVED = "This student is archived; unarchive them before granting attempts."
MSG_CASE_STUDY_UNKNOWN = "No case study with this id on this tenant."
MSG_NOT_ASSIGNED = "This case study is not assigned to the student's programmes and they have not attempted it."
MSG_USER_IDS_EMPTY = "Give at least one user id."
MSG_USER_IDS_TOO_MANY = f"Give at most {MAX_BULK_IDS} user ids at a time."
MSG_BULK_REFUSED = "Nothing was granted: some students cannot receive attempts; see errors for each id."
MSG_BULK_BAD_ID = "Not a valid user id."
MSG_BULK_STUDENT_UNKNOWN = "{user_id}: no student with this id on this tenant."
MSG_BULK_STUDENT_ARCHIVED = "{user_id}: this student is archived."
MSG_BULK_NOT_ASSIGNED = "{user_id}: this case study is not assigned to the student and they have not attempted it."
MSG_REVOKE_TOO_MANY = (
    "Cannot revoke {requested} extra attempt(s): this student has {extra} extra attempt(s) on this case study."
)

# First half of the two-int advisory lock key: a fixed namespace for attempt-grant locks,
# so they never collide with advisory locks taken for other purposes.
LOCK_NAMESPACE = 0x41747447  # "AttG"


def attempt_pair_lock_key(*, schema_name, user_id, case_study_id):
    """Second half of the advisory lock key for one (student, case study) pair: a signed 32-bit
    hash of the pair. Advisory locks are server-wide, so the tenant's schema is part of the key.
    A collision between two pairs only makes them wait for each other; it never breaks a rule."""
    digest = hashlib.sha256(f"grant:{schema_name}:{user_id}:{case_study_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def _lock_pairs(*, user_ids, case_study_id):
    """Take the advisory locks of (user_id, case_study_id) pairs, in ascending key order, in
    one statement. Held until the surrounding transaction ends."""
    keys = sorted(
        {
            attempt_pair_lock_key(schema_name=connection.schema_name, user_id=u, case_study_id=case_study_id)
            for u in user_ids
        }
    )
    with connection.cursor() as cursor:
        # Volatile functions in the select list run after ORDER BY, so locks are taken in key order.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%s::integer[]) AS t(k) ORDER BY k",
            [LOCK_NAMESPACE, keys],
        )


def _clean_attempts(attempts):
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not MIN_ATTEMPTS <= attempts <= MAX_ATTEMPTS:
        raise AppError.validation({"attempts": MSG_ATTEMPTS_RANGE})
    return attempts


def _clean_reason(reason):
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise AppError.validation({"reason": MSG_REASON_REQUIRED})
    if len(reason) > MAX_REASON_LENGTH:
        raise AppError.validation({"reason": MSG_REASON_TOO_LONG})
    return reason


def _check_case_study(case_study):
    if case_study is None or not CaseStudy.objects.filter(pk=case_study.pk).exists():
        raise AppError.validation({"case_study_id": MSG_CASE_STUDY_UNKNOWN})


def _student_state(*, student, case_study):
    """(exists and not deleted, archived, eligible) for one student, in one query."""
    row = (
        _with_eligibility(Student.objects.filter(pk=student.pk), case_study=case_study)
        .values("deleted_at", "archived", "assigned", "attempted")
        .first()
    )
    if row is None or row["deleted_at"] is not None:
        return False, False, False
    return True, row["archived"], row["assigned"] or row["attempted"]


def _with_eligibility(students, *, case_study):
    """Annotate `assigned` (an active case study sharing a programme with the student's
    enrolments) and `attempted` (a session exists on it)."""
    assigned = Exists(
        Enrolment.objects.filter(
            student_id=OuterRef("pk"),
            programme__case_studies=case_study.pk,
            programme__case_studies__is_active=True,
        )
    )
    attempted = Exists(Session.objects.filter(student_id=OuterRef("pk"), case_study_id=case_study.pk))
    students = students.annotate(assigned=assigned)
    students = students.annotate(attempted=attempted)
    return students


def _record(*, student_id, case_study_id, delta, reason, actor):
    return AttemptGrant.objects.create(
        student_id=student_id,
        case_study_id=case_study_id,
        delta=delta,
        reason=reason,
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
    )


@transaction.atomic
def attempts_grant(*, student, case_study, attempts, reason, actor):
    """Grant `attempts` extra attempts to `student` on `case_study`. Returns the new ledger row.
    Raises AppError (400) for bad input, an unknown/deleted/archived student, an unknown case
    study, or a case study neither assigned to nor attempted by the student."""
    attempts = _clean_attempts(attempts)
    reason = _clean_reason(reason)
    _check_case_study(case_study)
    exists, archived, eligible = _student_state(student=student, case_study=case_study)
    if not exists:
        raise AppError.validation({"user_id": MSG_STUDENT_UNKNOWN})
    if archived:
        raise AppError.validation({"user_id": MSG_STUDENT_ARCHIVED})
    if not eligible:
        raise AppError.validation({"case_study_id": MSG_NOT_ASSIGNED})
    _lock_pairs(user_ids=[student.pk], case_study_id=case_study.pk)
    return _record(student_id=student.pk, case_study_id=case_study.pk, delta=attempts, reason=reason, actor=actor)


@transaction.atomic
def attempts_revoke(*, student, case_study, attempts, reason, actor):
    """Take back `attempts` extra attempts. Returns the new ledger row (negative delta).
    Raises AppError 409 CONFLICT, changing nothing, when the student has fewer extra attempts
    on the case study than asked for; 400 for bad input or an unknown/deleted student."""
    attempts = _clean_attempts(attempts)
    reason = _clean_reason(reason)
    _check_case_study(case_study)
    if not Student.objects.filter(pk=student.pk, deleted_at__isnull=True).exists():
        raise AppError.validation({"user_id": MSG_STUDENT_UNKNOWN})
    _lock_pairs(user_ids=[student.pk], case_study_id=case_study.pk)
    # Read under the lock: no other grant or revoke of this pair can commit until we do.
    extra = extra_attempts_by_case_study(student_id=student.pk, case_study_ids=[case_study.pk]).get(case_study.pk, 0)
    if attempts > extra:
        raise AppError.conflict(
            MSG_REVOKE_TOO_MANY.format(requested=attempts, extra=extra),
            errors={"attempts": [MSG_REVOKE_TOO_MANY.format(requested=attempts, extra=extra)]},
        )
    return _record(student_id=student.pk, case_study_id=case_study.pk, delta=-attempts, reason=reason, actor=actor)


def dedupe_ids(ids):
    """The ids in first-seen order, each once."""
    return list(dict.fromkeys(ids))


@transaction.atomic
def attempts_grant_bulk(*, user_ids, case_study, attempts, reason, actor):
    """Grant `attempts` extra attempts on `case_study` to each student of `user_ids`, all or
    nothing. Duplicate ids count once (first-seen order kept). Returns the new ledger rows in
    that order. Raises AppError (400) for an empty list or more than 500 ids (naming
    `user_ids`), or, changing nothing, when any id is unknown, deleted, archived or not
    eligible (errors name each offending id under `user_ids[<index>]`)."""
    attempts = _clean_attempts(attempts)
    reason = _clean_reason(reason)
    if not isinstance(user_ids, (list, tuple)) or not user_ids:
        raise AppError.validation({"user_ids": MSG_USER_IDS_EMPTY})
    ids = dedupe_ids(str(u) for u in user_ids)
    if len(ids) > MAX_BULK_IDS:
        raise AppError.validation({"user_ids": MSG_USER_IDS_TOO_MANY})
    _check_case_study(case_study)

    # One query for every id's state, whatever the number of ids.
    well_formed = [u for u in ids if is_valid_opaque_id(u)]
    rows = _with_eligibility(Student.objects.filter(pk__in=well_formed, deleted_at__isnull=True), case_study=case_study)
    states = {r["pk"]: r for r in rows.values("pk", "archived", "assigned", "attempted")}
    errors = {}
    first_index = {}
    for index, user_id in enumerate(str(u) for u in user_ids):
        first_index.setdefault(user_id, index)
    for user_id in ids:
        state = states.get(user_id)
        if not is_valid_opaque_id(user_id):
            message = MSG_BULK_BAD_ID
        elif state is None:
            message = MSG_BULK_STUDENT_UNKNOWN
        elif state["archived"]:
            message = MSG_BULK_STUDENT_ARCHIVED
        elif not (state["assigned"] or state["attempted"]):
            message = MSG_BULK_NOT_ASSIGNED
        else:
            continue
        errors[f"user_ids[{first_index[user_id]}]"] = message.format(user_id=user_id)
    if errors:
        raise AppError.validation(errors, message=MSG_BULK_REFUSED)

    _lock_pairs(user_ids=ids, case_study_id=case_study.pk)
    actor_email = getattr(actor, "email", "") or ""
    grants = [
        AttemptGrant(
            student_id=user_id,
            case_study_id=case_study.pk,
            delta=attempts,
            reason=reason,
            actor=actor,
            actor_email=actor_email,
        )
        for user_id in ids
    ]
    return AttemptGrant.objects.bulk_create(grants)
