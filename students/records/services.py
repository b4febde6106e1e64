"""Writes of student records (SPEC §7.5): create, update (one student, or many at once:
students_upsert_many, which the student import calls), soft delete, archive, avatar.

Every write bumps `updated_at` (so `modified_since` sync sees it) and keeps the
maintained `programme_label` right in the same transaction.
"""
import hashlib
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from accounts.audit.services import audit_record, audit_record_changes_many, audit_snapshot
from accounts.models import StaffUser
from catalogue.models import Programme
from catalogue.programmes.selectors import unknown_programmes_message
from config.bulk import MAX_BULK_IDS
from config.bulk_copy import copy_rows
from config.collector import collection_paused
from config.errors import ALREADY_ERASED, LEGAL_HOLD, AppError, BulkRefused
from config.ids import check_id, is_valid_opaque_id, new_object_id
from students.maintained import maintained_columns_sql, programmes_lock_for_counting
from students.models import ArchivedMembership, Cohort, Enrolment, GroupMembership, Student
from students.records.selectors import student_record_get

MSG_ARCHIVE_EXACTLY_ONE = "Give exactly one of withdrawn_on or graduated_on."
MSG_EMAIL_TAKEN = "Another student already uses this email address."
MSG_STUDENT_NUMBER_TAKEN = "Another student already has this student number."
MSG_USER_ID_TAKEN = "A student with this user_id already exists (or existed and was deleted)."
# Of many students at once (students_upsert_many), a row naming the file's earlier row `row`.
MSG_DUPLICATE_IN_FILE = "Row {row} of the file already has this value."
MSG_SAME_STUDENT_TWICE = "Row {row} of the file already changes this student."
MSG_UPSERT_REFUSED = "Nothing was written: {count:,} row{s} cannot be; see errors for each row."
MSG_BULK_IDS = f"Give 1 to {MAX_BULK_IDS} user ids."
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
# An avatar request may carry at most this much (the image plus multipart framing); anything
# bigger is refused before the body is read.
AVATAR_REQUEST_MAX_BYTES = AVATAR_MAX_BYTES + 64 * 1024
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
    "archived", "enrollment_status", "withdrawn_on", "graduated_on", "avatar", "legal_hold", "updated_at",
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


AUDITED_FIELDS = (
    "first_name", "last_name", "email", "status", "student_number", "cohort", "advisor",
    "archived", "enrollment_status", "withdrawn_on", "graduated_on", "avatar", "legal_hold",
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


# Creating and updating, one student or many -----------------------------------------------
#
# student_create, student_update and students_upsert_many go through the same steps: each
# rule below is checked once, for all their rows at once (a query per kind of thing read, not
# per row), and the same statements write them.

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
ACTIONS = (CREATED, UPDATED, UNCHANGED, REJECTED)
ROW_FIELD = "__row__"  # an error about the row as a whole

CHUNK = 5_000  # keys per lookup query, rows per write statement

# The record fields these services write, as the audit trail names them (a foreign key by its field).
AUDIT_NAMES = {
    "first_name": "first_name", "last_name": "last_name", "email": "email", "status": "status",
    "student_number": "student_number", "cohort_id": "cohort", "advisor_id": "advisor", "legal_hold": "legal_hold",
}
# Refused with a 409 by the single-record services (a value another student has); the rest with a 400.
_CONFLICT_FIELDS = ("user_id", "email", "student_number")
_CREATE_REFUSALS = ("programme_codes", "cohort_id", "advisor_id", "user_id", "email", "student_number")

# How a row finds its student: an upsert matches one (or creates one), a create never matches,
# an update is given its student.
_UPSERT, _CREATE, _UPDATE = "upsert", "create", "update"


@dataclass(slots=True)
class StudentUpsert:
    """One student for students_upsert_many (or student_create, student_update), and once
    planned, what becomes of it.

    Given: `number`, the row's number in the caller's file (a refusal names an earlier row by
    it); `values`, the fields the row gives, as the records serializers validate them (a field
    left out keeps its value, or takes its default in a new student), or None when the caller
    refused the row's shape, and then `references` holds those of its programme_codes, cohort_id
    and advisor_id that are well formed, checked too, so that the row's refusal names every
    problem at once; `errors`, what the caller refused already ({field: [messages]}); `detail`,
    the audit event's detail.

    A row that creates a student gives first_name, last_name and email, as a create body does.

    Planned: `action` (CREATED, UPDATED, UNCHANGED or REJECTED), `user_id` (the student
    matched, the row's own, or once written the new student's) and `errors` (ROW_FIELD for the
    row as a whole)."""

    number: int
    values: dict[str, Any] | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    references: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] | None = None
    action: str = REJECTED
    user_id: str | None = None
    # What planning finds and writing uses.
    # Sets no row changes, shared between rows (a 50,000-row import holds fewer objects).
    programme_ids: frozenset[int] | None = None  # the programmes wanted, when the row names them (and they change)
    current: dict[str, Any] | None = None  # the matched student, as read
    new: dict[str, Any] | None = None  # the record fields the student gets
    programmes_before: frozenset[int] = frozenset()
    before: dict[str, Any] | None = None  # audit snapshots
    after: dict[str, Any] | None = None


