"""Importing a file of student records (students.imports.parsing reads it): every row checked
by the records API's own field types (StudentCreateSerializer's fields, a whole column at a
time: students.imports.checks; the serializer itself names a refused row's errors), then
handed to the records service that creates and updates many students at once
(students_upsert_many), which checks every rule of a record (references, uniqueness, matching
a row to its student) for all rows at once and, unless it is a dry run, writes the whole file
in one transaction, or nothing (from STAGED_FROM rows on through a staging table: COPY, one
INSERT, one UPDATE).

Matching a row to an existing student (students_upsert_many): by `user_id` when the row gives
one (a user_id that names nobody creates the student with it; one of a deleted student is
refused, as the API refuses it); otherwise by `student_number`, then by `email`
(case-insensitive). A row whose student number or email belongs to a student other than the one
it matched is refused, and so is a row repeating a key (user_id, student number, email) or a
student an earlier row of the file already has. A column left out of the file leaves that field
as it is; a column given with an empty cell clears it (student_number, cohort_id, advisor_id,
programme_codes) or, for status, leaves it (active for a new student).

The cost does not grow in queries with the rows (see students_upsert_many). The rows' outcomes
(ACTIONS) and the messages of the rules about a file's rows (MSG_DUPLICATE_IN_FILE …) are the
records service's; the report's readers (the API's serializers, the Import page) name them from
here.
"""
import contextlib
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.audit.services import audit_actor
from accounts.events import types as event_types
from accounts.events.services import event_record
from config.bulk_copy import copy_rows
from config.collector import collection_paused
from config.errors import AppError, field_errors
from students.imports import parsing
from students.imports.checks import MISSING, TableCheck
from students.imports.models import ImportedStudent, StudentImport
from students.records.serializers import StudentCreateSerializer
from students.records.services import (  # noqa: F401 - the report's readers name these from here
    ACTIONS,
    CREATED,
    MSG_DUPLICATE_IN_FILE,
    MSG_SAME_STUDENT_TWICE,
    REJECTED,
    ROW_FIELD,
    UNCHANGED,
    UPDATED,
    StudentsUpsertRefused,
    StudentUpsert,
    students_upsert_many,
    upsert_refusal_errors,
)

MSG_NOTHING_IMPORTED = (
    "Nothing was imported: {count:,} row{s} cannot be; see errors for each row (a dry run gives the whole report)."
)

PROGRESS_CHECKING = "checking"
PROGRESS_WRITING = "writing"
# Of an apply's time, about this much goes to checking the rows (measured: bench/student_import.py,
# 4-5 s of 30-40 s for 50,000 new students).
CHECKING_SHARE = 0.15
NULLABLE = ("student_number", "cohort_id", "advisor_id")
NUMBER_COLUMNS = ("advisor_id",)
_CODES = re.compile(r"[\s,;]+")


@dataclass
class ImportReport:
    file_format: str
    dry_run: bool
    rows: list[StudentUpsert]  # every row, in file order, as students_upsert_many planned it
    applied: bool = False
    # The names and emails the file gives, by row number, for the rows whose cells fail the
    # records' field types (a refused row is named all the same).
    given_names: dict[int, dict[str, str]] = field(default_factory=dict)
    run: StudentImport | None = None  # once applied: the import's record (StudentImport)

    @property
    def counts(self):
        counts = dict.fromkeys(ACTIONS, 0)
        for row in self.rows:
            counts[row.action] += 1
        return counts

    def as_data(self):
        """The report as the API answers it (plain values: a 50,000-row report is built in
        well under a second, where a serializer per row would take several)."""
        with collection_paused():
            return self._data()

    def _data(self):
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            "import_id": self.run.pk if self.run is not None else None,
            "file_format": self.file_format,
            "counts": self.counts,
            "rows": [
                {"row": r.number, "action": r.action, "user_id": r.user_id, "errors": _errors_shown(r.errors) if r.errors else None}
                for r in self.rows
            ],
        }


NAME_FIELDS = ("first_name", "last_name", "email")


def import_row_student(report, row):
    """{"name", "email"} of the student a row names: the record's, for a row matched to a
    student (an update, an unchanged row); the row's own otherwise (a new student, a refused
    row)."""
    source = row.current or row.values or report.given_names.get(row.number) or {}
    names = {name: str(source.get(name) or "").strip() for name in NAME_FIELDS}
    return {"name": f"{names['first_name']} {names['last_name']}".strip(), "email": names["email"]}


def _errors_shown(errors):
    return {("row" if name == ROW_FIELD else name): list(msgs) for name, msgs in errors.items()}


class ImportRefused(AppError):
    """An apply that changed nothing because rows are rejected: `errors` names each as
    `rows[<row number>].<field>` (`rows[<n>]` alone for the row as a whole); `report` is the
    whole report."""

    def __init__(self, report):
        self.report = report
        count = report.counts[REJECTED]
        message = MSG_NOTHING_IMPORTED.format(count=count, s="" if count == 1 else "s")
        super().__init__(message, errors=upsert_refusal_errors(report.rows))


def students_import_check(*, data):
    """The file read into header and rows, or a 400 naming `file`."""
    try:
        return parsing.read_students_file(data)
    except parsing.FileRefused as exc:
        raise AppError.validation({"file": exc.message}) from None


