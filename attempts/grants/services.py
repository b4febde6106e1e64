"""Writes of attempts: granting and revoking extra attempts (SPEC §7.2).

The AttemptGrant ledger is the only source of `extra_attempts`: every change is a new row
with who (actor and a snapshot of their email), when and why. Rows are never updated or
deleted.

Rules, in one place:
- `attempts` is an integer 1-10, with one message (MSG_ATTEMPTS_RANGE): the API's serializers
  and the console's forms check only that it is an integer, and show this refusal beside the
  same field. `reason` is required, non-blank after stripping, at most 500 characters (stored
  stripped).
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

Check once: callers pass ids; these services find the student and the case study, check
every rule, take the lock, write, and return what callers show (the ledger row and the
card's numbers after the change, read under the same lock). Callers never look the ids up
themselves. A bulk grant (or revoke) refused for some students raises BulkGrantRefused (or
BulkRevokeRefused), which carries each refused id with its reason.
"""
import hashlib
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from accounts.audit.services import audit_record, audit_record_many
from attempts.grants.selectors import case_study_numbers_for_students
from attempts.models import AttemptGrant, Session
from attempts.selectors import (
    CaseStudyCard,
    extra_attempts,
    extra_attempts_by_case_study,
    student_case_study_card,
)
from catalogue.models import CaseStudy
from config.bulk import MAX_BULK_IDS
from config.errors import AppError, BulkRefused
from config.ids import is_valid_opaque_id
from config.text import reason_checked
from students.models import Enrolment, Student

MIN_ATTEMPTS = 1
MAX_ATTEMPTS = 10
MAX_REASON_LENGTH = 500

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
MSG_BULK_REVOKE_REFUSED = "Nothing was revoked: some students do not have these extra attempts; see errors for each id."
# Why one student of a bulk grant was refused.
REASON_BAD_ID = "Not a valid user id."
REASON_STUDENT_UNKNOWN = "no student with this id on this tenant."
REASON_STUDENT_ARCHIVED = "this student is archived."
REASON_NOT_ASSIGNED = "this case study is not assigned to the student and they have not attempted it."
REASON_TOO_FEW_EXTRA = "this student has {extra} extra attempt(s) on this case study, fewer than {requested}."
MSG_REVOKE_TOO_MANY = (
    "Cannot revoke {requested} extra attempt(s): this student has {extra} extra attempt(s) on this case study."
)

# First half of the two-int advisory lock key: a fixed namespace for attempt-grant locks,
# so they never collide with advisory locks taken for other purposes.
LOCK_NAMESPACE = 0x41747447  # "AttG"


@dataclass
class AttemptChange:
    """A grant or revoke as callers show it: the ledger row and the card after it."""

    grant: AttemptGrant
    card: CaseStudyCard


@dataclass
class BulkGranted:
    """One student's grant of a bulk grant, with the card's numbers after it."""

    grant: AttemptGrant
    attempts_used: int
    extra_attempts: int
    attempts_allowed: int


class BulkGrantRefused(BulkRefused):
    """Nothing was granted (config.errors.BulkRefused)."""

    def __init__(self, refused, first_index):
        super().__init__(MSG_BULK_REFUSED, refused, first_index, bad_id_reason=REASON_BAD_ID)


class BulkRevokeRefused(BulkRefused):
    """Nothing was revoked (config.errors.BulkRefused)."""

    def __init__(self, refused, first_index):
        super().__init__(MSG_BULK_REVOKE_REFUSED, refused, first_index, bad_id_reason=REASON_BAD_ID)


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
    return reason_checked(reason, max_length=MAX_REASON_LENGTH, required=MSG_REASON_REQUIRED, too_long=MSG_REASON_TOO_LONG)


def _with_eligibility(students, *, case_study_id):
    """Annotate `assigned` (an active case study sharing a programme with the student's
    enrolments) and `attempted` (a session exists on it)."""
    assigned = Exists(
        Enrolment.objects.filter(
            student_id=OuterRef("pk"),
            programme__case_studies=case_study_id,
            programme__case_studies__is_active=True,
        )
    )
    attempted = Exists(Session.objects.filter(student_id=OuterRef("pk"), case_study_id=case_study_id))
    students = students.annotate(assigned=assigned)
    students = students.annotate(attempted=attempted)
    return students


def _resolve(*, user_id, case_study_id):
    """(case study, student state) for a grant or revoke, or one 400 naming every id that
    does not exist (deleted students do not). The state is {archived, eligible}. Two queries."""
    case_study = CaseStudy.objects.filter(pk=case_study_id).first() if is_valid_opaque_id(case_study_id) else None
    state = None
    if is_valid_opaque_id(user_id):
        students = Student.objects.filter(pk=user_id, deleted_at__isnull=True)
        state = _with_eligibility(students, case_study_id=case_study_id).values("archived", "assigned", "attempted").first()
    errors = {}
    if state is None:
        errors["user_id"] = MSG_STUDENT_UNKNOWN
    if case_study is None:
        errors["case_study_id"] = MSG_CASE_STUDY_UNKNOWN
    if errors:
        raise AppError.validation(errors)
    return case_study, state


