"""Importing a file of student records (students.imports.parsing reads it): every row checked
by the records API's own field rules (StudentCreateSerializer) and its uniqueness rules, then,
unless it is a dry run, the whole file applied in one transaction, or nothing.

Matching a row to an existing student: by `user_id` when the row gives one (a user_id that
names nobody creates the student with it; one of a deleted student is refused, as the API
refuses it); otherwise by `student_number`, then by `email` (case-insensitive). A row whose
student number or email belongs to a student other than the one it matched is refused, and so
is a row repeating a key (user_id, student number, email) or a student an earlier row of the
file already has. A column left out of the file leaves that field as it is; a column given
with an empty cell clears it (student_number, cohort_id, advisor_id, programme_codes) or, for
status, leaves it (active for a new student).

The cost does not grow in queries with the rows: the existing students are read by their keys
in chunks, references (programmes, cohorts, advisors) once, and writes are bulk statements,
each audited student included.
"""
import contextlib
import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.audit.services import audit_record_changes_many
from accounts.models import StaffUser
from catalogue.models import CaseStudy, Programme
from catalogue.programmes.selectors import MSG_UNKNOWN_PROGRAMMES
from config.bulk_copy import copy_rows
from config.errors import AppError, field_errors
from config.ids import new_object_id
from students.imports import parsing
from students.maintained import programmes_lock_for_counting
from students.models import Cohort, Enrolment, Student
from students.records.serializers import StudentCreateSerializer
from students.records.services import (
    MSG_EMAIL_TAKEN,
    MSG_STUDENT_NUMBER_TAKEN,
    MSG_UNKNOWN_ADVISOR,
    MSG_UNKNOWN_COHORT,
    MSG_USER_ID_TAKEN,
    _atomic_with_conflicts,
)

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
ACTIONS = (CREATED, UPDATED, UNCHANGED, REJECTED)

MSG_DUPLICATE_IN_FILE = "Row {row} of the file already has this value."
MSG_SAME_STUDENT_TWICE = "Row {row} of the file already changes this student."
MSG_NOTHING_IMPORTED = (
    "Nothing was imported: {count:,} row{s} cannot be; see errors for each row (a dry run gives the whole report)."
)
ROW_FIELD = "__row__"  # an error about the row as a whole

CHUNK = 5_000  # keys per lookup query, rows per write statement
PROGRESS_ROWS = 2_000
PROGRESS_CHECKING = "checking"
PROGRESS_WRITING = "writing"
# Of an apply's time, about this much goes to checking the rows (measured: bench/student_import.py).
CHECKING_SHARE = 0.4
NULLABLE = ("student_number", "cohort_id", "advisor_id")
NUMBER_COLUMNS = ("advisor_id",)
# The record fields an import writes, as the audit trail names them (a foreign key by its field).
AUDIT_NAMES = {
    "first_name": "first_name", "last_name": "last_name", "email": "email", "status": "status",
    "student_number": "student_number", "cohort_id": "cohort", "advisor_id": "advisor",
}
_CODES = re.compile(r"[\s,;]+")


@dataclass
class RowOutcome:
    number: int
    action: str = REJECTED
    user_id: str | None = None
    errors: dict = field(default_factory=dict)
    values: dict | None = None  # the row's fields as the records API validated them
    current: dict | None = None  # the matched student, as read
    new: dict | None = None  # what the student becomes
    programme_ids: set | None = None  # the programmes wanted, when the file gives them
    given: set = field(default_factory=set)  # the fields the row's cells give
    references: dict = field(default_factory=dict)  # of a row failing on other fields
    programmes_before: set = field(default_factory=set)
    before: dict | None = None  # audit snapshots
    after: dict | None = None


@dataclass
class ImportReport:
    file_format: str
    dry_run: bool
    rows: list
    applied: bool = False

    @property
    def counts(self):
        counts = dict.fromkeys(ACTIONS, 0)
        for row in self.rows:
            counts[row.action] += 1
        return counts

    def as_data(self):
        """The report as the API answers it (plain values: a 50,000-row report is built in
        well under a second, where a serializer per row would take several)."""
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            "file_format": self.file_format,
            "counts": self.counts,
            "rows": [
                {"row": r.number, "action": r.action, "user_id": r.user_id, "errors": _errors_shown(r.errors) or None}
                for r in self.rows
            ],
        }


def _errors_shown(errors):
    return {("row" if name == ROW_FIELD else name): list(msgs) for name, msgs in errors.items()}


