"""Reading an uploaded student file into header and rows, refusing anything that is not a
sane CSV or XLSX of the records API's fields.

What a file is comes from its bytes, never its name or content type: a zip (``PK\\x03\\x04``)
is read as an XLSX workbook, anything else as CSV text in UTF-8 (a BOM is allowed; cells
separated by commas, or by semicolons or tabs when the header row has no comma). Every
refusal is a `FileRefused` whose message is a module constant; no input makes it raise
anything else.
"""
import csv
import datetime as dt
import io
import itertools
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from config.spreadsheets import CSV, FORMULA_TRIGGERS, NOTE_AUTHOR, XLSX

MiB = 1024 * 1024
MAX_BYTES = 10 * MiB
# A request carrying a file: the file plus multipart framing; anything bigger is refused before
# the body is read (request_size_check).
REQUEST_MAX_BYTES = MAX_BYTES + 64 * 1024
MAX_ROWS = 50_000
# A workbook is a zip whose members (its parts: sheets, shared strings, styles …) openpyxl
# parses once inflated, so what they expand to is limited before openpyxl sees them. An openpyxl
# workbook of 50,000 students with every column filled is a 2.4 MB file whose sheet expands to
# 29.7 MB, its other parts to 16 KB together (Excel splits the sheet's text between the sheet
# and its shared strings). A part may expand to about twice that sheet; the whole workbook to
# a sheet at that limit plus shared strings half its size.
XLSX_MAX_MEMBER_BYTES = 64 * MiB
XLSX_MAX_EXPANDED_BYTES = 96 * MiB
# Sheet XML compresses 10 to 15 times (that sheet 12 times; shared strings and repetitive
# sheets of few columns at most 14 times), a zip bomb's parts hundreds of times (deflate
# reaches about 1,000): 100 leaves real parts a wide margin. A part up to the floor may be
# compressed further: small parts such as printer settings are mostly zeros, and inflating a
# megabyte costs nothing.
XLSX_MAX_RATIO = 100
XLSX_RATIO_FLOOR_BYTES = 1 * MiB
XLSX_MAX_MEMBERS = 1_000
MAX_CELL_CHARS = 10_000

COLUMNS = (
    "user_id", "first_name", "last_name", "email", "status", "programme_codes", "student_number", "cohort_id",
    "advisor_id",
)
REQUIRED_COLUMNS = ("first_name", "last_name", "email")

MSG_EMPTY = "The file is empty."
MSG_TOO_LARGE = f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."
MSG_TOO_MANY_ROWS = f"The file has more than {MAX_ROWS:,} students; split it into several files."
MSG_NO_ROWS = "The file has a header row but no students."
MSG_NOT_CSV_OR_XLSX = "The file is neither a CSV file (UTF-8 text) nor an Excel workbook (.xlsx)."
MSG_OLD_EXCEL = "This is an old Excel file (.xls); save it as .xlsx or as CSV (UTF-8)."
MSG_ENCODING = "The file is not UTF-8 text (line {line}); save it as CSV (UTF-8) and try again."
MSG_UTF16 = "The file is UTF-16 text; save it as CSV (UTF-8) and try again."
MSG_CSV_BROKEN = "The CSV file cannot be read (line {line}): {problem}."
MSG_NOT_A_WORKBOOK = "The file looks like a zip but is not a readable Excel workbook (.xlsx)."
MSG_WORKBOOK_TOO_BIG = (
    f"The workbook expands to more than {XLSX_MAX_MEMBER_BYTES // MiB} MB in one part or "
    f"{XLSX_MAX_EXPANDED_BYTES // MiB} MB in all: too much to be a list of students."
)
MSG_WORKBOOK_COMPRESSED = (
    f"A part of the workbook is compressed more than {XLSX_MAX_RATIO} times, as no spreadsheet is "
    "(a zip bomb); it is refused."
)
MSG_WORKBOOK_DTD = "The workbook holds XML declarations (a DOCTYPE) that Excel never writes; it is refused."
MSG_UNKNOWN_COLUMNS = "Unknown column(s): {names}. The columns are: " + ", ".join(COLUMNS) + "."
MSG_MISSING_COLUMNS = "Missing column(s): {names}."
MSG_DUPLICATE_COLUMNS = "Column(s) given twice: {names}."
MSG_UNNAMED_COLUMN = "Column {number} of the header row has no name."
MSG_FORMULA = "Starts with = + - @ (or a tab): a spreadsheet would run it as a formula. Remove that character."
MSG_FORMULA_CELL = "The cell holds a formula; type the value itself."
MSG_CELL_TOO_LONG = f"The cell holds more than {MAX_CELL_CHARS:,} characters."
MSG_EXTRA_CELLS = "The row has more cells than the header row has columns."


