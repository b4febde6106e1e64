"""The students list as a file (SPEC §7.1, seed: Export Students): its parameters, rows and
columns, as CSV and as XLSX.

Rows come from students.listing.selectors.student_export_rows, so the file filters and sorts
exactly like the list. The columns read `full_name` (first + " " + last, i.e. student_name,
SPEC §4), `email`, `programme_label` (the maintained join of programme names the list sorts
on), `status`, `overall_case_studies` (counted from the student's programme ids) and
`last_seen`.
"""
from openpyxl import Workbook

from config.api import validated_all
from console.list_files.writers import csv_in_blocks, csv_moment, neutralise, xlsx_header, xlsx_moment, xlsx_text
from console.students.serializers import StudentExportFormatSerializer
from students.listing.selectors import student_export_rows, student_file_filterset

COLUMNS = ("Student Name", "Email", "Programme", "Status", "Overall Case Studies", "Last Seen")
CHUNK_SIZE = 2000  # rows per fetch from the server-side cursor
XLSX_LAST_SEEN_NOTE = "Date and time in UTC."


def check(params):
    """(options, filterset, case studies) of a request for the list's file (a QueryDict):
    `format` and the list's filters and sort, every bad one named in one 400."""
    options, filterset = validated_all(params, StudentExportFormatSerializer, check=student_file_filterset)
    return options, filterset, ()


def rows(file_request, *, limit, using=None):
    """Row tuples in COLUMNS order (the first `limit`; None: all) from a server-side cursor,
    CHUNK_SIZE at a time. Inside a transaction the cursor streams (rows are computed as they
    are fetched); in autocommit PostgreSQL would compute the whole result before the first row."""
    queryset = student_export_rows(file_request.filterset, limit=limit)
    if using is not None:
        queryset = queryset.using(using)
    return queryset.iterator(chunk_size=CHUNK_SIZE)


def _csv_cells(row):
    name, email, programme, status, overall, last_seen = row
    return [neutralise(name), neutralise(email), neutralise(programme), neutralise(status), overall, csv_moment(last_seen)]


def csv_blocks(file_request, rows):
    """The header line, then one line per row; Last Seen in ISO 8601 (UTC)."""
    return csv_in_blocks(COLUMNS, rows, _csv_cells)


def write_xlsx(file_request, rows, target):
    """Write the workbook to the binary file `target`. Last Seen is a real date-time cell
    (naive UTC, as the header cell's note says). Data cells are plain values, which openpyxl
    writes several times faster than styled cells."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Students")
    for letter, width in zip("ABCDEF", (30, 36, 40, 10, 22, 22), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.append(xlsx_header(sheet, COLUMNS, notes={"Last Seen": XLSX_LAST_SEEN_NOTE}))
    for name, email, programme, status, overall, last_seen in rows:
        sheet.append([xlsx_text(name), xlsx_text(email), xlsx_text(programme), xlsx_text(status), overall,
                      xlsx_moment(last_seen)])
    workbook.save(target)


def audit_detail(file_request, params):
    """The export's audit event: its format and the filters as the query string gave them."""
    return {"format": file_request.file_format, "filters": {k: v for k, v in params.items() if k != "format"}}
