"""The import checks the records API's field rules a column at a time (students.imports.checks)
and runs the records serializer itself only on rows those checks refuse: every row, good or
bad, must come out as the serializer alone would make it (values, errors and references)."""
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from students.imports import parsing, services
from students.imports.checks import TableCheck
from students.records.serializers import StudentCreateSerializer
from students.records.services import StudentUpsert

COLUMNS = list(parsing.COLUMNS)
GOOD = {
    "user_id": "", "first_name": "Ada", "last_name": "Obi", "email": "ada@uni.example", "status": "active",
    "programme_codes": "MBA", "student_number": "S-1", "cohort_id": "", "advisor_id": "",
}
# Cells each column is tried with, one at a time in an otherwise good row: text at and past the
# limits, blank and padded text, text not in NFC, control and invisible characters, emails the
# validator refuses or takes, codes, ids and numbers of every shape.
CELLS = {
    "first_name": [
        "A" * 150, "A" * 151, " Ada", "Ada ", "\u00a0Ada", "Zoe\u0308", "Zoë", "Ọlájídé", "Ada\u200bObi", "Ada\u2028",
        "Ada\x7f", "Ada\x85", "@Ada", " =1+1", "😀", "O'Brien", "a\ufeff", "Ada\u3000", "ﬁ", "Å",
    ],
    "last_name": ["", " ", "Obi\x00x", "Obi\x1b", "\ud800", "B" * 149 + "é", "e\u0301" * 80],
    "email": [
        "ADA@UNI.EXAMPLE", "bad", "a@b", "a@localhost", "x@", "@x.example", "a" * 243 + "@uni.example",
        "a" * 242 + "@uni.example", " ada@uni.example", "a@uni.example.", "a@[127.0.0.1]", "a@[::1]",
        "ünï@exämple.com", "a..b@c.example", "a.b@c-d.example", "a@-c.example", "a@c.e", "a@c.example\n",
        "\"a b\"@c.example", "a@c.ex-ample", "a@xn--ls8h.la", "a@" + "d" * 64 + ".example",
    ],
    "status": ["inactive", "Active", "ACTIVE", "x", " active", "inactive "],
    "programme_codes": ["MBA ACC", "mba", "M-BA", "X" * 33, "X" * 32, ", ,", "MBA,MBA", "MB A", "ÄB"],
    "student_number": ["=HYPERLINK(\"x\")", "", " S-1", "S" * 64, "S" * 65, "S\t1", "１２"],
    "user_id": ["abc", "a b", "x" * 64, "x" * 65, "0123456789abcdef01234567", "a/b", "ü"],
    "cohort_id": ["abc", "a b", "x" * 65, "c-1"],
    "advisor_id": ["1", "0", "99999999999999999999", "abc", "１", "1.0", " 7", "9223372036854775807", "9223372036854775808"],
}


def _parsed(rows, columns=COLUMNS):
    """The rows as the parser hands them on (cells a file could not even hold included)."""
    lines = [(number, [row[name] for name in columns]) for number, row in enumerate(rows, start=2)]
    return parsing.parsed_file(parsing.CSV, list(columns), lines)


def _create_body(parsed, i):
    """Row i's cells as a records API create body, one row at a time (the rules _inputs applies
    a column at a time)."""
    given = {}
    problems = parsed.problems.get(i, {})
    for name in parsed.columns:
        value = parsed.cells[name][i]
        if name in problems:
            continue
        if name == "programme_codes":
            given[name] = [code for code in re.split(r"[\s,;]+", value) if code] if value else []
        elif name == "advisor_id" and value is not None and value.strip().isascii() and value.strip().isdigit():
            given[name] = int(value)
        elif value is not None:
            given[name] = value
        elif name in ("student_number", "cohort_id", "advisor_id"):
            given[name] = None
    given.setdefault("programme_codes", [])
    return given


def _by_the_serializer(parsed):
    """Each row as the serializer alone makes it, one call per row."""
    serializer = StudentCreateSerializer()
    columns = set(parsed.columns)
    rows = []
    for i, number in enumerate(parsed.numbers):
        row = StudentUpsert(number=number)
        values = services._serializer_values(serializer, _create_body(parsed, i), row)
        if values is not None:
            row.values = {name: value for name, value in values.items() if name in columns}
        row.errors.update(parsed.problems.get(i, {}))
        rows.append(row)
    return rows


def assert_as_the_serializer_makes_them(rows, columns=COLUMNS):
    parsed = _parsed(rows, columns)
    checked = services._rows(parsed, progress=services._no_progress, share=1.0)
    expected = _by_the_serializer(parsed)
    assert len(checked) == len(expected)
    for got, want in zip(checked, expected, strict=True):
        assert (got.number, got.values, got.errors, got.references) == (want.number, want.values, want.errors, want.references)


def test_every_cell_comes_out_as_the_serializer_makes_it():
    rows = [GOOD]
    for name, cells in CELLS.items():
        rows.extend({**GOOD, name: cell} for cell in cells)
    # Twice each bad cell (the second time from what the column remembered) and rows failing
    # on several fields at once.
    rows.extend(rows[1:])
    rows.append({**GOOD, "email": "bad", "status": "x", "programme_codes": "m-b", "advisor_id": "x"})
    rows.append({**GOOD, "first_name": "", "last_name": "", "email": ""})
    assert_as_the_serializer_makes_them(rows)


def test_a_file_without_some_columns_comes_out_as_the_serializer_makes_it():
    rows = [GOOD, {**GOOD, "email": "bad"}, {**GOOD, "first_name": "=1"}, {**GOOD, "status": "x"}]
    for columns in (["first_name", "last_name", "email"], ["email", "last_name", "first_name", "status"]):
        assert_as_the_serializer_makes_them(rows, columns)


_TRICKY = st.sampled_from(["a", "Z", "é", "e\u0301", " ", "\u00a0", "@", ".", "-", "_", "1", "\u200b", "\x7f", "ﬁ", "\t", "x" * 40])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(COLUMNS), st.lists(_TRICKY, max_size=8).map("".join)), min_size=1, max_size=6))
def test_generated_cells_come_out_as_the_serializer_makes_them(changes):
    row = dict(GOOD)
    for name, cell in changes:
        row[name] = cell
    assert_as_the_serializer_makes_them([row, GOOD | {"email": "other@uni.example"}])


def test_the_checks_are_the_serializers_fields():
    """Each column is checked by the serializer's field of its name, the required ones too."""
    serializer = StudentCreateSerializer()
    table = TableCheck(serializer)
    assert {name: check.field for name, check in table.checks.items()} == dict(serializer.fields)
    assert set(table.required) == {"first_name", "last_name", "email", "programme_codes"}