class FileRefused(Exception):
    """The file as a whole cannot be imported; `message` says why, in words for staff."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


ROW_PROBLEM = "__row__"  # a problem of the row as a whole, not of one cell


@dataclass
class ParsedFile:
    """The file's data rows a column at a time: row i is the file's row `numbers[i]` (the
    header is row 1), its cell of a column `cells[column][i]` (None when empty or refused) and
    `problems[i]`, when it has any, the problems found in its cells before any field rule ran
    ({column or ROW_PROBLEM: [messages]})."""

    file_format: str
    columns: list
    numbers: list
    cells: dict
    problems: dict = field(default_factory=dict)


def request_size_check(length):
    """FileRefused when a request's declared length (config.http.declared_length) is past
    REQUEST_MAX_BYTES: refused before its body is read."""
    if length > REQUEST_MAX_BYTES:
        raise FileRefused(MSG_TOO_LARGE)

def read_students_file(data):
    """A ParsedFile from the bytes of an upload, or FileRefused."""
    if not data:
        raise FileRefused(MSG_EMPTY)
    if len(data) > MAX_BYTES:
        raise FileRefused(MSG_TOO_LARGE)
    if data.startswith(b"PK\x03\x04"):
        file_format, table = XLSX, _xlsx_table(data)
    elif data.startswith((b"PK\x05\x06", b"PK\x07\x08")):
        raise FileRefused(MSG_NOT_A_WORKBOOK)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(MSG_OLD_EXCEL)
    else:
        file_format, table = CSV, _csv_table(data)
    header = next(table, None)
    if header is None:
        raise FileRefused(MSG_EMPTY)
    columns = _columns(header[1])
    # A blank line or an empty spreadsheet row is skipped (its cells are all "" or None); the
    # file is refused at its first row past MAX_ROWS, before anything after it is read.
    lines = list(itertools.islice((line for line in table if any(line[1])), MAX_ROWS + 1))
    if len(lines) > MAX_ROWS:
        raise FileRefused(MSG_TOO_MANY_ROWS)
    if not lines:
        raise FileRefused(MSG_NO_ROWS)
    return parsed_file(file_format, columns, lines)


def parsed_file(file_format, columns, lines):
    """The ParsedFile of `lines`, (row number, [cells]) in file order, under `columns`: a short
    row's missing cells are None, a long row's extra cells a problem unless empty, and a cell
    that is not plain text (blank, too long, a formula, or one a spreadsheet would run) None,
    with its problem. A column at a time: plain text is recognised by one comprehension."""
    width = len(columns)
    values = [cells for _, cells in lines]
    problems: dict[int, dict[str, list[str]]] = {}
    for i in [i for i, cells in enumerate(values) if len(cells) != width]:
        cells = values[i]
        if any(cells[width:]):
            problems[i] = {ROW_PROBLEM: [MSG_EXTRA_CELLS]}
        values[i] = [*cells[:width], *[None] * (width - len(cells))]
    by_column = dict(zip(columns, map(list, zip(*values, strict=True)), strict=True))
    for name, cells in by_column.items():
        if _all_plain(cells):
            continue
        odd = [
            i for i, v in enumerate(cells)
            if type(v) is not str or not (stripped := v.strip()) or len(v) > MAX_CELL_CHARS
            or v.startswith(FORMULA_TRIGGERS) or stripped.startswith(FORMULA_TRIGGERS)
        ]
        for i in odd:
            cells[i], problem = _odd_cell(cells[i])
            if problem:
                problems.setdefault(i, {})[name] = [problem]
    return ParsedFile(
        file_format=file_format, columns=columns, numbers=[number for number, _ in lines], cells=by_column,
        problems=problems,
    )


def _columns(header):
    names = [("" if v is None else str(v)).strip().lower() for v in header]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise FileRefused(MSG_EMPTY)
    for number, name in enumerate(names, start=1):
        if not name:
            raise FileRefused(MSG_UNNAMED_COLUMN.format(number=number))
    unknown = [n for n in dict.fromkeys(names) if n not in COLUMNS]
    if unknown:
        raise FileRefused(MSG_UNKNOWN_COLUMNS.format(names=", ".join(_shown(n) for n in unknown)))
    twice = [n for n in dict.fromkeys(names) if names.count(n) > 1]
    if twice:
        raise FileRefused(MSG_DUPLICATE_COLUMNS.format(names=", ".join(twice)))
    missing = [n for n in REQUIRED_COLUMNS if n not in names]
    if missing:
        raise FileRefused(MSG_MISSING_COLUMNS.format(names=", ".join(missing)))
    return names


def _shown(name):
    """A column name as an error message may quote it: short, printable."""
    name = "".join(ch if ch.isprintable() else "?" for ch in name)
    return f"“{name[:40]}…”" if len(name) > 40 else f"“{name}”"


# A cell, after the separator before it, that is blank or starts (after whitespace, as
# str.strip sees it: re's \s is the same test) with a character a spreadsheet would run.
_ODD_START = re.compile("\x00\\s*(?:[" + re.escape("".join(FORMULA_TRIGGERS)) + "]|\x00)")


def _all_plain(cells):
    """Whether every cell is text kept as it is (not blank, not too long, not a formula): one
    search through the column joined by NUL, which no cell holds (a CSV file holding one is
    refused, and XML cannot)."""
    if set(map(type, cells)) != {str} or max(map(len, cells)) > MAX_CELL_CHARS:
        return False
    joined = "\x00" + "\x00".join(cells) + "\x00"
    return joined.count("\x00") == len(cells) + 1 and not _ODD_START.search(joined)


def _odd_cell(value):
    """(value, problem or None) of a cell that is not plain text: a formula, blank, too long, or
    one a spreadsheet would run."""
    if isinstance(value, _Formula):
        return None, MSG_FORMULA_CELL
    if not isinstance(value, str) or not value.strip():
        return None, None
    if len(value) > MAX_CELL_CHARS:
        return None, MSG_CELL_TOO_LONG
    if value.startswith(FORMULA_TRIGGERS) or value.strip().startswith(FORMULA_TRIGGERS):
        return None, MSG_FORMULA
    return value, None


# CSV ------------------------------------------------------------------------------------


def _csv_table(data):
    """(line number, [cells]) of a UTF-8 CSV file, header first."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(MSG_UTF16)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        raise FileRefused(MSG_NOT_CSV_OR_XLSX)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRefused(MSG_ENCODING.format(line=data.count(b"\n", 0, exc.start) + 1)) from None
    return _csv_lines(text)