def _grant_detail(grant):
    return {"case_study_id": grant.case_study_id, "delta": grant.delta, "reason": grant.reason, "grant_id": grant.pk}


def _allowance(extra_attempts, attempts_allowed, *, less=0):
    """The audited snapshot of a pair's allowance; `less` the change's delta, for the one before it."""
    return {"extra_attempts": extra_attempts - less, "attempts_allowed": attempts_allowed - less}


def _audit_action(delta):
    return "attempts.grant" if delta > 0 else "attempts.revoke"


def _change(*, user_id, case_study_id, delta, reason, actor):
    """Write the ledger row (the pair is locked), read the card under the same lock, and audit
    the allowance before and after."""
    grant = AttemptGrant.objects.create(
        student_id=user_id,
        case_study_id=case_study_id,
        delta=delta,
        reason=reason,
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
    )
    card = student_case_study_card(student_id=user_id, case_study_id=case_study_id)
    audit_record(
        action=_audit_action(delta),
        target_type="student",
        target_id=user_id,
        before=_allowance(card.extra_attempts, card.attempts_allowed, less=delta),
        after=_allowance(card.extra_attempts, card.attempts_allowed),
        detail=_grant_detail(grant),
    )
    return AttemptChange(grant=grant, card=card)


@transaction.atomic
def attempts_grant(*, user_id, case_study_id, attempts, reason, actor):
    """Grant `attempts` extra attempts to the student on the case study: an AttemptChange.
    Raises AppError (400) for an unknown/deleted student or unknown case study, bad input,
    an archived student, or a case study neither assigned to nor attempted by the student."""
    _, state = _resolve(user_id=user_id, case_study_id=case_study_id)
    attempts = _clean_attempts(attempts)
    reason = _clean_reason(reason)
    if state["archived"]:
        raise AppError.validation({"user_id": MSG_STUDENT_ARCHIVED})
    if not (state["assigned"] or state["attempted"]):
        raise AppError.validation({"case_study_id": MSG_NOT_ASSIGNED})
    _lock_pairs(user_ids=[user_id], case_study_id=case_study_id)
    return _change(user_id=user_id, case_study_id=case_study_id, delta=attempts, reason=reason, actor=actor)


@transaction.atomic
def attempts_revoke(*, user_id, case_study_id, attempts, reason, actor):
    """Take back `attempts` extra attempts: an AttemptChange (its row has a negative delta).
    Raises AppError 409 CONFLICT, changing nothing, when the student has fewer extra attempts
    on the case study than asked for; 400 for bad input or an unknown/deleted student or
    case study."""
    _resolve(user_id=user_id, case_study_id=case_study_id)
    attempts = _clean_attempts(attempts)
    reason = _clean_reason(reason)
    _lock_pairs(user_ids=[user_id], case_study_id=case_study_id)
    # Read under the lock: no other grant or revoke of this pair can commit until we do.
    extra = extra_attempts_by_case_study(student_id=user_id, case_study_ids=[case_study_id]).get(case_study_id, 0)
    if attempts > extra:
        message = MSG_REVOKE_TOO_MANY.format(requested=attempts, extra=extra)
        raise AppError.conflict(message, errors={"attempts": [message]})
    return _change(user_id=user_id, case_study_id=case_study_id, delta=-attempts, reason=reason, actor=actor)


def dedupe_ids(ids):
    """The ids in first-seen order, each once."""
    return list(dict.fromkeys(ids))


def _bulk_ids(user_ids):
    """The ids of a bulk change, deduplicated in first-seen order; 400 when none or more than
    MAX_BULK_IDS are given (repeats counted, as the schema's maxItems counts them)."""
    if not isinstance(user_ids, (list, tuple)) or not user_ids:
        raise AppError.validation({"user_ids": MSG_USER_IDS_EMPTY})
    if len(user_ids) > MAX_BULK_IDS:
        raise AppError.validation({"user_ids": MSG_USER_IDS_TOO_MANY})
    return dedupe_ids(str(u) for u in user_ids)


def _first_index(user_ids):
    first_index: dict[str, int] = {}
    for index, user_id in enumerate(str(u) for u in user_ids):
        first_index.setdefault(user_id, index)
    return first_index


def _bulk_case_study(case_study_id):
    case_study = CaseStudy.objects.filter(pk=case_study_id).first() if is_valid_opaque_id(case_study_id) else None
    if case_study is None:
        raise AppError.validation({"case_study_id": MSG_CASE_STUDY_UNKNOWN})
    return case_study


