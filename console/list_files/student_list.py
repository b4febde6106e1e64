"""The students list as a file (SPEC §7.1, seed: Export Students): its parameters, rows and
columns, as CSV and as XLSX.

Rows come from students.listing.selectors.student_export_rows, so the file filters and sorts
exactly like the list. The columns read `full_name` (first + " " + last, i.e. student_name,
SPEC §4), `email`, `programme_label` (the maintained join of programme names the list sorts
on), `status`, `overall_case_studies` (counted from the student's programme ids) and
`last_seen`. Every cell is formatted and neutralised in SQL (console.list_files.cells), so a
download streams what COPY writes, and a background export reads the same statement.
"""
import io
from functools import lru_cache

import xlsxwriter
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F

from config.api import validated_all
from config.bulk_copy import copy_out
from config.spreadsheets import CSV, NOTE_AUTHOR
from console.list_files import cells
from console.list_files.writers import csv_lines, csv_lines_in_blocks, xlsx_column_style, xlsx_text, xlsx_with_rows
from console.students.serializers import StudentExportFormatSerializer
from students.listing.selectors import EXPORT_FIELDS, student_export_rows, student_file_filterset

COLUMNS = ("Student Name", "Email", "Programme", "Status", "Overall Case Studies", "Last Seen")
CHUNK_SIZE = 2000  # rows per fetch from a server-side cursor
XLSX_LAST_SEEN_NOTE = "Date and time in UTC."
XLSX_DATE_FORMAT = "yyyy-mm-dd h:mm:ss"  # openpyxl's, which wrote these files before
XLSX_WIDTHS = (30, 36, 40, 10, 22, 22)
XLSX_SHEET = "xl/worksheets/sheet1.xml"
_KINDS = ("text", "text", "text", "text", "number", "moment")  # the cell of each of EXPORT_FIELDS
CSV_CELLS = {
    "csv_name": cells.SqlCell(cells.csv_text, "full_name"),
    "csv_email": cells.SqlCell(cells.csv_text, "email"),
    "csv_programme": cells.SqlCell(cells.csv_text, "programme_label"),
    "csv_status": cells.SqlCell(cells.csv_text, "status"),
    "csv_overall": F("overall_case_studies"),
    "csv_last_seen": cells.SqlCell(cells.csv_moment, "last_seen"),
}


def check(params):
    """(options, filterset, case studies) of a request for the list's file (a QueryDict):
    `format` and the list's filters and sort, every bad one named in one 400."""
    options, filterset = validated_all(params, StudentExportFormatSerializer, check=student_file_filterset)
    return options, filterset, ()


def xlsx_template():
    """The workbook without its data rows, made by XlsxWriter: the bold header with its note,
    the frozen header row, column widths, and Last Seen's date-time style on its column."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Students")
    bold = workbook.add_format({"bold": True})
    moment = workbook.add_format({"num_format": XLSX_DATE_FORMAT})
    for column, width in enumerate(XLSX_WIDTHS):
        sheet.set_column(column, column, width, moment if column == len(COLUMNS) - 1 else None)
    sheet.freeze_panes(1, 0)
    for column, title in enumerate(COLUMNS):
        sheet.write_string(0, column, xlsx_text(title), bold)
    sheet.write_comment(0, len(COLUMNS) - 1, XLSX_LAST_SEEN_NOTE, {"author": NOTE_AUTHOR})
    workbook.close()
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _date_style():
    """The style index XlsxWriter gives the date-time format (the same in every template)."""
    return xlsx_column_style(xlsx_template(), XLSX_SHEET, len(COLUMNS))


def formatted_rows(file_request, *, limit):
    """The rows' statement (unevaluated): each row's cells as the file holds them."""
    if file_request.file_format == CSV:
        return student_export_rows(file_request.filterset, limit=limit, cells=CSV_CELLS)
    row = cells.SqlCell(cells.xlsx_row(_KINDS, date_style=_date_style()), *EXPORT_FIELDS)
    return student_export_rows(file_request.filterset, limit=limit, cells={"xlsx_row": row})


def _from_cursor(queryset, file_format):
    if file_format == CSV:
        yield from csv_lines(queryset.iterator(chunk_size=CHUNK_SIZE))
    else:
        for (row,) in queryset.iterator(chunk_size=CHUNK_SIZE):
            yield row.encode("utf-8") + b"\n"  # as COPY ends it


def rows(file_request, *, limit, using=None, copy=True):
    """Each row of the file (the first `limit`; None: all) as bytes: a CSV line ending in "\n",
    or the sheet's `<row>` element. `copy`: read with COPY, the fastest (the connection is
    busy until the last row: run it inside transaction.atomic); else from a server-side cursor,
    CHUNK_SIZE at a time, the connection free between fetches (a background export commits its
    progress as it goes). Both read the same statement and give the same bytes."""
    queryset = formatted_rows(file_request, limit=limit)
    alias = using or DEFAULT_DB_ALIAS
    if not copy:
        return _from_cursor(queryset.using(alias), file_request.file_format)
    sql, params = queryset.query.get_compiler(using=alias).as_sql()
    options = "FORMAT csv" if file_request.file_format == CSV else "FORMAT text"
    return copy_out(connections[alias], sql, params, options=options)


def csv_blocks(file_request, rows):
    """The header line, then one line per row; Last Seen in ISO 8601 (UTC)."""
    return csv_lines_in_blocks(COLUMNS, rows)


def write_xlsx(file_request, rows, target):
    """Write the workbook to the binary file `target`. Last Seen is a real date-time cell
    (naive UTC, as the header cell's note says)."""
    xlsx_with_rows(xlsx_template(), XLSX_SHEET, rows, target)


def audit_detail(file_request, params):
    """The export's audit event: its format and the filters as the query string gave them."""
    return {"format": file_request.file_format, "filters": {k: v for k, v in params.items() if k != "format"}}