class ImportRefused(AppError):
    """An apply that changed nothing because rows are rejected: `errors` names each as
    `rows[<row number>].<field>` (`rows[<n>]` alone for the row as a whole); `report` is the
    whole report."""

    def __init__(self, report):
        self.report = report
        errors = {}
        rejected = [r for r in report.rows if r.action == REJECTED]
        for row in rejected:
            for name, msgs in row.errors.items():
                errors[f"rows[{row.number}]" + ("" if name == ROW_FIELD else f".{name}")] = list(msgs)
        count = len(rejected)
        super().__init__(MSG_NOTHING_IMPORTED.format(count=count, s="" if count == 1 else "s"), errors=errors)


def students_import_check(*, data):
    """The file read into header and rows, or a 400 naming `file`."""
    try:
        return parsing.read_students_file(data)
    except parsing.FileRefused as exc:
        raise AppError.validation({"file": exc.message}) from None


def _no_progress(fraction, step):
    pass


def students_import(*, data, dry_run=True, progress=None):
    """The report of importing the file `data` (bytes): what each row creates, updates,
    leaves unchanged or why it is rejected. With dry_run=False the file is applied, all or
    nothing: ImportRefused (400, nothing written) when any row is rejected; a uniqueness race
    lost to another writer is a 409, also with nothing written.

    `progress(fraction, step)`, when given, is told how far the work is (0 to 1) and which
    step it is in (PROGRESS_CHECKING, PROGRESS_WRITING), every PROGRESS_ROWS rows or so."""
    progress = progress or _no_progress
    parsed = students_import_check(data=data)
    if dry_run:
        return _plan(parsed, lock=False, dry_run=True, progress=progress, share=1.0)
    with _atomic_with_conflicts():
        report = _plan(parsed, lock=True, dry_run=False, progress=progress, share=CHECKING_SHARE)
        if report.counts[REJECTED]:
            raise ImportRefused(report)
        _apply(report, progress=progress)
        report.applied = True
    return report


# Planning -------------------------------------------------------------------------------


def _chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _row_input(row, columns):
    """The row's cells as a records API create body: a number column's cell written in digits
    is the JSON number a body would carry (anything else stays text, which the field refuses)."""
    given = {}
    for name in columns:
        if name in row.problems:
            continue
        value = row.cells[name]
        if name == "programme_codes":
            given[name] = [code for code in _CODES.split(value) if code] if value else []
        elif name in NUMBER_COLUMNS and value is not None and value.strip().isascii() and value.strip().isdigit():
            given[name] = int(value)
        elif value is not None:
            given[name] = value
        elif name in NULLABLE:
            given[name] = None
    given.setdefault("programme_codes", [])
    return given


def _validate(parsed, *, progress, share):
    serializer = StudentCreateSerializer()
    outcomes = []
    total = len(parsed.rows)
    for index, row in enumerate(parsed.rows):
        if index % PROGRESS_ROWS == 0:
            progress(share * 0.9 * index / total, PROGRESS_CHECKING)
        outcome = RowOutcome(number=row.number)
        given = _row_input(row, parsed.columns)
        outcome.given = set(given)
        try:
            outcome.values = serializer.to_internal_value(given)
        except ValidationError as exc:
            outcome.errors.update(field_errors(exc.detail))
            outcome.references = _valid_references(serializer, given, outcome.errors)
        outcome.errors.update(row.problems)
        outcomes.append(outcome)
    return outcomes


_REFERENCES = ("programme_codes", "cohort_id", "advisor_id")


def _valid_references(serializer, given, errors):
    """The references of a row that failed on other fields, so they are checked too and the
    report names every problem of the row at once."""
    references = {}
    for name in _REFERENCES:
        if name in given and name not in errors:
            with contextlib.suppress(ValidationError):
                references[name] = serializer.fields[name].run_validation(given[name])
    return references


def _reject(outcome, name, message):
    outcome.errors.setdefault(name, []).append(message)


