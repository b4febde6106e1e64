"""config.migration_operations on a tenant's schema: CONCURRENTLY outside a transaction (as a
release migrates an existing tenant), plainly inside one (a schema made in a transaction)."""
import pytest
from django.db import IntegrityError, ProgrammingError, connection, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from config.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently

INDEX = "standing_probe_t"
ADD = AddIndexConcurrently(model_name="casestudystanding", index=models.Index(fields=["sessions"], name=INDEX))


def _indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'attempts_standing'")
        return {name for (name,) in cursor.fetchall()}


def _run(operation, states, *, backwards=False):
    """The statements `operation` ran, forwards or backwards between `states`."""
    before, after = states
    run, old, new = (operation.database_backwards, after, before) if backwards else (operation.database_forwards, before, after)
    with CaptureQueriesContext(connection) as queries, connection.schema_editor(atomic=False) as editor:
        run("attempts", editor, old, new)
    return " ".join(query["sql"] for query in queries.captured_queries if "INDEX" in query["sql"])


def _states(*operations):
    """The states before and after the last of `operations`, applied in turn to 0006's."""
    after = MigrationLoader(None, ignore_no_migrations=True).project_state(("attempts", "0006_standing_index_by_case_study"))
    for operation in operations:
        before, after = after, after.clone()
        operation.state_forwards("attempts", after)
    return before, after


def test_outside_a_transaction_indexes_are_built_and_dropped_concurrently(committed_tenant):
    states = _states(ADD)
    assert not connection.in_atomic_block
    try:
        sql = _run(ADD, states)
        assert "CREATE INDEX CONCURRENTLY" in sql and INDEX in _indexes()
        sql = _run(ADD, states, backwards=True)
        assert "DROP INDEX CONCURRENTLY" in sql and INDEX not in _indexes()
        remove = RemoveIndexConcurrently(model_name="casestudystanding", name=INDEX)
        _run(ADD, states)
        sql = _run(remove, _states(ADD, remove))
        assert "DROP INDEX CONCURRENTLY" in sql and INDEX not in _indexes()
    finally:  # DDL outlives the tenant's emptying
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def _valid(name):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE c.relname = %s AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())""",
            [name],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def test_a_build_left_invalid_is_dropped_and_built_again(committed_tenant):
    """A concurrent build that failed (here: two equal values under a unique index) leaves an
    invalid index of its name; the operation, run again, replaces it with a valid one. A valid
    index of that name is not touched: the migration stops."""
    states = _states(ADD)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO attempts_standing (student_id, case_study_id, sessions, attempts_used, completed, extra_attempts)"
            " VALUES ('s-1', 'cs-1', 1, 1, 0, 0), ('s-2', 'cs-1', 1, 1, 0, 0)"
        )
    try:
        with pytest.raises(IntegrityError), connection.cursor() as cursor:
            cursor.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {INDEX} ON attempts_standing (sessions)")
        assert _valid(INDEX) is False
        sql = _run(ADD, states)
        assert "DROP INDEX CONCURRENTLY" in sql and "CREATE INDEX CONCURRENTLY" in sql
        assert _valid(INDEX) is True
        with pytest.raises(ProgrammingError, match="already exists"):
            _run(ADD, states)
        assert _valid(INDEX) is True
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def test_inside_a_transaction_they_run_plainly_and_roll_back_with_it(tenant):
    states = _states(ADD)
    with transaction.atomic():
        sql = _run(ADD, states)
        assert "CREATE INDEX" in sql and "CONCURRENTLY" not in sql and INDEX in _indexes()
        remove = RemoveIndexConcurrently(model_name="casestudystanding", name=INDEX)
        sql = _run(remove, _states(ADD, remove))
        assert "DROP INDEX" in sql and "CONCURRENTLY" not in sql and INDEX not in _indexes()
        sql = _run(remove, _states(ADD, remove), backwards=True)
        assert "CREATE INDEX" in sql and "CONCURRENTLY" not in sql and INDEX in _indexes()
        transaction.set_rollback(True)
    assert INDEX not in _indexes()