def upsert_refusal_errors(rows):
    """The refused rows' errors, named `rows[<number>].<field>` (`rows[<number>]` alone for the
    row as a whole)."""
    errors = {}
    for row in rows:
        if row.action != REJECTED:
            continue
        for name, msgs in row.errors.items():
            errors[f"rows[{row.number}]" + ("" if name == ROW_FIELD else f".{name}")] = list(msgs)
    return errors


class StudentsUpsertRefused(AppError):
    """students_upsert_many wrote nothing because rows are refused; `rows` is every row, planned."""

    def __init__(self, rows):
        self.rows = rows
        count = sum(1 for row in rows if row.action == REJECTED)
        message = MSG_UPSERT_REFUSED.format(count=count, s="" if count == 1 else "s")
        super().__init__(message, errors=upsert_refusal_errors(rows))


def _chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _refuse(row, name, message):
    row.errors.setdefault(name, []).append(message)


def _refuse_first(row, fields):
    """The row's first refusal among `fields`, in their order, as the single-record services
    answer it: a 409 for a value another student has, else a 400."""
    for name in fields:
        if name in row.errors:
            message = row.errors[name][0]
            if name in _CONFLICT_FIELDS:
                raise AppError.conflict(message, errors={name: [message]})
            raise AppError.validation({name: message})


def _check_references(rows):
    """The programmes, cohorts and advisors the rows name exist (of refused rows too); each
    accepted row's programme ids. Returns {id: code} of the programmes named. Queries: one per
    kind named."""
    named = [(row, row.values if row.values is not None else row.references) for row in rows]
    codes = {code for _, values in named for code in values.get("programme_codes") or ()}
    programmes = dict(Programme.objects.filter(code__in=codes).values_list("code", "id")) if codes else {}
    cohort_ids = {values["cohort_id"] for _, values in named if values.get("cohort_id")}
    cohorts = set(Cohort.objects.filter(pk__in=cohort_ids).values_list("pk", flat=True)) if cohort_ids else set()
    advisor_ids = {values["advisor_id"] for _, values in named if values.get("advisor_id")}
    advisors = set(StaffUser.objects.filter(pk__in=advisor_ids).values_list("pk", flat=True)) if advisor_ids else set()
    # What each list of codes comes to, once per distinct list: (codes missing, programme ids).
    given_codes = [tuple(values.get("programme_codes") or ()) for _, values in named]
    lists: dict[tuple[str, ...], tuple[list[str], frozenset[int]]] = {}
    for given in set(given_codes):
        missing = [code for code in dict.fromkeys(given) if code not in programmes]
        lists[given] = (missing, frozenset() if missing else frozenset(programmes[c] for c in given))
    # A kind at a time (a row's refusals in the same order): the cohorts and advisors only when
    # one named is unknown.
    for (row, values), given in zip(named, given_codes, strict=True):
        missing, ids = lists[given]
        if missing:
            _refuse(row, "programme_codes", unknown_programmes_message(missing))
        elif row.values is not None and "programme_codes" in values:
            row.programme_ids = ids
    kinds = (("cohort_id", cohort_ids, cohorts, MSG_UNKNOWN_COHORT), ("advisor_id", advisor_ids, advisors, MSG_UNKNOWN_ADVISOR))
    for name, named_ids, known, message in kinds:
        if named_ids <= known:
            continue
        for row, values in named:
            if values.get(name) and values[name] not in known:
                _refuse(row, name, message)
    return {pk: code for code, pk in programmes.items()}


