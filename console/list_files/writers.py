"""What every file of the list is written with: neutralised text, CSV in blocks, XLSX through
openpyxl's write-only workbook, and the file of a kind as blocks of bytes (a download) or
into a binary file (a background export).

Nothing holds the whole result in memory: rows come from a server-side cursor and are
written out one by one. CSV is produced in blocks of about CSV_FLUSH_BYTES; XLSX is written
into a temporary file (a zip needs its directory at the end), then read back in blocks.
"""
import csv
import datetime as dt
import tempfile

from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font

from config.spreadsheets import CSV, FORMULA_TRIGGERS, NOTE_AUTHOR
from config.text import xml_safe

CSV_FLUSH_BYTES = 64 * 1024
XLSX_BLOCK_BYTES = 256 * 1024
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
