"""What every file of the list is written with: neutralised text, CSV in blocks, XLSX through
openpyxl's write-only workbook or, for rows formatted in SQL (console.list_files.cells), a
workbook made by XlsxWriter with the rows streamed into its sheet, and the file of a kind as
blocks of bytes (a download) or into a binary file (a background export).

Nothing holds the whole result in memory: rows come from COPY or a server-side cursor and are
written out as they come. CSV is produced in blocks of about CSV_FLUSH_BYTES; XLSX is written
into a temporary file (a zip needs its directory at the end), then read back in blocks.
"""
import csv
import datetime as dt
import io
import re
import tempfile
import zipfile

from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font

from config.spreadsheets import CSV, FORMULA_TRIGGERS, NOTE_AUTHOR
from config.text import xml_safe

CSV_FLUSH_BYTES = 64 * 1024
XLSX_BLOCK_BYTES = 256 * 1024
XLSX_COMPRESSLEVEL = 1  # zlib's fastest: see xlsx_with_rows and bench/README.md
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def xlsx_text(value):
    """A text cell of an XLSX file: without the characters XML cannot hold, which rows stored
    before text was checked may have, and neutralised."""
    # Neutralised text never starts with "=", so openpyxl stores it as a string, not a formula.
    return neutralise(xml_safe(value)) if value else value


def csv_moment(moment):
    """A date-time in a CSV cell: ISO 8601 in UTC, empty when there is none."""
    return moment.astimezone(dt.timezone.utc).strftime(ISO_FORMAT) if moment else ""


def xlsx_moment(moment):
    """A date-time cell (Excel has no time zones: a naive UTC value)."""
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment else None


class _Line:
    """A file-like object for csv.writer that hands back what it is given."""

    def write(self, value):
        return value


def csv_in_blocks(header, rows, cells_of):
    """UTF-8 bytes with a BOM (so Excel reads the encoding), the `header` line, then one line
    per row (`cells_of(row)`), flushed in blocks of about CSV_FLUSH_BYTES."""
    writer = csv.writer(_Line())
    buffer = ["\ufeff", writer.writerow(header)]
    size = 0
    for row in rows:
        line = writer.writerow(cells_of(row))
        buffer.append(line)
        size += len(line)
        if size >= CSV_FLUSH_BYTES:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    yield "".join(buffer).encode("utf-8")


def csv_lines(rows):
    """Each row (a tuple of cells already formatted, None for an empty one) as a UTF-8 CSV line
    ending in "\n", as COPY's csv format writes it."""
    writer = csv.writer(_Line())  # its own line end, "\r\n", by which it quotes a lone "\r" too
    for row in rows:
        yield (writer.writerow(row)[:-2] + "\n").encode("utf-8")


def _crlf(lines):
    block = b"".join(lines)
    if block.count(b"\n") == len(lines):  # no line break inside a quoted field: one pass in C
        return block.replace(b"\n", b"\r\n")
    return b"".join(bytes(line[:-1]) + b"\r\n" for line in lines)


def csv_lines_in_blocks(header, lines):
    """csv_in_blocks for rows already written as CSV lines ending in "\n" (COPY's csv format):
    the BOM and `header` line, then the lines with csv.writer's line end ("\r\n"), a line break
    inside a quoted field left as it is, in blocks of about CSV_FLUSH_BYTES."""
    yield ("\ufeff" + csv.writer(_Line()).writerow(header)).encode("utf-8")
    buffer, size = [], 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= CSV_FLUSH_BYTES:
            yield _crlf(buffer)
            buffer, size = [], 0
    if buffer:
        yield _crlf(buffer)


_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


def xlsx_with_rows(template, sheet_part, rows, target, *, compresslevel=XLSX_COMPRESSLEVEL):
    """Write into the binary file `target` the workbook `template` (the bytes of an XLSX file
    with everything but the data: header, styles, notes, column widths) with `rows` (bytes,
    each `<row>` elements of the sheet's XML) added to the data of its sheet `sheet_part`,
    compressed as they come. The template's dimension (A1:F1) is left out: it is optional."""
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as workbook,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename != sheet_part:
                workbook.writestr(info, data, compresslevel=compresslevel)
                continue
            head, tail = _DIMENSION.sub(b"", data).split(b"</sheetData>")
            with workbook.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head)
                buffer, size = [], 0
                for row in rows:
                    buffer.append(row)
                    size += len(row)
                    if size >= XLSX_BLOCK_BYTES:
                        sheet.write(b"".join(buffer))
                        buffer, size = [], 0
                sheet.write(b"".join(buffer))
                sheet.write(b"</sheetData>" + tail)


def xlsx_column_style(template, sheet_part, column):
    """The style index a workbook made by XlsxWriter (`template`, bytes) gives the 1-based
    `column` of its sheet `sheet_part` (its `<col>` element's, set by `set_column` with a
    format): what a row written in SQL puts on that column's cells."""
    with zipfile.ZipFile(io.BytesIO(template)) as workbook:
        sheet = workbook.read(sheet_part).decode()
    return int(re.search(rf'<col min="{column}" max="{column}" [^>]*style="(\d+)"', sheet)[1])


def xlsx_header(sheet, titles, *, notes=None):
    """The header row of a write-only sheet: bold text cells, with a note on those `notes` names."""
    bold = Font(bold=True)
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=xlsx_text(title))
        cell.font = bold
        if notes and title in notes:
            cell.comment = Comment(notes[title], NOTE_AUTHOR)
        cells.append(cell)
    return cells


def file_blocks(file_request, rows, file_format):
    """The file of `file_request`'s kind over `rows`, as blocks of bytes (a download)."""
    kind = file_request.kind
    if file_format == CSV:
        yield from kind.csv_blocks(file_request, rows)
        return
    with tempfile.TemporaryFile(prefix=f"{kind.file_prefix}-", suffix=".xlsx") as target:
        kind.write_xlsx(file_request, rows, target)
        target.seek(0)
        while block := target.read(XLSX_BLOCK_BYTES):
            yield block


def file_write(file_request, rows, file_format, target):
    """The file of `file_request`'s kind over `rows`, written into the binary file `target`."""
    kind = file_request.kind
    if file_format == CSV:
        for block in kind.csv_blocks(file_request, rows):
            target.write(block)
    else:
        kind.write_xlsx(file_request, rows, target)