def _key_columns(given):
    """The keys of the rows' values (`given`, dicts), a column per kind: the user_id, the student
    number, the email lower-cased; None where a row gives none."""
    return {
        "user_id": [values.get("user_id") for values in given],
        "student_number": [values.get("student_number") for values in given],
        "email": [email.lower() if (email := values.get("email")) else None for values in given],
    }


def _keys(values):
    """One row's keys, by the rule of _key_columns."""
    return {kind: column[0] for kind, column in _key_columns([values]).items()}


def _check_repeats(rows):
    """A key given twice: the later rows are refused, naming the first. A key at a time; a
    column without a repeat (the usual case) is passed over at once."""
    given = [row for row in rows if row.values is not None]
    for name, column in _key_columns([row.values for row in given]).items():
        present = [value for value in column if value is not None]
        if len(set(present)) == len(present):
            continue
        seen: dict[str, int] = {}
        for row, value in zip(given, column, strict=True):
            if value is None:
                continue
            first = seen.setdefault(value, row.number)
            if first != row.number:
                _refuse(row, name, MSG_DUPLICATE_IN_FILE.format(row=first))


def _lock_counts(rows):
    """Before the students' rows are locked and the case studies read for their counts
    (students.maintained)."""
    programmes_lock_for_counting(p for row in rows if row.programme_ids for p in row.programme_ids)


class _Found(NamedTuple):
    by_pk: dict[str, dict[str, Any]]  # deleted students too
    by_number: dict[str, dict[str, Any]]
    by_email: dict[str, dict[str, Any]]  # by the email in lower case


_READ = (
    "user_id", "first_name", "last_name", "email", "status", "student_number", "cohort_id", "advisor_id", "legal_hold",
    "deleted_at",
)


# The keys come as one text[] literal, read by a subquery: as a constant (or a parameter the
# planner sees), PostgreSQL would estimate the selectivity of each of 50,000 keys while planning
# (measured: 0.2-0.9 s, more than the index probes take); behind the subquery it plans for a
# few and probes the unique index for each all the same.
_KEYS = "ANY(ARRAY(SELECT unnest(%s::text[])))"
_BY_KEY_SQL = {
    "user_id": f"user_id = {_KEYS}",  # deleted students too
    "student_number": f"student_number = {_KEYS} AND deleted_at IS NULL",
    "email": f"lower(email) = {_KEYS} AND deleted_at IS NULL",  # the unique index on lower(email)
}


def _text_array(values):
    """A text[] literal of `values` (strings), PostgreSQL's array syntax written in one pass:
    psycopg adapts a list item by item in Python (a quarter of a second per 50,000 keys)."""
    values = list(values)
    joined = '","'.join(values)
    if '"' in joined or "\\" in joined:
        joined = '","'.join([v.replace("\\", "\\\\").replace('"', '\\"') for v in values])
    return '{"' + joined + '"}' if values else "{}"