def _bulk_write(*, ids, case_study, delta, reason, actor):
    """One ledger row per student (each audited) and the card numbers after them."""
    actor_email = getattr(actor, "email", "") or ""
    grants = AttemptGrant.objects.bulk_create(
        [
            AttemptGrant(
                student_id=user_id,
                case_study_id=case_study.pk,
                delta=delta,
                reason=reason,
                actor=actor,
                actor_email=actor_email,
            )
            for user_id in ids
        ]
    )
    numbers = case_study_numbers_for_students(case_study=case_study, student_ids=ids)
    audit_record_many(
        action=_audit_action(delta),
        target_type="student",
        targets=[
            (
                g.student_id,
                _grant_detail(g),
                _allowance(*numbers[g.student_id][1:], less=delta),
                _allowance(*numbers[g.student_id][1:]),
            )
            for g in grants
        ],
    )
    return [BulkGranted(grant, *numbers[grant.student_id]) for grant in grants]


@transaction.atomic
def attempts_grant_bulk(*, user_ids, case_study_id, attempts, reason, actor):
    """Grant `attempts` extra attempts on the case study to each student of `user_ids`, all or
    nothing: a list of BulkGranted in first-seen order (duplicate ids count once). Raises
    AppError (400) for an unknown case study, bad input, an empty list or more than
    MAX_BULK_IDS ids (config.bulk), and BulkGrantRefused, changing nothing, when any id is
    malformed, unknown, deleted, archived or not eligible."""
    case_study = _bulk_case_study(case_study_id)
    attempts = _clean_attempts(attempts)
    reason = _clean_reason(reason)
    ids = _bulk_ids(user_ids)

    # One query for every id's state, whatever the number of ids.
    well_formed = [u for u in ids if is_valid_opaque_id(u)]
    students = Student.objects.filter(pk__in=well_formed, deleted_at__isnull=True)
    rows = _with_eligibility(students, case_study_id=case_study.pk)
    states = {r["pk"]: r for r in rows.values("pk", "archived", "assigned", "attempted")}
    refused = {}
    for user_id in ids:
        state = states.get(user_id)
        if not is_valid_opaque_id(user_id):
            refused[user_id] = REASON_BAD_ID
        elif state is None:
            refused[user_id] = REASON_STUDENT_UNKNOWN
        elif state["archived"]:
            refused[user_id] = REASON_STUDENT_ARCHIVED
        elif not (state["assigned"] or state["attempted"]):
            refused[user_id] = REASON_NOT_ASSIGNED
    if refused:
        raise BulkGrantRefused(refused, _first_index(user_ids))

    _lock_pairs(user_ids=ids, case_study_id=case_study.pk)
    return _bulk_write(ids=ids, case_study=case_study, delta=attempts, reason=reason, actor=actor)


@transaction.atomic
def attempts_revoke_bulk(*, user_ids, case_study_id, attempts, reason, actor):
    """Take back `attempts` extra attempts on the case study from each student of `user_ids`,
    all or nothing, as attempts_revoke does for one (archived students included): a list of
    BulkGranted (negative deltas) in first-seen order. Raises AppError (400) for an unknown
    case study, bad input, an empty list or more than MAX_BULK_IDS ids, and BulkRevokeRefused,
    changing nothing, when any id is malformed, unknown or deleted, or its student has fewer
    extra attempts than asked for (read under the pairs' locks)."""
    case_study = _bulk_case_study(case_study_id)
    attempts = _clean_attempts(attempts)
    reason = _clean_reason(reason)
    ids = _bulk_ids(user_ids)
    well_formed = [u for u in ids if is_valid_opaque_id(u)]
    found = set(Student.objects.filter(pk__in=well_formed, deleted_at__isnull=True).values_list("pk", flat=True))
    _lock_pairs(user_ids=sorted(found), case_study_id=case_study.pk)
    extra = extra_attempts(student_ids=sorted(found), case_study_ids=[case_study.pk])
    extra = {student_id: value for (student_id, _), value in extra.items()}
    refused = {}
    for user_id in ids:
        if not is_valid_opaque_id(user_id):
            refused[user_id] = REASON_BAD_ID
        elif user_id not in found:
            refused[user_id] = REASON_STUDENT_UNKNOWN
        elif extra.get(user_id, 0) < attempts:
            refused[user_id] = REASON_TOO_FEW_EXTRA.format(extra=extra.get(user_id, 0), requested=attempts)
    if refused:
        raise BulkRevokeRefused(refused, _first_index(user_ids))
    return _bulk_write(ids=ids, case_study=case_study, delta=-attempts, reason=reason, actor=actor)
