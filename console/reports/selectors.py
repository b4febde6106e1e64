"""The gradebook's rows: one per student of the console list (its filters and order), and
for each case study the student's values under the SPEC §4 rules
(attempts.selectors.case_study_values_sql, held equal to the student detail's cards).

Students and their values come from one statement read through one server-side cursor,
GRADEBOOK_CHUNK rows a fetch: the number of queries does not grow with the students.
"""
from django.contrib.postgres.expressions import ArraySubquery
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import OuterRef, Value
from django.db.models.functions import Coalesce, NullIf

from attempts.selectors import case_study_cells, case_study_values_sql
from catalogue.models import CaseStudy, Programme
from config.errors import AppError
from console.list_files import cells
from students.listing.selectors import listed_shape, student_gradebook_rows

GRADEBOOK_CHUNK = 2000  # rows per fetch from the server-side cursor
MAX_CASE_STUDIES = 50
MSG_GRADEBOOK_UNKNOWN_CASE_STUDIES = "No case study with this id: {ids}."
MSG_TOO_MANY_CASE_STUDIES = f"At most {MAX_CASE_STUDIES} case studies per gradebook."


def gradebook_case_studies(*, case_study_ids=None, programme_code=None):
    """The gradebook's case studies, by title (then id), each with `programme_id_list`: the
    ones asked for (all of them, a 400 naming `case_study` for an unknown id), else the active
    ones, of `programme_code` when the list is filtered by programme. One query."""
    programme_ids = Programme.objects.filter(case_studies=OuterRef("pk")).order_by().values("pk")
    case_studies = CaseStudy.objects.annotate(programme_id_list=ArraySubquery(programme_ids))
    case_studies = case_studies.order_by("title", "case_study_id")
    if case_study_ids:
        wanted = list(dict.fromkeys(case_study_ids))
        if len(wanted) > MAX_CASE_STUDIES:
            raise AppError.validation({"case_study": MSG_TOO_MANY_CASE_STUDIES})
        found = list(case_studies.filter(pk__in=wanted))
        missing = sorted(set(wanted) - {case_study.pk for case_study in found})
        if missing:
            raise AppError.validation({"case_study": MSG_GRADEBOOK_UNKNOWN_CASE_STUDIES.format(ids=", ".join(missing))})
        return found
    case_studies = case_studies.filter(is_active=True)
    if programme_code:
        case_studies = case_studies.filter(programmes__code__iexact=programme_code.strip()).distinct()
    return list(case_studies[:MAX_CASE_STUDIES])


def gradebook_rows(filterset, case_studies, *, limit=None, as_text=False, chunk_size=GRADEBOOK_CHUNK, using=None):
    """Row tuples for each student of the list, in its order (at most `limit`): student name,
    email, student number (the SIS number when set, else the user_id: SPEC §4), programme
    label, programme ids, last seen, then the list of the student's CARD_VALUES on each of
    `case_studies` (four per case study, None where neither assigned nor attempted). With
    `as_text`, the cells of the CSV file instead, formatted by gradebook_sql: the four text
    cells neutralised, last seen and the values as text, None for an empty cell; no programme
    ids. Iterate it inside a transaction for the cursor to stream. One query: the DECLARE of
    one server-side cursor, GRADEBOOK_CHUNK rows a fetch."""
    sql, params = gradebook_sql(filterset, case_studies, limit=limit, as_text=as_text)
    identity = 5 if as_text else 6
    for row in fetched(sql, params, chunk_size=chunk_size, using=using):
        yield (*row[:identity], list(row[identity:]))


def fetched(sql, params, *, chunk_size=GRADEBOOK_CHUNK, using=None):
    """Each row of the statement `sql` (gradebook_sql's) as it comes from one server-side
    cursor, `chunk_size` rows a fetch: the connection is free between fetches. Iterate it
    inside a transaction for the cursor to stream."""
    with connections[using or DEFAULT_DB_ALIAS].chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(chunk_size):
            yield from chunk


_TEXTS = ("s.name", "s.email", "s.number", "s.label")


def gradebook_sql(filterset, case_studies, *, limit=None, as_text=False, xlsx_date_style=None):
    """(SQL, params) of the gradebook's one statement: the students of the list, in its order,
    joined to their values on `case_studies` (attempts.selectors.case_study_values_sql, the
    SPEC §4 rules), a row each: name, email, number, label, programme ids, last seen, then four
    columns per case study. With `as_text`, each row is the CSV file's line as COPY's csv format
    writes it: text cells neutralised (console.list_files.cells, an empty one null), last seen
    in ISO 8601 UTC, numbers as text; no programme ids. With `xlsx_date_style`, each row is one
    column, the sheet's `<row>` element (cells.xlsx_row: text cells cleaned and neutralised,
    last seen a date-time cell of that style, numbers as numbers)."""
    students = student_gradebook_rows(filterset, limit=limit, _number=Coalesce(NullIf("student_number", Value("")), "pk"))
    students_sql, students_params = students.query.sql_with_params()
    # A narrowing filter (a search, a programme, a cohort…) asks for a part of the tenant: its
    # values are looked up by student, at a cost that follows the part, not the tenant.
    probe = listed_shape(filterset) is None
    values_sql, values_params = case_study_values_sql(case_studies, students="_students", probe=probe)
    text = as_text or xlsx_date_style is not None
    values = case_study_cells(case_studies, values="v", programme_ids="s.programme_ids", as_text=text)
    if xlsx_date_style is not None:
        kinds = ("text",) * len(_TEXTS) + ("moment",) + ("number",) * len(values)
        identity, values = [cells.xlsx_row(kinds, date_style=xlsx_date_style)(*_TEXTS, "s.last_seen", *values)], []
    elif as_text:
        identity = [*(cells.csv_text(column) for column in _TEXTS), cells.csv_moment("s.last_seen")]
    else:
        identity = [*_TEXTS, "s.programme_ids", "s.last_seen"]
    sql = f"""WITH _students (pk, name, email, sis, label, programme_ids, last_seen, number, row)
    AS MATERIALIZED ({students_sql}),
{values_sql}
SELECT {", ".join([*identity, *values])}
FROM _students s LEFT JOIN _values v ON v.student_id = s.pk ORDER BY s.row"""
    return sql, (*students_params, *values_params)


def programme_names(programme_ids=None):
    """{programme id: (code, name)}, for the per-programme sheets. One query."""
    programmes = Programme.objects.order_by("code")
    if programme_ids is not None:
        programmes = programmes.filter(pk__in=programme_ids)
    return {pk: (code, name) for pk, code, name in programmes.values_list("pk", "code", "name")}