def _existing(rows, *, lock):
    """The students the rows name by their keys, as dicts of their fields; deleted students only
    by user_id. Queries: one per key kind given, each taking all its keys as one array (a lock
    in the same statement when `lock`)."""
    given = [row.values for row in rows if row.values is not None]
    keys = {kind: {key for key in column if key} for kind, column in _key_columns(given).items()}
    students: dict[str, dict[str, Any]] = {}
    found = _Found({}, {}, {})
    by_kind = {"user_id": found.by_pk, "student_number": found.by_number, "email": found.by_email}
    columns = ", ".join(_READ)
    with connection.cursor() as cursor:
        for kind, wanted in keys.items():
            if not wanted:
                continue
            cursor.execute(
                f"SELECT {columns} FROM {Student._meta.db_table} WHERE {_BY_KEY_SQL[kind]} ORDER BY user_id"
                + (" FOR UPDATE" if lock else ""),
                [_text_array(wanted)],
            )
            for values in cursor.fetchall():
                student = students.setdefault(values[0], dict(zip(_READ, values, strict=True)))
                key = student["email"].lower() if kind == "email" else student[kind]
                by_kind[kind][key] = student
    return found


def _check_unique(row, keys, target_id, found):
    """The row's student number and email belong to no live student other than its own (the
    unique constraints catch what a race brings past this: see _atomic_with_conflicts)."""
    other = found.by_number.get(keys["student_number"])
    if keys["student_number"] and other is not None and other["user_id"] != target_id:
        _refuse(row, "student_number", MSG_STUDENT_NUMBER_TAKEN)
    other = found.by_email.get(keys["email"])
    if other is not None and other["user_id"] != target_id:
        _refuse(row, "email", MSG_EMAIL_TAKEN)


def _match(rows, found, *, mode):
    """Each accepted row's student (None: a new one): by user_id, else (an upsert) by student
    number, else by email. Refuses a user_id a student has or had (one a live student has is
    that student's, in an upsert), a student number or email of another student, and a student
    an earlier row has. When no key names a student (a file of new students), every accepted
    row is a new one, with its own user_id if it gives one."""
    if not (found.by_pk or found.by_number or found.by_email):
        for row in rows:
            if row.values is not None and not row.errors:
                row.user_id = row.values.get("user_id")
        return
    claimed: dict[str, int] = {}
    for row in rows:
        if row.values is None or row.errors:
            continue
        keys = _keys(row.values)
        target = None
        if keys["user_id"]:
            target = found.by_pk.get(keys["user_id"])
            if target is not None and (mode == _CREATE or target["deleted_at"] is not None):
                _refuse(row, "user_id", MSG_USER_ID_TAKEN)
                continue
        elif mode == _UPSERT:
            target = found.by_number.get(keys["student_number"]) or found.by_email.get(keys["email"])
        target_id = target["user_id"] if target else None
        _check_unique(row, keys, target_id, found)
        if target_id is not None:
            first = claimed.setdefault(target_id, row.number)
            if first != row.number:
                _refuse(row, ROW_FIELD, MSG_SAME_STUDENT_TWICE.format(row=first))
        if not row.errors:
            row.current = target
            row.user_id = target_id or keys["user_id"]


_PROGRAMMES_OF_SQL = f"""
SELECT e.student_id, e.programme_id, p.code
FROM {Enrolment._meta.db_table} AS e JOIN {Programme._meta.db_table} AS p ON p.id = e.programme_id
WHERE e.student_id = ANY(%s)"""