def _check_references(outcomes):
    """Programmes, cohorts and advisors named by the rows exist. Queries: one each."""
    valid = [o for o in outcomes if o.values is not None or o.references]
    refs = {o.number: o.values if o.values is not None else o.references for o in valid}
    codes = {c for o in valid for c in refs[o.number].get("programme_codes") or ()}
    programmes = dict(Programme.objects.filter(code__in=codes).values_list("code", "id")) if codes else {}
    cohort_ids = {refs[o.number]["cohort_id"] for o in valid if refs[o.number].get("cohort_id")}
    cohorts = set(Cohort.objects.filter(pk__in=cohort_ids).values_list("pk", flat=True)) if cohort_ids else set()
    advisor_ids = {refs[o.number]["advisor_id"] for o in valid if refs[o.number].get("advisor_id")}
    advisors = set(StaffUser.objects.filter(pk__in=advisor_ids).values_list("pk", flat=True)) if advisor_ids else set()
    for outcome in valid:
        values = refs[outcome.number]
        missing = [c for c in dict.fromkeys(values.get("programme_codes") or ()) if c not in programmes]
        if missing:
            _reject(outcome, "programme_codes", MSG_UNKNOWN_PROGRAMMES.format(codes=", ".join(missing)))
        elif outcome.values is not None:
            outcome.programme_ids = {programmes[c] for c in values["programme_codes"]}
        if values.get("cohort_id") and values["cohort_id"] not in cohorts:
            _reject(outcome, "cohort_id", MSG_UNKNOWN_COHORT)
        if values.get("advisor_id") and values["advisor_id"] not in advisors:
            _reject(outcome, "advisor_id", MSG_UNKNOWN_ADVISOR)


def _keys(values):
    return {
        "user_id": values.get("user_id"),
        "student_number": values.get("student_number"),
        "email": values["email"].lower(),
    }


def _check_repeats(outcomes):
    """A key given twice in the file: the later rows are refused, naming the first."""
    seen = {"user_id": {}, "student_number": {}, "email": {}}
    for outcome in outcomes:
        if outcome.values is None:
            continue
        for name, value in _keys(outcome.values).items():
            if value is None:
                continue
            first = seen[name].setdefault(value, outcome.number)
            if first != outcome.number:
                _reject(outcome, name, MSG_DUPLICATE_IN_FILE.format(row=first))


_READ = ("user_id", "first_name", "last_name", "email", "status", "student_number", "cohort_id", "advisor_id", "deleted_at")


def _existing(outcomes, *, lock):
    """(by user_id, by student number, by lower-case email) of the students the rows name,
    as dicts of their fields; deleted students only by user_id. Queries: one per key kind
    per CHUNK keys (a lock in the same statement when applying)."""
    valid = [o.values for o in outcomes if o.values is not None and not o.errors]
    user_ids = {v["user_id"] for v in valid if v.get("user_id")}
    numbers = {v["student_number"] for v in valid if v.get("student_number")}
    emails = {v["email"].lower() for v in valid}
    base = Student.objects.order_by("pk")
    if lock:
        base = base.select_for_update()
    students = {}

    def read(qs):
        found = []
        for row in qs.values(*_READ):
            found.append(students.setdefault(row["user_id"], row))
        return found

    by_pk, by_number, by_email = {}, {}, {}
    for chunk in _chunks(user_ids):
        by_pk.update((s["user_id"], s) for s in read(base.filter(pk__in=chunk)))
    live = base.filter(deleted_at__isnull=True)
    for chunk in _chunks(numbers):
        by_number.update((s["student_number"], s) for s in read(live.filter(student_number__in=chunk)))
    by_lower = live.annotate(email_key=Lower("email"))
    for chunk in _chunks(emails):
        by_email.update((s["email"].lower(), s) for s in read(by_lower.filter(email_key__in=chunk)))
    return by_pk, by_number, by_email


def _programmes_of(student_ids):
    """{user_id: {programme ids}} of these students. Queries: one per CHUNK students."""
    current = {}
    for chunk in _chunks(student_ids):
        for student_id, programme_id in Enrolment.objects.filter(student_id__in=chunk).values_list("student_id", "programme_id"):
            current.setdefault(student_id, set()).add(programme_id)
    return current