def students_import_request_check(*, length):
    """A 400 naming `file` when a request declares more bytes than a file may have (plus its
    framing), before its body is read."""
    try:
        parsing.request_size_check(length)
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
    step it is in (PROGRESS_CHECKING, PROGRESS_WRITING), at each step of the checking and every
    few thousand rows written."""
    progress = progress or _no_progress
    share = 1.0 if dry_run else CHECKING_SHARE
    with collection_paused():
        parsed = students_import_check(data=data)
        rows = _rows(parsed, progress=progress, share=share)
        report = ImportReport(
            file_format=parsed.file_format, dry_run=dry_run, rows=rows, given_names=_given_names(parsed, rows)
        )
        if dry_run:
            students_upsert_many(rows=rows, dry_run=True)
    if dry_run:
        progress(share, PROGRESS_CHECKING)
        return report

    def writing(fraction):
        progress(share + (1 - share) * fraction, PROGRESS_WRITING)

    try:
        with transaction.atomic():
            students_upsert_many(rows=rows, progress=writing)
            report.run = _import_run_record(report)
            # One event for the import as a whole (each student written has its own), in its transaction.
            counts = report.counts
            event_record(
                type=event_types.STUDENTS_IMPORT_APPLIED, subject_type="student_import", subject_id=report.run.pk,
                data={"file_format": report.file_format, "rows": len(rows),
                      **{action: counts[action] for action in (CREATED, UPDATED, UNCHANGED)}},
            )
    except StudentsUpsertRefused:
        raise ImportRefused(report) from None
    report.applied = True
    return report


def _import_run_record(report):
    """The applied import's record and its students (created or updated), by COPY: what the
    console's list filters on (`imported`). Queries: one INSERT, one COPY."""
    actor_id, actor_email, _, _, _ = audit_actor()
    counts = report.counts
    run = StudentImport.objects.create(
        applied_at=timezone.now(), actor_id=actor_id, actor_email=actor_email, file_format=report.file_format,
        rows=len(report.rows), created=counts[CREATED], updated=counts[UPDATED], unchanged=counts[UNCHANGED],
    )
    written = ((run.pk, row.user_id, row.action == CREATED) for row in report.rows if row.action in (CREATED, UPDATED))
    copy_rows(ImportedStudent, ("student_import", "student", "created"), written)
    return run


# The rows, as the records service takes them ----------------------------------------------


def _inputs(parsed):
    """The rows' cells as records API create bodies, a column at a time ({column: [value, or
    MISSING where the row does not give it]}): a number column's cell written in digits is the
    JSON number a body would carry (anything else stays text, which the field refuses); an empty
    cell is null in a nullable column and not given in another; a cell the parser refused is not
    given; programme_codes is always given (a list of codes, empty when the file has none)."""
    count = len(parsed.numbers)
    given = {}
    for name in parsed.columns:
        cells = parsed.cells[name]
        if name == "programme_codes":
            given[name] = _codes(cells)
        elif name in NUMBER_COLUMNS:
            given[name] = [
                None if v is None else int(v) if (digits := v.strip()).isascii() and digits.isdigit() else v
                for v in cells
            ]
        elif name in NULLABLE:
            given[name] = list(cells)
        else:
            given[name] = [MISSING if v is None else v for v in cells]
        for i, problems in parsed.problems.items():
            if name in problems:
                given[name][i] = [] if name == "programme_codes" else MISSING
    if "programme_codes" not in given:
        given["programme_codes"] = [[] for _ in range(count)]
    return given


def _codes(cells):
    """Each cell's programme codes (separated by commas, semicolons or spaces) as its own list;
    each distinct cell split once."""
    split: dict[str, tuple[str, ...]] = {}
    for cell in set(cells):
        if cell:
            split[cell] = tuple(code for code in _CODES.split(cell) if code)
    return [list(split[cell]) if cell else [] for cell in cells]


def _rows(parsed, *, progress, share):
    """Each row of the file checked by the records API's field types, as students_upsert_many
    takes it: the fields its cells give (a column left out, or an empty status cell, is not
    given; the serializer's defaults are not taken) or, when they fail, the errors and the
    row's well-formed references. The fields check whole columns (students.imports.checks);
    a row they refuse runs through the serializer itself, for its errors."""
    serializer = StudentCreateSerializer()
    # What _inputs gives that the file has no column for (programme_codes: the serializer
    # requires it), not taken from the row's values.
    not_in_file = [name for name in ("programme_codes",) if name not in parsed.columns]
    progress(0.0, PROGRESS_CHECKING)
    given = _inputs(parsed)
    progress(share * 0.3, PROGRESS_CHECKING)
    checked = TableCheck(serializer).table(given, len(parsed.numbers))
    progress(share * 0.6, PROGRESS_CHECKING)
    rows = []
    problems = parsed.problems
    for i, (number, values) in enumerate(zip(parsed.numbers, checked, strict=True)):
        row = StudentUpsert(number=number, detail={"import_row": number})
        if values is None:
            values = _serializer_values(serializer, _given(given, i), row)
        if values is not None:
            for name in not_in_file:
                values.pop(name, None)
            row.values = values
        if i in problems:
            row.errors.update(problems[i])
        rows.append(row)
    return rows


def _given(given, i):
    """Row i's create body."""
    return {name: cells[i] for name, cells in given.items() if cells[i] is not MISSING}


def _serializer_values(serializer, given, row):
    """The serializer's values of the fields `given`, or None with the row's errors and its
    well-formed references noted."""
    try:
        values = serializer.to_internal_value(given)
    except ValidationError as exc:
        row.errors.update(field_errors(exc.detail))
        row.references = _valid_references(serializer, given, row.errors)
        return None
    return {name: value for name, value in values.items() if name in given}


def _given_names(parsed, rows):
    """The name and email cells of the rows the records' field types refused (their values are
    not known), as the file gives them."""
    return {
        row.number: {name: (parsed.cells[name][i] if name in parsed.cells else None) or "" for name in NAME_FIELDS}
        for i, row in enumerate(rows)
        if row.values is None
    }


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