def _programmes_of(student_ids):
    """{user_id: {programme id: code}} of these students. Queries: one."""
    current: dict[str, dict[int, str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_PROGRAMMES_OF_SQL, [list(student_ids)])
        for student_id, programme_id, code in cursor.fetchall():
            current.setdefault(student_id, {})[programme_id] = code
    return current


def _decide(rows, code_of, *, touch=False, dry_run=False):
    """What each row does, with its audit snapshots. With `touch`, a row changing nothing is an
    update all the same (the records API's PATCH always bumps updated_at, and is audited). With
    `dry_run`, a new student's record and snapshot, which only the write reads, are not built."""
    moving = [row.current["user_id"] for row in rows if row.current and row.programme_ids is not None and not row.errors]
    current_programmes = _programmes_of(moving) if moving else {}
    for programmes in current_programmes.values():
        code_of.update(programmes)
    codes: dict[frozenset[int], list[str]] = {}  # the codes of each set of programmes, in order

    def codes_of(ids):
        key = frozenset(ids)
        if key not in codes:
            codes[key] = sorted(code_of[p] for p in key)
        return list(codes[key])

    for row in rows:
        if row.values is None or row.errors:
            row.action = REJECTED
            row.user_id = (row.values or {}).get("user_id")
            continue
        values = row.values
        if row.current is None:
            row.action = CREATED
            row.programme_ids = row.programme_ids or frozenset()
            if dry_run:
                continue
            wanted = {name: values[name] for name in AUDIT_NAMES if name in values}
            row.new = {**wanted, "status": values.get("status", Student.Status.ACTIVE)}
            row.after = {AUDIT_NAMES[name]: value for name, value in row.new.items()}
            row.after.update(
                archived=False, enrollment_status=Student.EnrollmentStatus.ENROLLED,
                programmes=codes_of(row.programme_ids),
            )
            continue
        current = row.current
        wanted = {name: values[name] for name in AUDIT_NAMES if name in values}
        changed = {name: value for name, value in wanted.items() if value != current[name]}
        before = {AUDIT_NAMES[name]: current[name] for name in changed}
        after = {AUDIT_NAMES[name]: value for name, value in changed.items()}
        had = current_programmes.get(current["user_id"], {})
        if row.programme_ids is not None and row.programme_ids != set(had):
            before["programmes"] = sorted(had.values())
            after["programmes"] = codes_of(row.programme_ids)
        else:
            row.programme_ids = None  # nothing to change
        if not after and not touch:
            row.action = UNCHANGED
            continue
        row.action = UPDATED
        row.new = {**{name: current[name] for name in AUDIT_NAMES}, **changed}
        row.before, row.after = before, after
        row.programmes_before = frozenset(had)


def _plan(rows, *, mode, lock, dry_run=False):
    """Check every rule for `rows` and decide what each does (nothing written). With `lock`, the
    students the rows name stay locked for the rest of the transaction; with `dry_run`, what
    only the write reads is not built (_decide)."""
    code_of = _check_references(rows)
    _check_repeats(rows)
    if lock:
        _lock_counts(rows)
    found = _existing(rows, lock=lock)
    _match(rows, found, mode=mode)
    _decide(rows, code_of, dry_run=dry_run)


# Writing: the enrolments first, since each student's row is written once, with its maintained
# columns computed from them in the same statement (students.maintained's rule); an
# enrolment's foreign key to a new student is checked at commit (Django's are deferred).
#
# The students' rows come from one of two sources, `v`, of the same columns: arrays unnested
# (a few rows: the records API, a small import), or a temporary staging table filled by COPY
# (STAGED_FROM rows or more: one INSERT of every new student and one UPDATE of every changed
# one, instead of a statement per CHUNK rows with its arrays built and parsed).
_VALUE_COLUMNS = (
    ("user_id", "text"), ("first_name", "text"), ("last_name", "text"), ("email", "text"), ("status", "text"),
    ("student_number", "text"), ("cohort_id", "text"), ("advisor_id", "bigint"), ("legal_hold", "boolean"),
)
_VALUE_FIELDS = tuple(name for name, _ in _VALUE_COLUMNS[1:])
_UNNESTED = (
    "unnest(" + ", ".join(f"%s::{kind}[]" for _, kind in _VALUE_COLUMNS) + ") AS v("
    + ", ".join(name for name, _ in _VALUE_COLUMNS) + ")"
)
STAGED_FROM = 5_000
_STAGING = "students_upsert_staging"
_STAGING_SQL = (
    f"DROP TABLE IF EXISTS pg_temp.{_STAGING}",  # one import before in this transaction
    f"CREATE TEMP TABLE {_STAGING} (" + ", ".join(f"{n} {k}" for n, k in _VALUE_COLUMNS)
    + ", created boolean NOT NULL) ON COMMIT DROP",
)
_STAGED = f"{_STAGING} AS v"
_MAINTAINED_JOINS, _MAINTAINED = maintained_columns_sql("v.user_id")
_INSERT = f"""
INSERT INTO students_student (
    user_id, first_name, last_name, email, status, student_number, cohort_id, advisor_id,
    enrollment_status, archived, avatar, created_at, updated_at, {", ".join(_MAINTAINED)}
)
SELECT v.user_id, v.first_name, v.last_name, v.email, v.status, v.student_number, v.cohort_id, v.advisor_id,
       %s, FALSE, '', %s, %s, {", ".join(_MAINTAINED.values())}
FROM <source>{_MAINTAINED_JOINS}"""
_UPDATE = f"""
UPDATE students_student AS s
SET first_name = v.first_name, last_name = v.last_name, email = v.email, status = v.status,
    student_number = v.student_number, cohort_id = v.cohort_id, advisor_id = v.advisor_id, legal_hold = v.legal_hold,
    updated_at = %s, {", ".join(f"{column} = {value}" for column, value in _MAINTAINED.items())}
FROM <source>{_MAINTAINED_JOINS}WHERE s.user_id = v.user_id"""
_INSERT_SQL = _INSERT.replace("<source>", _UNNESTED)
_UPDATE_SQL = _UPDATE.replace("<source>", _UNNESTED)
_INSERT_STAGED_SQL = _INSERT.replace("<source>", _STAGED) + "WHERE v.created"
_UPDATE_STAGED_SQL = _UPDATE.replace("<source>", _STAGED) + " AND NOT v.created"
_UNENROL_SQL = """
DELETE FROM students_enrolment AS e
USING unnest(%s::text[], %s::bigint[]) AS gone(student_id, programme_id)
WHERE e.student_id = gone.student_id AND e.programme_id = gone.programme_id
"""
# Of the writing's time, about this much goes to the students' rows (the rest: enrolments,
# audit events); measured with bench/student_import.py.
_ROWS_SHARE = 0.85


def _no_progress(fraction):
    pass


def _columns(rows):
    """The rows' record fields, one list per column of _UNNESTED."""
    return [[row.user_id for row in rows], *([row.new.get(name) for row in rows] for name in _VALUE_FIELDS)]


def _write_students(created, updated, *, now, progress):
    """The students' rows, each with its maintained columns: unnested arrays, one INSERT or
    UPDATE per CHUNK rows; from STAGED_FROM rows on, COPY into the staging table, then one
    INSERT and one UPDATE. `progress(fraction of the rows)`."""
    insert = [Student.EnrollmentStatus.ENROLLED, now, now]
    with connection.cursor() as cursor:
        if len(created) + len(updated) < STAGED_FROM:
            total, done = max(1, len(created) + len(updated)), 0
            for sql, params, group in ((_INSERT_SQL, insert, created), (_UPDATE_SQL, [now], updated)):
                for chunk in _chunks(group):
                    cursor.execute(sql, [*params, *_columns(chunk)])
                    done += len(chunk)
                    progress(done / total)
            return
        for sql in _STAGING_SQL:
            cursor.execute(sql)
        with cursor.cursor.copy(f"COPY {_STAGING} FROM STDIN") as copy:
            for created_now, group in ((True, created), (False, updated)):
                for row in group:
                    copy.write_row((row.user_id, *(row.new.get(name) for name in _VALUE_FIELDS), created_now))
        cursor.execute(f"ANALYZE {_STAGING}")
        progress(0.1)
        if created:
            cursor.execute(_INSERT_STAGED_SQL, insert)
        progress(0.1 + 0.9 * len(created) / (len(created) + len(updated)))
        if updated:
            cursor.execute(_UPDATE_STAGED_SQL, [now])
        progress(1.0)


def _write(rows, *, progress=None):
    """Write the planned rows: the enrolments that end (one DELETE) and begin (COPY), then
    the students' rows (_write_students), then one audit event each (COPY). `progress(fraction)`
    is told how far it is."""
    progress = progress or _no_progress
    now = timezone.now()
    today = timezone.localdate()
    created = [row for row in rows if row.action == CREATED]
    updated = [row for row in rows if row.action == UPDATED]
    for row in created:
        row.user_id = row.user_id or new_object_id()
    progress(0.0)
    gone = [(row.user_id, p) for row in updated if row.programme_ids is not None for p in row.programmes_before - row.programme_ids]
    with connection.cursor() as cursor:
        # The students' statements look up a few rows per student; their estimated cost would
        # have PostgreSQL compile each one (JIT) for longer than it runs (measured: over a second
        # per 5,000 students, whose lookups take a fifth of that). Until the transaction ends.
        cursor.execute("SET LOCAL jit = off")
        if gone:
            cursor.execute(_UNENROL_SQL, [[s for s, _ in gone], [p for _, p in gone]])
    enrolments = [
        (row.user_id, p, today)
        for row in created + updated
        if row.programme_ids
        for p in sorted(row.programme_ids - row.programmes_before)
    ]
    if enrolments:
        copy_rows(Enrolment, ("student_id", "programme_id", "enrolled_on"), enrolments)
    start = (1 - _ROWS_SHARE) / 2
    progress(start)
    _write_students(created, updated, now=now, progress=lambda fraction: progress(start + _ROWS_SHARE * fraction))
    audit_record_changes_many(
        action="student.create", target_type="student",
        items=((row.user_id, None, row.after, row.detail) for row in created),
    )
    audit_record_changes_many(
        action="student.update", target_type="student",
        items=((row.user_id, row.before, row.after, row.detail) for row in updated),
    )
    progress(1.0)


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
    values = {
        "first_name": first_name, "last_name": last_name, "email": email, "status": status,
        "programme_codes": programme_codes, "student_number": student_number, "cohort_id": cohort_id,
        "advisor_id": advisor_id,
    }
    if user_id is not None:
        values["user_id"] = user_id
    row = StudentUpsert(number=1, values=values)
    with _atomic_with_conflicts():
        _plan([row], mode=_CREATE, lock=True)
        _refuse_first(row, _CREATE_REFUSALS)
        _write([row])
    return student_record_get(user_id=row.user_id)


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
    legal_hold=UNSET,
):
    """Partial update: only the arguments given change. Always bumps updated_at. Only staff who
    manage data rights may give `legal_hold` (the callers check it)."""
    given = {
        "first_name": first_name, "last_name": last_name, "email": email, "status": status,
        "programme_codes": programme_codes, "student_number": student_number, "cohort_id": cohort_id,
        "advisor_id": advisor_id, "legal_hold": legal_hold,
    }
    values = {name: value for name, value in given.items() if value is not UNSET}
    row = StudentUpsert(number=1, values=values)
    with _atomic_with_conflicts():
        code_of = _check_references([row])
        _refuse_first(row, ("programme_codes",))
        check_id(user_id, field="user_id")
        # Before the row's lock, as a recount holding these takes row locks (students.maintained).
        _lock_counts([row])
        values["user_id"] = user_id
        found = _existing([row], lock=True)
        student = found.by_pk.get(user_id)
        if student is None or student["deleted_at"] is not None:
            raise AppError.not_found()
        _check_unique(row, _keys(values), user_id, found)
        _refuse_first(row, ("email", "student_number", "cohort_id", "advisor_id"))
        row.current, row.user_id = student, user_id
        _decide([row], code_of, touch=True)
        _write([row])
    return student_record_get(user_id=user_id)