def _delimiter(text):
    """A comma, unless the header line has none and semicolons (Excel's CSV where the comma is
    the decimal sign) or tabs instead."""
    header = text.split("\n", 1)[0]
    if "," not in header:
        for candidate in (";", "\t"):
            if candidate in header:
                return candidate
    return ","


def _csv_lines(text):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        for values in reader:
            # A row's number is the line it ends on (a quoted cell may span lines).
            yield reader.line_num, values
    except csv.Error as exc:
        raise FileRefused(MSG_CSV_BROKEN.format(line=reader.line_num, problem=_csv_problem(exc))) from None


def _csv_problem(exc):
    text = str(exc)
    if "field larger than field limit" in text:
        return "a cell is far too long"
    return "a quote is not closed or a cell is malformed"


# XLSX -----------------------------------------------------------------------------------


class _Formula:
    """A workbook cell holding a formula (its value is never read)."""


FORMULA = _Formula()
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _check_zip(data):
    """Refuse a zip that is not shaped like a workbook, expands too far or holds XML
    declarations (entity expansion). The sizes the zip's central directory declares are checked
    first, before anything is inflated; then every member is read once, counting what it really
    expands to (a declared size can lie) and stopping at the limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        names = {m.filename for m in members}
        if len(members) > XLSX_MAX_MEMBERS or "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise FileRefused(MSG_NOT_A_WORKBOOK)
        # Members never share compressed bytes in a real zip; claiming more than the file holds
        # would buy a larger ratio allowance (overlapping members are how some bombs are made).
        if sum(m.compress_size for m in members) > len(data):
            raise FileRefused(MSG_NOT_A_WORKBOOK)
        for member in members:
            _check_member_size(member, member.file_size)
        _check_total_size(sum(m.file_size for m in members))
        expanded = 0
        for member in members:
            size = 0
            tail = b""
            for block in _inflated(data, member):
                size += len(block)
                expanded += len(block)
                _check_member_size(member, size)
                _check_total_size(expanded)
                if _DTD.search(tail + block):
                    raise FileRefused(MSG_WORKBOOK_DTD)
                tail = block[-16:]
            if size != member.file_size:
                raise FileRefused(MSG_NOT_A_WORKBOOK)  # openpyxl would read it cut short
    except FileRefused:
        raise
    except Exception:  # zipfile raises many types on a hostile archive (BadZipFile, EOFError, OSError, …)
        raise FileRefused(MSG_NOT_A_WORKBOOK) from None


def _check_member_size(member, size):
    if size > XLSX_MAX_MEMBER_BYTES:
        raise FileRefused(MSG_WORKBOOK_TOO_BIG)
    if size > max(XLSX_RATIO_FLOOR_BYTES, XLSX_MAX_RATIO * member.compress_size):
        raise FileRefused(MSG_WORKBOOK_COMPRESSED)


def _check_total_size(expanded):
    if expanded > XLSX_MAX_EXPANDED_BYTES:
        raise FileRefused(MSG_WORKBOOK_TOO_BIG)


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, fixed fields, name and extra field lengths


def _inflated(data, member):
    """The member's bytes as they really inflate, a block at a time, whatever size it declares
    (zipfile stops at the declared size, so a member holding more would go unmeasured)."""
    signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(data, member.header_offset)
    if signature != b"PK\x03\x04" or member.flag_bits & 0x1:  # bit 0: encrypted
        raise FileRefused(MSG_NOT_A_WORKBOOK)
    start = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    compressed = memoryview(data)[start:start + member.compress_size]
    if member.compress_type == zipfile.ZIP_STORED:
        for at in range(0, len(compressed), MiB):
            yield bytes(compressed[at:at + MiB])
        return
    if member.compress_type != zipfile.ZIP_DEFLATED:
        raise FileRefused(MSG_NOT_A_WORKBOOK)  # spreadsheet apps deflate or store
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    for at in range(0, len(compressed), 64 * 1024):
        pending = compressed[at:at + 64 * 1024]
        while pending and not inflater.eof:
            yield inflater.decompress(pending, MiB)  # never more than a block per call
            pending = inflater.unconsumed_tail


def _xlsx_table(data):
    _check_zip(data)
    from openpyxl import load_workbook  # only imported when a workbook comes in

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
        sheet = workbook.worksheets[0]
        header = _xlsx_values(next(sheet.iter_rows(min_row=1, max_row=1, max_col=len(COLUMNS) * 4), ()))
        return iter([(1, header), *_xlsx_data_rows(sheet, width=len(header) + 1)])
    except FileRefused:
        raise
    except Exception:  # openpyxl and its XML parser raise many types on a hostile workbook
        raise FileRefused(MSG_NOT_A_WORKBOOK) from None


def _xlsx_data_rows(sheet, *, width):
    """(row number, values) of the sheet's rows after the header. openpyxl fills a gap between
    rows with one shared tuple of empty cells, row after row (up to a million for a cell at
    the sheet's last row): it is recognised by identity and skipped at once."""
    rows = []
    gap = None
    for number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=width), start=2):
        if cells is gap:
            continue
        values = _xlsx_values(cells)
        if all(v is None for v in values):
            gap = cells
            continue
        if len(rows) == MAX_ROWS:
            raise FileRefused(MSG_TOO_MANY_ROWS)
        rows.append((number, values))
    return rows


