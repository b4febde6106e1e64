"""Moving many rows with PostgreSQL's COPY. In: for tens of thousands of rows several times
faster than INSERT (no SQL to build and parse per row); the session import, the enrolments of
the student import and the audit events of both write this way. Out: a query's rows as COPY
writes them (the list's downloads), with nothing built per row in Python."""
from contextlib import nullcontext

from django.db import connection
from django.db.backends.utils import CursorDebugWrapper


def copy_rows(model, field_names, rows):
    """COPY `rows` (tuples in the order of `field_names`, a field's name or attname) into the
    model's table, in the caller's transaction. Constraint violations raise as an INSERT's
    would: Django's IntegrityError, not psycopg's."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in field_names)
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def copy_out(db, sql, params, *, options):
    """The rows of the query `sql` (with `params`) as COPY (…) TO STDOUT (`options`) writes
    them, one memoryview per row with its line end, on the connection `db` (its tenant's
    search_path holds, in either pool mode: run it inside transaction.atomic). The connection is
    busy until the last row is read. Logged like a query where queries are (tests, DEBUG)."""
    statement = f"COPY ({sql}) TO STDOUT ({options})"
    with db.cursor() as cursor, db.wrap_database_errors:
        logged = cursor.debug_sql(statement, params) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
        with logged, cursor.cursor.copy(statement, params) as copy:
            yield from copy