def students_upsert_many(*, rows, dry_run=False, progress=None):
    """Create and update many students (the student import) in one transaction, all or
    nothing, by the rules of student_create and student_update, and with their audit events
    (each event's detail is its row's `detail`). `rows`: StudentUpsert, each given its number,
    values (or the caller's refusals); returns them planned: what each does, or why it cannot.

    A row is matched by its user_id when it gives one (a user_id that names nobody creates the
    student with it; one of a deleted student is refused, as student_create refuses it);
    otherwise by its student number, then by its email (case-insensitive); unmatched, it creates
    a student. A row is refused when it names a programme, cohort or advisor that does not
    exist, gives a student number or email another student has, or repeats a key (user_id,
    student number, email) or a student of an earlier row. A field a row leaves out keeps its
    value; a row changing nothing is UNCHANGED, not written.

    With `dry_run` nothing is locked or written. Otherwise, when any row is refused,
    StudentsUpsertRefused and nothing written; a uniqueness race lost to another writer is a
    409, also with nothing written. `progress(fraction)`, when given, follows the writing.

    Queries do not grow with the rows: the references one query a kind; the students by their
    keys one query a kind of key, and their programmes one; writes one statement (or COPY) per
    CHUNK rows, audit events included, or from STAGED_FROM rows on a COPY into the staging table
    and one INSERT and one UPDATE from it."""
    rows = list(rows)
    if dry_run:
        with collection_paused():
            _plan(rows, mode=_UPSERT, lock=False, dry_run=True)
        return rows
    with _atomic_with_conflicts():
        with collection_paused():
            _plan(rows, mode=_UPSERT, lock=True)
        if any(row.action == REJECTED for row in rows):
            raise StudentsUpsertRefused(rows)
        _write(rows, progress=progress)
    return rows


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