def _xlsx_values(cells):
    return [_xlsx_value(cell) for cell in cells]


def _xlsx_value(cell):
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f":
        return FORMULA
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return FORMULA  # an array formula or another object a formula made


# The template --------------------------------------------------------------------------

TEMPLATE_NOTES = {
    "user_id": "Optional. Matches an existing student by id; a new id is given when empty.",
    "first_name": "Required.",
    "last_name": "Required.",
    "email": "Required. Matches an existing student when user_id and student_number do not.",
    "status": "active or inactive (empty: active for a new student, unchanged otherwise).",
    "programme_codes": "Programme codes separated by commas or spaces; empty: no programmes.",
    "student_number": "Optional SIS number. Matches an existing student when user_id is empty.",
    "cohort_id": "Optional cohort id (see /v1/cohorts).",
    "advisor_id": "Optional staff user id of the advisor.",
}


def template_bytes(file_format):
    """The header row of an import file (no example row: it would be imported by mistake)."""
    if file_format == CSV:
        return ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode("utf-8")
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Students"
    for index, name in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=name)
        cell.font = Font(bold=True)
        cell.comment = Comment(TEMPLATE_NOTES[name], NOTE_AUTHOR)
        sheet.column_dimensions[cell.column_letter].width = max(14, len(name) + 4)
    sheet.freeze_panes = "A2"
    target = io.BytesIO()
    workbook.save(target)
    return target.getvalue()
