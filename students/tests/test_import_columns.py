"""The import reads, checks and plans its rows a column at a time; these hold the parts that
have no other witness equal to a row-at-a-time reading: the parser's cells and problems, the
dry run's plan beside the apply's, and the keys sent to PostgreSQL as one text[] literal."""
import pytest
from django.db import connection, transaction

from config.spreadsheets import FORMULA_TRIGGERS
from students.imports import parsing
from students.records.services import _text_array
from students.tests.test_import import csv_bytes, post, rows_of
from testing.factories import ProgrammeFactory, StudentFactory

COLUMNS = ["first_name", "last_name", "email", "status"]


def _by_row(number, values):
    """One row as the parser read it a row at a time: (cells, problems)."""
    cells, problems = dict(zip(COLUMNS, values, strict=False)), {}
    if any(v is not None and v != "" for v in values[len(COLUMNS):]):
        problems[parsing.ROW_PROBLEM] = [parsing.MSG_EXTRA_CELLS]
    for name in COLUMNS[len(values):]:
        cells[name] = None
    for name, value in cells.items():
        if isinstance(value, parsing._Formula):
            problems[name], value = [parsing.MSG_FORMULA_CELL], None
        elif isinstance(value, str):
            if not value.strip():
                value = None
            elif len(value) > parsing.MAX_CELL_CHARS:
                problems[name], value = [parsing.MSG_CELL_TOO_LONG], None
            elif value.startswith(FORMULA_TRIGGERS) or value.strip().startswith(FORMULA_TRIGGERS):
                problems[name], value = [parsing.MSG_FORMULA], None
        cells[name] = value
    return cells, problems


ODD = ["", " ", "\t", "=1", " =1", "\t=1", "-2", "+", "@x", "\r", "\u00a0=1", "\u2003@x", "\n\n=", " \r",
       "a" * (parsing.MAX_CELL_CHARS + 1), None, parsing.FORMULA]
PLAIN = ["Ada", " Ada ", "0", "é", "a=1", "a\x00b", "a\n=b", "a" * parsing.MAX_CELL_CHARS, "\u00a0Ada"]


@pytest.mark.parametrize("cell", ODD + PLAIN)
def test_the_parser_reads_each_cell_as_a_row_at_a_time_would(cell):
    """Each cell alone among plain ones (a column is first judged whole), and with the rows'
    other shapes: short, long, blank."""
    lines = [(2, ["Ada", "Obi", "a@uni.example", "active"]), (3, [cell, "Obi", cell, "x"]), (4, ["Ada", cell, "b@x", cell])]
    lines += [(100, ["Ada"]), (101, ["Ada", "Obi", "a@x", "active", "", None]), (102, ["Ada", "Obi", "a@x", "active", "extra"]),
              (103, ["=1", "Obi", "a@x", "active", "extra", "=2"]), (104, [])]
    _assert_read_as_by_row(lines)
    _assert_read_as_by_row(lines[:3])


def _assert_read_as_by_row(lines):
    parsed = parsing.parsed_file(parsing.CSV, COLUMNS, lines)
    assert parsed.numbers == [number for number, _ in lines]
    for i, (number, values) in enumerate(lines):
        cells, problems = _by_row(number, values)
        assert {name: parsed.cells[name][i] for name in COLUMNS} == cells, number
        assert parsed.problems.get(i, {}) == problems, number
        assert list(parsed.problems.get(i, {})) == list(problems), number  # the report keeps their order


@pytest.mark.django_db
def test_a_dry_run_plans_each_row_as_the_apply_does(admin_client):
    ProgrammeFactory(code="MBA", name="MBA")
    ada = StudentFactory(first_name="Ada", last_name="Obi", email="ada@uni.example", student_number="S-1")
    StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@uni.example", student_number="S-2")
    data = csv_bytes([
        ["", "New", "One", "new1@uni.example", "", "MBA", "N-1"],
        ["", "New", "Two", "new2@uni.example", "inactive", "", ""],
        [ada.pk, "Ada", "Obi-Eze", "ada@uni.example", "", "MBA", "S-1"],
        ["", "Zoë", "Brontë", "zoe@uni.example", "", "", "S-2"],
    ])
    dry = rows_of(post(admin_client, data, dry_run=True))
    with transaction.atomic():
        applied = rows_of(post(admin_client, data, dry_run=False))
        transaction.set_rollback(True)
    assert [(r["action"], r["errors"]) for r in dry.values()] == [(r["action"], r["errors"]) for r in applied.values()]
    assert [r["action"] for r in dry.values()] == ["created", "created", "updated", "unchanged"]
    assert [dry[n]["user_id"] for n in (4, 5)] == [applied[n]["user_id"] for n in (4, 5)]


@pytest.mark.django_db
def test_keys_reach_postgresql_as_they_are_given():
    keys = ['a"b', "a\\b", "a,b", "{a}", " a ", "NULL", "null", "é\u00a0ü", "a'b", "\\\"", "\t", "a\nb"]
    plain = ["a", "NULL", " b ", "{c}", "d,e", "é", "f'g", ""]
    with connection.cursor() as cursor:
        for given in (keys, plain, [], ["\\"], ['"']):
            cursor.execute("SELECT coalesce(array_agg(k), '{}') FROM unnest(%s::text[]) AS k", [_text_array(given)])
            assert cursor.fetchone()[0] == given