def _match(outcomes, by_pk, by_number, by_email):
    """Each valid row's student (or None: a new one), refusing conflicts."""
    claimed = {}
    for outcome in outcomes:
        if outcome.values is None or outcome.errors:
            continue
        keys = _keys(outcome.values)
        if keys["user_id"]:
            target = by_pk.get(keys["user_id"])
            if target is not None and target["deleted_at"] is not None:
                _reject(outcome, "user_id", MSG_USER_ID_TAKEN)
                continue
        else:
            target = by_number.get(keys["student_number"]) or by_email.get(keys["email"])
        target_id = target["user_id"] if target else None
        other = by_number.get(keys["student_number"])
        if keys["student_number"] and other is not None and other["user_id"] != target_id:
            _reject(outcome, "student_number", MSG_STUDENT_NUMBER_TAKEN)
        other = by_email.get(keys["email"])
        if other is not None and other["user_id"] != target_id:
            _reject(outcome, "email", MSG_EMAIL_TAKEN)
        if target_id is not None:
            first = claimed.setdefault(target_id, outcome.number)
            if first != outcome.number:
                _reject(outcome, ROW_FIELD, MSG_SAME_STUDENT_TWICE.format(row=first))
        if not outcome.errors:
            outcome.current = target
            outcome.user_id = target_id or keys["user_id"]


def _decide(outcomes, columns, codes_of):
    """What each accepted row does, with its audit snapshots."""
    given = set(columns)
    has_programmes = "programme_codes" in given
    current_programmes = _programmes_of([o.current["user_id"] for o in outcomes if o.current and not o.errors]) if has_programmes else {}
    for outcome in outcomes:
        if outcome.values is None or outcome.errors:
            outcome.action = REJECTED
            outcome.user_id = (outcome.values or {}).get("user_id")
            continue
        values = outcome.values
        # A column the file leaves out keeps its field; so does an empty status cell.
        wanted = {name: values.get(name) for name in AUDIT_NAMES if name in given and name in outcome.given}
        if outcome.current is None:
            outcome.action = CREATED
            outcome.new = {**wanted, "status": values.get("status", Student.Status.ACTIVE)}
            outcome.after = {AUDIT_NAMES[n]: v for n, v in outcome.new.items()}
            outcome.after.update(
                archived=False, enrollment_status=Student.EnrollmentStatus.ENROLLED,
                programmes=sorted(codes_of[p] for p in outcome.programme_ids),
            )
            continue
        current = outcome.current
        changed = {name: value for name, value in wanted.items() if value != current[name]}
        before = {AUDIT_NAMES[n]: current[n] for n in changed}
        after = {AUDIT_NAMES[n]: v for n, v in changed.items()}
        had = current_programmes.get(current["user_id"], set())
        if has_programmes and outcome.programme_ids != had:
            before["programmes"] = sorted(codes_of[p] for p in had)
            after["programmes"] = sorted(codes_of[p] for p in outcome.programme_ids)
        else:
            outcome.programme_ids = None  # nothing to change
        if not after:
            outcome.action = UNCHANGED
            continue
        outcome.action = UPDATED
        outcome.new = {**{n: current[n] for n in AUDIT_NAMES}, **changed}
        outcome.before, outcome.after = before, after
        outcome.programmes_before = had


def _plan(parsed, *, lock, dry_run, progress, share):
    outcomes = _validate(parsed, progress=progress, share=share)
    _check_references(outcomes)
    _check_repeats(outcomes)
    if lock:
        # Before the students' rows are locked and the case studies read for their counts
        # (students.maintained).
        programmes_lock_for_counting(p for o in outcomes if o.programme_ids for p in o.programme_ids)
    by_pk, by_number, by_email = _existing(outcomes, lock=lock)
    _match(outcomes, by_pk, by_number, by_email)
    codes_of = dict(Programme.objects.values_list("id", "code"))
    _decide(outcomes, parsed.columns, codes_of)
    progress(share, PROGRESS_CHECKING)
    return ImportReport(file_format=parsed.file_format, dry_run=dry_run, rows=outcomes)


# Applying -------------------------------------------------------------------------------

_UPDATE_SQL = """
UPDATE students_student AS s
SET first_name = v.first_name, last_name = v.last_name, email = v.email, status = v.status,
    student_number = v.student_number, cohort_id = v.cohort_id, advisor_id = v.advisor_id,
    programme_label = COALESCE(v.programme_label, s.programme_label),
    programme_ids = COALESCE(v.programme_ids::bigint[], s.programme_ids),
    overall_case_studies = COALESCE(v.overall_case_studies, s.overall_case_studies),
    updated_at = %s
FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[],
    %s::text[], %s::text[], %s::integer[]
) AS v(user_id, first_name, last_name, email, status, student_number, cohort_id, advisor_id,
       programme_label, programme_ids, overall_case_studies)
WHERE s.user_id = v.user_id
"""
_UNENROL_SQL = """
DELETE FROM students_enrolment AS e
USING unnest(%s::text[], %s::bigint[]) AS gone(student_id, programme_id)
WHERE e.student_id = gone.student_id AND e.programme_id = gone.programme_id
"""
_STUDENT_COLUMNS = (
    "user_id", "first_name", "last_name", "email", "status", "enrollment_status", "archived", "student_number",
    "cohort_id", "advisor_id", "avatar", "programme_label", "programme_ids", "overall_case_studies", "created_at",
    "updated_at",
)