def avatar_request_size_check(length):
    """Refuse an avatar request whose declared length (config.http.declared_length) is past
    AVATAR_REQUEST_MAX_BYTES, before its body is read."""
    if length > AVATAR_REQUEST_MAX_BYTES:
        raise AppError.validation({"avatar": MSG_AVATAR_TOO_LARGE})


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
    if not isinstance(user_ids, (list, tuple)) or not 0 < len(user_ids) <= MAX_BULK_IDS:
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
        first_index: dict[str, int] = {}
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


# Erasure of a student's personal data (attempts.data_rights calls this with the rest) --------

ERASED_FIRST_NAME = "Erased student"
ERASED_EMAIL_DOMAIN = "erased.invalid"  # .invalid is reserved (RFC 2606): no mail can go there
# The record's personal fields: replaced by the pseudonym, or emptied.
ERASED_FIELDS = ("first_name", "last_name", "email", "student_number", "avatar")
MSG_LEGAL_HOLD = "This student's data is under a legal hold, so it cannot be erased; lift the hold first."
MSG_ALREADY_ERASED = "This student's personal data has already been erased."


def erased_pseudonym(user_id):
    """The record's fields after erasure: the same for the same student, a different email for
    every student (80 bits of a hash of the id), so the unique email rule holds."""
    digest = hashlib.sha256(str(user_id).encode()).hexdigest()
    return {
        "first_name": ERASED_FIRST_NAME,
        "last_name": digest[:8],
        "email": f"erased-{digest[:20]}@{ERASED_EMAIL_DOMAIN}",
        "student_number": None,
        "avatar": None,
    }


