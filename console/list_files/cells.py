"""Cells of a file of the list formatted inside PostgreSQL, so that a download streams what
COPY writes and no row passes through Python's formatting.

The rules are writers.py's, stated in SQL: text that a spreadsheet would run as a formula
(config.spreadsheets.FORMULA_TRIGGERS) gets a leading apostrophe; a CSV date-time is ISO 8601
in UTC; an XLSX text cell loses the characters XML cannot hold (config.text) before it is
neutralised, an XLSX date-time is Excel's serial number of the naive UTC value. A CSV cell is a
column of COPY's csv output (an empty text is NULL, which COPY writes as an empty field, as
csv.writer writes ""); an XLSX row is one column, the `<row>` element of the sheet's XML, in
which no tab, line break or backslash is left raw, so COPY's text format writes it unescaped.
"""
from django.db.models import F, Func, TextField

from config.spreadsheets import FORMULA_TRIGGERS

_TRIGGERS = ", ".join(f"chr({ord(trigger)})" for trigger in FORMULA_TRIGGERS)
# config.text's XML-illegal characters, as a PostgreSQL regular expression (its own escapes).
_XML_ILLEGAL = r"[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
# A row whose text holds none of these is written by the short path (no cleaning, no escaping).
_NEEDS_ESCAPING = r"[\x01-\x1f&<>\\\ufffe\uffff]"
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\\", "&#92;"), ("\t", "&#9;"), ("\n", "&#10;"), ("\r", "&#13;"))
ISO_UTC = """'YYYY-MM-DD"T"HH24:MI:SS"Z"'"""  # writers.ISO_FORMAT
EXCEL_EPOCH_DAYS = 25569  # 1970-01-01 as Excel's serial day (1900 date system)


def _literal(text):
    return "'" + text.replace("'", "''") + "'"


def _char(character):
    return f"chr({ord(character)})" if character < " " else _literal(character)


def neutralised(sql):
    """writers.neutralise: a leading apostrophe when the text starts with a formula trigger."""
    return f"(CASE WHEN left({sql}, 1) IN ({_TRIGGERS}) THEN '''' ELSE '' END || {sql})"


def csv_text(sql):
    return f"NULLIF({neutralised(sql)}, '')"


def csv_moment(sql):
    """writers.csv_moment: ISO 8601 in UTC; NULL (an empty field) when there is none."""
    return f"to_char({sql} AT TIME ZONE 'UTC', {ISO_UTC})"


def _xml_escaped(sql):
    for character, reference in _ESCAPES:
        sql = f"replace({sql}, {_char(character)}, {_literal(reference)})"
    return sql


def _xlsx_text(sql, *, clean):
    """An inline-string cell of writers.xlsx_text(value), or an empty cell. `clean`: the row is
    known to hold nothing to take out or escape."""
    text = f"coalesce({sql}, '')"
    if not clean:
        text = f"regexp_replace({text}, {_literal(_XML_ILLEGAL)}, '', 'g')"
    value = neutralised(text) if clean else _xml_escaped(neutralised(text))
    return f"""CASE WHEN {text} = '' THEN '<c/>' ELSE '<c t="inlineStr"><is><t xml:space="preserve">' || {value} || '</t></is></c>' END"""


def _xlsx_number(sql):
    return f"CASE WHEN {sql} IS NULL THEN '<c/>' ELSE '<c><v>' || {sql} || '</v></c>' END"


def _xlsx_moment(sql, style):
    """writers.xlsx_moment as a date-time cell of the given style, or an empty cell."""
    serial = f"(extract(epoch FROM {sql}) / 86400 + {EXCEL_EPOCH_DAYS})::float8"
    return f"""CASE WHEN {sql} IS NULL THEN '<c/>' ELSE '<c s="{int(style)}"><v>' || {serial} || '</v></c>' END"""


def xlsx_row(kinds, *, date_style):
    """A function of the columns' SQL giving the SQL of the row's `<row>` element; `kinds` says
    each column's cell: "text", "number" or "moment" (styled `date_style`)."""

    def render(*columns):
        texts = [sql for sql, kind in zip(columns, kinds, strict=True) if kind == "text"]

        def cells(*, clean):
            rendered = []
            for sql, kind in zip(columns, kinds, strict=True):
                if kind == "text":
                    rendered.append(_xlsx_text(sql, clean=clean))
                elif kind == "number":
                    rendered.append(_xlsx_number(sql))
                else:
                    rendered.append(_xlsx_moment(sql, date_style))
            return " || ".join(rendered)

        needs_escaping = f"concat({', '.join(texts)}) ~ {_literal(_NEEDS_ESCAPING)}"
        return f"'<row>' || CASE WHEN {needs_escaping} THEN {cells(clean=False)} ELSE {cells(clean=True)} END || '</row>'"

    return render


class SqlCell(Func):
    """An expression whose SQL is `render(*columns' SQL)`: a column may appear several times
    in it, so columns carry no parameters (plain fields do not)."""

    output_field = TextField()

    def __init__(self, render, *fields):
        super().__init__(*(F(name) for name in fields))
        self.render = render

    def as_sql(self, compiler, connection, **extra_context):
        columns = []
        for expression in self.get_source_expressions():
            sql, params = compiler.compile(expression)
            if params:
                raise ValueError("a cell formatted in SQL reads columns, not parameters")
            columns.append(sql)
        return self.render(*columns), []
