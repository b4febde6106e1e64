"""The student list as a CSV or XLSX download (SPEC §7.1, seed: Export Students).

Rows come from students.listing.selectors.student_export_rows, so the export filters and sorts exactly
like the list. Nothing here holds the whole result in memory: rows are read from a
server-side cursor in chunks and written out one by one. CSV goes straight to the client;
XLSX is written by openpyxl's write-only workbook into a temporary file (a zip needs its
directory at the end), which is then streamed in blocks.

Used by the JSON API (console.students.apis) and the HTML console.
"""
import csv
import datetime as dt
import tempfile

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_tenants.utils import tenant_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font

from config.errors import EXPORT_LIMIT_EXCEEDED, AppError
from config.replicas import follow_tenant, read_alias
from config.text import xml_safe
from students.listing.selectors import student_export_rows

COLUMNS = ("Student Name", "Email", "Programme", "Status", "Overall Case Studies", "Last Seen")
# The columns read `full_name` (first + " " + last, i.e. student_name, SPEC §4), `email`,
# `programme_label` (the maintained join of programme names the list sorts on), `status`,
# overall_case_studies (counted from the student's programme ids) and `last_seen`.

CSV = "csv"
XLSX = "xlsx"
MEDIA_TYPES = {
    CSV: "text/csv",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK_SIZE = 2000  # rows per fetch from the server-side cursor
CSV_FLUSH_BYTES = 64 * 1024
XLSX_BLOCK_BYTES = 256 * 1024
XLSX_LAST_SEEN_NOTE = "Date and time in UTC."
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Spreadsheet apps run cells starting with these as formulas (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

MSG_EXPORT_LIMIT = (
    "Exports are capped at {limit:,} rows and more students match; narrow your filters, "
    "or run it as a background export (POST /v1/console/exports), which has no cap."
)


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def export_filename(tenant, file_format, *, now=None):
    """students_{tenant_slug}_{YYYY-MM-DD}.{csv|xlsx}, dated in the tenant's time zone."""
    today = (now or timezone.now()).astimezone(tenant.tzinfo).date()
    return f"students_{tenant.slug}_{today.isoformat()}.{file_format}"


def export_queryset(filterset):
    """The list's rows (students.listing.selectors.student_export_rows), capped at
    EXPORT_MAX_ROWS.

    Raises 400 VALIDATION_ERROR for bad filters and 400 EXPORT_LIMIT_EXCEEDED (no file)
    when more rows match than the cap. Queries: the bounded count here, then the case-study
    map and one server-side cursor when iterated."""
    cap = check_within_cap(filterset.qs)
    return student_export_rows(filterset, limit=cap)


def over_cap(queryset):
    """Whether more rows match than EXPORT_MAX_ROWS. One bounded count: at most cap + 1 rows,
    enough to know, cheap on a large tenant."""
    cap = settings.EXPORT_MAX_ROWS
    return queryset.order_by().values("pk")[: cap + 1].count() > cap


def check_within_cap(queryset):
    """EXPORT_MAX_ROWS, or 400 EXPORT_LIMIT_EXCEEDED when more rows match (synchronous
    downloads of the list and the gradebook alike)."""
    if over_cap(queryset):
        raise AppError(
            MSG_EXPORT_LIMIT.format(limit=settings.EXPORT_MAX_ROWS), code=EXPORT_LIMIT_EXCEEDED, status_code=400
        )
    return settings.EXPORT_MAX_ROWS


def iterate_rows(queryset):
    """Rows in COLUMNS order from a server-side cursor, CHUNK_SIZE at a time. Inside a
    transaction the cursor streams (rows are computed as they are fetched); in autocommit
    PostgreSQL would compute the whole result before the first row."""
    yield from queryset.iterator(chunk_size=CHUNK_SIZE)


class _Line:
    """A file-like object for csv.writer that hands back what it is given."""

    def write(self, value):
        return value


def _csv_cells(row):
    name, email, programme, status, overall, last_seen = row
    seen = last_seen.astimezone(dt.timezone.utc).strftime(ISO_FORMAT) if last_seen else ""
    return [neutralise(name), neutralise(email), neutralise(programme), neutralise(status), overall, seen]


def csv_chunks(rows):
    """UTF-8 bytes with a BOM (so Excel reads the encoding), a header line, then one line per
    row, flushed in blocks of about CSV_FLUSH_BYTES."""
    writer = csv.writer(_Line())
    buffer = ["\ufeff", writer.writerow(COLUMNS)]
    size = 0
    for row in rows:
        line = writer.writerow(_csv_cells(row))
        buffer.append(line)
        size += len(line)
        if size >= CSV_FLUSH_BYTES:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    yield "".join(buffer).encode("utf-8")


def xlsx_text(value):
    """A text cell of an XLSX file (the list's, the gradebook's): without the characters XML
    cannot hold, which rows stored before text was checked may have, and neutralised."""
    # Neutralised text never starts with "=", so openpyxl stores it as a string, not a formula.
    return neutralise(xml_safe(value)) if value else value


def write_xlsx(rows, target):
    """Write the workbook to the binary file `target`. Last Seen is a real date-time cell
    (Excel has no time zones: a naive UTC value, as the header cell's note says). Data cells
    are plain values, which openpyxl writes several times faster than styled cells."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Students")
    for letter, width in zip("ABCDEF", (30, 36, 40, 10, 22, 22)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        if title == "Last Seen":
            cell.comment = Comment(XLSX_LAST_SEEN_NOTE, "Student Operations Console")
        header.append(cell)
    sheet.append(header)
    for name, email, programme, status, overall, last_seen in rows:
        seen = last_seen.astimezone(dt.timezone.utc).replace(tzinfo=None) if last_seen else None
        sheet.append([xlsx_text(name), xlsx_text(email), xlsx_text(programme), xlsx_text(status), overall, seen])
    workbook.save(target)


def xlsx_chunks(rows):
    with tempfile.TemporaryFile(prefix="students-export-", suffix=".xlsx") as target:
        write_xlsx(rows, target)
        target.seek(0)
        while block := target.read(XLSX_BLOCK_BYTES):
            yield block


def _in_tenant(tenant, alias, chunks_of, queryset):
    """Stream in the request's tenant schema, from the database the view chose (a replica for
    lag-tolerant reads): the body is produced after the view returns."""
    with tenant_context(tenant):
        follow_tenant(alias)
        with transaction.atomic(using=alias):
            yield from chunks_of(iterate_rows(queryset.using(alias)))


def students_export_response(filterset, *, file_format, tenant=None):
    """A StreamingHttpResponse with the filtered, sorted list as CSV or XLSX.

    `filterset` is the list's validated filters and sort (student_list_filterset); `file_format` is csv or
    xlsx (already validated). Raises AppError for bad filters or too many rows."""
    tenant = tenant or connection.tenant
    queryset = export_queryset(filterset)
    chunks_of = csv_chunks if file_format == CSV else xlsx_chunks
    content_type = MEDIA_TYPES[file_format] + ("; charset=utf-8" if file_format == CSV else "")
    alias = read_alias() or DEFAULT_DB_ALIAS
    response = StreamingHttpResponse(_in_tenant(tenant, alias, chunks_of, queryset), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{export_filename(tenant, file_format)}"'
    response["Cache-Control"] = "no-store"  # personal data
    response["X-Content-Type-Options"] = "nosniff"
    return response