def student_record_erase(*, user_id):
    """Replace the student's personal fields by their pseudonym and delete their photo (after
    the commit), marking the record erased; everything else (status, enrolment, programmes,
    cohort, advisor, groups) is kept, so every figure counting the student stays the same.
    Refused while the student is under a legal hold (409 LEGAL_HOLD) or already erased (409
    ALREADY_ERASED). A deleted student is erased too: their record is still held. In the caller's transaction, which must be atomic; the student stays
    locked until it ends. Returns the record as erased, ready to show."""
    student = student_record_get(user_id=user_id, for_update=True, deleted_too=True)
    if student.legal_hold:
        raise AppError(MSG_LEGAL_HOLD, code=LEGAL_HOLD, status_code=409)
    if student.erased_at is not None:
        raise AppError(MSG_ALREADY_ERASED, code=ALREADY_ERASED, status_code=409)
    old_avatar = student.avatar.name
    pseudonym = erased_pseudonym(student.pk)
    student.first_name, student.last_name = pseudonym["first_name"], pseudonym["last_name"]
    student.email, student.student_number = pseudonym["email"], None
    student.avatar = ""
    student.erased_at = timezone.now()
    student.save(update_fields=[*RECORD_FIELDS, "erased_at"])
    _delete_file_after_commit(student.avatar.storage, old_avatar)
    return _shown(student)
