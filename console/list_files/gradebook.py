"""The gradebook as a file: the identity columns, then four columns per case study (attempts
used, attempts allowed, best score, final score under its grading method), as CSV and as XLSX
(frozen header row and name column, real numbers and date-times), optionally with one sheet
per programme.

Its parameters are console.reports.filters.gradebook_request's, its rows
console.reports.selectors.gradebook_rows (one statement; the values equal to the student
detail's cards). A CSV file's cells, and an XLSX sheet's rows, are formatted by that statement
and streamed by COPY (the sheet into a workbook made by XlsxWriter, as the list's XLSX is);
one sheet per programme is written by openpyxl. Text cells that a spreadsheet would run as
formulas are neutralised, and text cells and sheet names lose the characters XML cannot hold
(config.text.xml_safe).
"""
import io
import re
from functools import lru_cache

import xlsxwriter
from django.db import DEFAULT_DB_ALIAS, connections
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from config.bulk_copy import copy_out
from config.spreadsheets import CSV
from config.text import xml_safe
from console.list_files.student_list import XLSX_DATE_FORMAT
from console.list_files.writers import (
    csv_lines,
    csv_lines_in_blocks,
    neutralise,
    xlsx_column_style,
    xlsx_header,
    xlsx_moment,
    xlsx_text,
    xlsx_with_rows,
)
from console.reports.filters import gradebook_request
from console.reports.selectors import fetched, gradebook_rows, gradebook_sql, programme_names

IDENTITY_COLUMNS = ("Student Name", "Email", "Student Number", "Programme", "Last Seen")
LAST_SEEN_COLUMN = 4  # 0-based
XLSX_WIDTHS = {0: 30, 1: 34, 3: 30, LAST_SEEN_COLUMN: 20}  # 0-based column: width
XLSX_SHEET_NAME = "Gradebook"
XLSX_SHEET = "xl/worksheets/sheet1.xml"
CASE_STUDY_COLUMNS = ("Attempts Used", "Attempts Allowed", "Best Score", "Final Score")
NO_PROGRAMME_SHEET = "No programme"
SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

check = gradebook_request  # (options, filterset, case studies), as the report's endpoint reads them


def columns(case_studies):
    """The header: identity columns, then `<title>: Attempts Used` … `<title>: Final Score
    (<grading method>)` per case study."""
    header = list(IDENTITY_COLUMNS)
    for case_study in case_studies:
        header += [f"{case_study.title}: {name}" for name in CASE_STUDY_COLUMNS[:3]]
        header.append(f"{case_study.title}: {CASE_STUDY_COLUMNS[3]} ({case_study.grading_method})")
    return header


def rows(file_request, *, limit, using=None, copy=True):
    """Each student of the list, in its order (the first `limit`; None: all), formatted by the
    statement (gradebook_sql) as bytes ending in "\n": for a CSV file, the file's line; for
    XLSX on one sheet, the sheet's `<row>` element. With `copy`, what COPY writes (the
    connection is busy until the last row: run it inside transaction.atomic), else the same
    bytes from a server-side cursor, the connection free between fetches (a background export
    commits its progress as it goes). With one sheet per programme, gradebook_rows' tuples
    from a server-side cursor."""
    case_studies, alias = file_request.case_studies, using or DEFAULT_DB_ALIAS
    csv_file = file_request.file_format == CSV
    if not csv_file and file_request.options["sheet_per_programme"]:
        return gradebook_rows(file_request.filterset, case_studies, limit=limit, using=alias)
    if csv_file:
        sql, params = gradebook_sql(file_request.filterset, case_studies, limit=limit, as_text=True)
    else:
        date_style = _xlsx_template(tuple(columns(case_studies)))[1]
        sql, params = gradebook_sql(file_request.filterset, case_studies, limit=limit, xlsx_date_style=date_style)
    if copy:
        return copy_out(connections[alias], sql, params, options="FORMAT csv" if csv_file else "FORMAT text")
    statement_rows = fetched(sql, params, using=alias)
    if csv_file:
        return csv_lines(statement_rows)
    return (row.encode("utf-8") + b"\n" for (row,) in statement_rows)  # as COPY ends it


def csv_blocks(file_request, rows):
    """The header line (neutralised: it holds case study titles), one line per row."""
    return csv_lines_in_blocks([neutralise(title) for title in columns(file_request.case_studies)], rows)


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
    for column, width in XLSX_WIDTHS.items():
        sheet.column_dimensions[get_column_letter(column + 1)].width = width
    sheet.freeze_panes = "B2"  # the header row and the student's name stay in view
    sheet.append(xlsx_header(sheet, header))
    return sheet


@lru_cache(maxsize=32)
def _xlsx_template(header):
    """(the bytes of the one-sheet workbook without its data rows, made by XlsxWriter: the bold
    header, column widths, the header row and names frozen, Last Seen's date-time style on its
    column; that style's index, which the rows written in SQL put on their Last Seen cells)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet(XLSX_SHEET_NAME)
    bold = workbook.add_format({"bold": True})
    moment = workbook.add_format({"num_format": XLSX_DATE_FORMAT})
    for column, width in XLSX_WIDTHS.items():
        sheet.set_column(column, column, width, moment if column == LAST_SEEN_COLUMN else None)
    sheet.freeze_panes(1, 1)  # the header row and the student's name stay in view
    for column, title in enumerate(header):
        sheet.write_string(0, column, xlsx_text(title), bold)
    workbook.close()
    template = buffer.getvalue()
    return template, xlsx_column_style(template, XLSX_SHEET, LAST_SEEN_COLUMN + 1)


def write_xlsx(file_request, rows, target):
    """Write the workbook to the binary file `target`. Last Seen is a date-time cell (naive
    UTC); counts and scores are numbers. On one sheet, the rows come formatted by the statement
    and are streamed into the template's sheet. With the `sheet_per_programme` option, one
    sheet per programme (by code; a student of two programmes is on both) and one for students
    of none, written by openpyxl; sheets are created as their first student comes, so memory
    stays flat."""
    sheet_per_programme = file_request.options["sheet_per_programme"]
    header = columns(file_request.case_studies)
    if not sheet_per_programme:
        xlsx_with_rows(_xlsx_template(tuple(header))[0], XLSX_SHEET, rows, target)
        return
    workbook = Workbook(write_only=True)
    taken = set()
    names = programme_names()
    sheets = {}

    def sheet_for(key):
        if key not in sheets:
            code_name = names.get(key)
            label = f"{code_name[0]} {code_name[1]}" if code_name else NO_PROGRAMME_SHEET
            sheets[key] = _new_sheet(workbook, _sheet_title(label, taken), header)
        return sheets[key]

    for name, email, number, label, programme_ids, last_seen, case_study_values in rows:
        values = [xlsx_text(name), xlsx_text(email), xlsx_text(number), xlsx_text(label), xlsx_moment(last_seen),
                  *case_study_values]
        keys = [pk for pk in programme_ids or () if pk in names]
        for key in keys or [None]:
            sheet_for(key).append(values)
    if not sheets:
        sheet_for(None)
    workbook.save(target)


def audit_detail(file_request, params):
    """The gradebook's audit event: its format, case studies and filters (every value)."""
    return {"format": file_request.file_format, "case_studies": [c.pk for c in file_request.case_studies],
            "filters": {k: v for k, v in params.lists() if k != "format"}}