class _Maintained:
    """The maintained columns of a student with these programmes, computed as
    students.maintained computes them (the import writes them with the row instead of
    updating every row a second time): the names joined in code order, the ids in the same
    order, and the active case studies sharing one of them. Queries: two."""

    def __init__(self):
        self.programmes = {pk: (code, name) for pk, code, name in Programme.objects.values_list("id", "code", "name")}
        case_studies = {}
        for case_study, programme in CaseStudy.objects.filter(is_active=True).values_list("pk", "programmes"):
            case_studies.setdefault(case_study, set()).add(programme)
        self.case_studies = list(case_studies.values())
        self.known = {}

    def of(self, programme_ids):
        key = frozenset(programme_ids)
        if key not in self.known:
            ordered = sorted(key, key=lambda pk: self.programmes[pk][0])
            label = ", ".join(self.programmes[pk][1] for pk in ordered)
            count = sum(1 for programmes in self.case_studies if programmes & key)
            self.known[key] = (label, ordered, count)
        return self.known[key]


def _array(ids):
    return "{" + ",".join(str(pk) for pk in ids) + "}"


def _apply(report, *, progress):
    """Write the planned rows: students by COPY, one UPDATE per CHUNK students, enrolment
    changes, one audit event each (by COPY too)."""
    now = timezone.now()
    today = timezone.localdate()
    maintained = _Maintained()
    created = [o for o in report.rows if o.action == CREATED]
    updated = [o for o in report.rows if o.action == UPDATED]
    for outcome in created:
        outcome.user_id = outcome.user_id or new_object_id()

    def new_rows():
        for o in created:
            label, ids, count = maintained.of(o.programme_ids)
            new = o.new
            yield (
                o.user_id, new["first_name"], new["last_name"], new["email"], new["status"],
                Student.EnrollmentStatus.ENROLLED, False, new.get("student_number"), new.get("cohort_id"),
                new.get("advisor_id"), "", label, ids, count, now, now,
            )

    start = CHECKING_SHARE
    # Shares of the writing time, roughly as measured: new students, changed ones, the rest.
    rows = max(1, len(created) + len(updated))
    created_share = (1 - start) * 0.85 * len(created) / rows
    updated_share = (1 - start) * 0.85 * len(updated) / rows
    progress(start, PROGRESS_WRITING)
    copy_rows(Student, _STUDENT_COLUMNS, new_rows())
    progress(start + created_share, PROGRESS_WRITING)
    with connection.cursor() as cursor:
        for done, chunk in enumerate(_chunks(updated), start=1):
            columns = [[o.user_id for o in chunk]]
            columns += [[o.new[name] for o in chunk] for name in AUDIT_NAMES]
            figures = [maintained.of(o.programme_ids) if o.programme_ids is not None else None for o in chunk]
            columns.append([f[0] if f else None for f in figures])
            columns.append([_array(f[1]) if f else None for f in figures])
            columns.append([f[2] if f else None for f in figures])
            cursor.execute(_UPDATE_SQL, [now, *columns])
            progress(start + created_share + updated_share * min(1, done * CHUNK / max(1, len(updated))), PROGRESS_WRITING)
        gone = [(o.user_id, p) for o in updated if o.programme_ids is not None for p in o.programmes_before - o.programme_ids]
        for chunk in _chunks(gone):
            cursor.execute(_UNENROL_SQL, [[s for s, _ in chunk], [p for _, p in chunk]])
    enrolments = (
        (o.user_id, p, today)
        for o in created + updated
        if o.programme_ids
        for p in sorted(o.programme_ids - o.programmes_before)
    )
    copy_rows(Enrolment, ("student_id", "programme_id", "enrolled_on"), enrolments)
    audit_record_changes_many(
        action="student.create", target_type="student",
        items=((o.user_id, None, o.after, {"import_row": o.number}) for o in created),
    )
    audit_record_changes_many(
        action="student.update", target_type="student",
        items=((o.user_id, o.before, o.after, {"import_row": o.number}) for o in updated),
    )
    progress(1.0, PROGRESS_WRITING)
