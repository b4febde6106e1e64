"""The gradebook as a CSV or XLSX file: the identity columns, then four columns per case study
(attempts used, attempts allowed, best score, final score under its grading method).

Written like the list export (console.students.exports): CSV is streamed in blocks; XLSX is
written by openpyxl's write-only workbook (frozen header row and name column, real numbers
and date-times), optionally with one sheet per programme. Text cells that a spreadsheet would
run as formulas are neutralised the same way, and text cells and sheet names lose the
characters XML cannot hold (config.text.xml_safe). The same writers serve the download and
the background export (console.exports), which hands them a file instead of a response.
"""
import csv
import datetime as dt
import re
import tempfile

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_tenants.utils import tenant_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from config.replicas import follow_tenant, read_alias
from config.text import xml_safe
from console.reports.selectors import gradebook_rows, programme_names
from console.students.exports import (
    CSV,
    CSV_FLUSH_BYTES,
    ISO_FORMAT,
    MEDIA_TYPES,
    XLSX_BLOCK_BYTES,
    _Line,
    neutralise,
    xlsx_text,
)

IDENTITY_COLUMNS = ("Student Name", "Email", "Student Number", "Programme", "Last Seen")
CASE_STUDY_COLUMNS = ("Attempts Used", "Attempts Allowed", "Best Score", "Final Score")
NO_PROGRAMME_SHEET = "No programme"
SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def columns(case_studies):
    """The header: identity columns, then `<title>: Attempts Used` … `<title>: Final Score
    (<grading method>)` per case study."""
    header = list(IDENTITY_COLUMNS)
    for case_study in case_studies:
        header += [f"{case_study.title}: {name}" for name in CASE_STUDY_COLUMNS[:3]]
        header.append(f"{case_study.title}: {CASE_STUDY_COLUMNS[3]} ({case_study.grading_method})")
    return header


def gradebook_filename(tenant, file_format, *, now=None):
    """gradebook_{tenant_slug}_{YYYY-MM-DD}.{csv|xlsx}, dated in the tenant's time zone."""
    today = (now or timezone.now()).astimezone(tenant.tzinfo).date()
    return f"gradebook_{tenant.slug}_{today.isoformat()}.{file_format}"


def _score(value):
    return None if value is None else float(value)


def _card_values(card):
    if card is None:
        return [None, None, None, None]
    return [card.attempts_used, card.attempts_allowed, _score(card.best_score), _score(card.final_score)]


def _csv_number(value):
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else value


def csv_chunks(rows, case_studies):
    """UTF-8 bytes with a BOM, a header line, one line per GradebookRow, in blocks."""
    writer = csv.writer(_Line())
    buffer = ["\ufeff", writer.writerow([neutralise(title) for title in columns(case_studies)])]
    size = 0
    for row in rows:
        seen = row.last_seen.astimezone(dt.timezone.utc).strftime(ISO_FORMAT) if row.last_seen else ""
        cells = [neutralise(row.student_name), neutralise(row.email), neutralise(row.student_number),
                 neutralise(row.programme_label), seen]
        for card in row.cards:
            cells += [_csv_number(value) for value in _card_values(card)]
        line = writer.writerow(cells)
        buffer.append(line)
        size += len(line)
        if size >= CSV_FLUSH_BYTES:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    yield "".join(buffer).encode("utf-8")


def _sheet_title(text, taken):
    title = _SHEET_FORBIDDEN.sub(" ", xml_safe(text)).strip("'") or "Sheet"
    title = title[:SHEET_NAME_MAX]
    candidate, n = title, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = title[: SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _new_sheet(workbook, title, header):
    sheet = workbook.create_sheet(title)
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 34
    sheet.column_dimensions["D"].width = 30
    sheet.column_dimensions["E"].width = 20
    sheet.freeze_panes = "B2"  # the header row and the student's name stay in view
    bold = Font(bold=True)
    cells = []
    for title_text in header:
        cell = WriteOnlyCell(sheet, value=xlsx_text(title_text))
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    return sheet


def write_xlsx(rows, case_studies, target, *, sheet_per_programme=False):
    """Write the workbook to the binary file `target`. Last Seen is a date-time cell (naive
    UTC); counts and scores are numbers. With `sheet_per_programme`, one sheet per programme
    (by code; a student of two programmes is on both) and one for students of none; sheets
    are created as their first student comes, so memory stays flat."""
    header = columns(case_studies)
    workbook = Workbook(write_only=True)
    taken = set()
    names = programme_names() if sheet_per_programme else {}
    sheets = {}

    def sheet_for(key):
        if key not in sheets:
            code_name = names.get(key)
            label = f"{code_name[0]} {code_name[1]}" if code_name else NO_PROGRAMME_SHEET
            sheets[key] = _new_sheet(workbook, _sheet_title(label, taken), header)
        return sheets[key]

    if not sheet_per_programme:
        sheets[None] = _new_sheet(workbook, "Gradebook", header)
    for row in rows:
        seen = row.last_seen.astimezone(dt.timezone.utc).replace(tzinfo=None) if row.last_seen else None
        values = [xlsx_text(row.student_name), xlsx_text(row.email), xlsx_text(row.student_number),
                  xlsx_text(row.programme_label), seen]
        for card in row.cards:
            values += _card_values(card)
        keys = [pk for pk in row.programme_ids if pk in names] if sheet_per_programme else [None]
        for key in keys or [None]:
            sheet_for(key).append(values)
    if not sheets:
        sheet_for(None)
    workbook.save(target)


def xlsx_chunks(rows, case_studies, *, sheet_per_programme=False):
    with tempfile.TemporaryFile(prefix="gradebook-", suffix=".xlsx") as target:
        write_xlsx(rows, case_studies, target, sheet_per_programme=sheet_per_programme)
        target.seek(0)
        while block := target.read(XLSX_BLOCK_BYTES):
            yield block


def _in_tenant(tenant, alias, filterset, case_studies, file_format, sheet_per_programme, limit):
    # The body is produced after the view returns: in the request's tenant, on the database it chose.
    with tenant_context(tenant):
        follow_tenant(alias)
        with transaction.atomic(using=alias):
            rows = gradebook_rows(filterset, case_studies, limit=limit, using=alias)
            if file_format == CSV:
                yield from csv_chunks(rows, case_studies)
            else:
                yield from xlsx_chunks(rows, case_studies, sheet_per_programme=sheet_per_programme)


def gradebook_response(filterset, case_studies, *, file_format, limit, sheet_per_programme=False, tenant=None):
    """A StreamingHttpResponse with the gradebook of the filtered list as CSV or XLSX; the
    caller has checked the filters and the cap."""
    tenant = tenant or connection.tenant
    alias = read_alias() or DEFAULT_DB_ALIAS
    body = _in_tenant(tenant, alias, filterset, case_studies, file_format, sheet_per_programme, limit)
    content_type = MEDIA_TYPES[file_format] + ("; charset=utf-8" if file_format == CSV else "")
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{gradebook_filename(tenant, file_format)}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
