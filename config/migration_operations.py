"""Index operations for tenant migrations that run both ways a schema is migrated.

A release migrates each existing tenant's schema outside a transaction when the migration is
not atomic, so its indexes are built and dropped CONCURRENTLY, holding no writes (README,
"Zero-downtime rollout"). A schema made inside a transaction (a tenant created where no
template can be built yet, a test) is new and its tables empty: there Django's concurrent
operations would refuse to run, and these run as plain CREATE and DROP INDEX.

A concurrent build that fails or is interrupted (a duplicate under a unique index, a
cancelled statement, a lost connection) leaves an invalid index of its name behind, which
PostgreSQL keeps up on every write and never reads; the migration, run again, would stop at
"already exists". `AddIndexConcurrently` drops such a leftover of its own name first, so a
release that failed half-way is finished by running it again. A valid index of that name is
left alone and stops the migration, as it should."""
from django.contrib.postgres import operations as postgres
from django.db import migrations
from django.db.migrations.operations.base import Operation


class _PlainInsideTransactions(Operation):
    """Runs as `concurrent` outside a transaction and as `plain` (the same operation without
    CONCURRENTLY) inside one."""

    concurrent: type[Operation]
    plain: type[Operation]

    def _way(self, schema_editor):
        return self.plain if schema_editor.connection.in_atomic_block else self.concurrent

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._way(schema_editor).database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._way(schema_editor).database_backwards(self, app_label, schema_editor, from_state, to_state)


def _drop_invalid_index(schema_editor, name):
    """Drops the index `name` of the schema being migrated if it is invalid: what a failed or
    interrupted concurrent build of it left."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE c.relname = %s AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND NOT i.indisvalid""",
            [name],
        )
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class AddIndexConcurrently(_PlainInsideTransactions, postgres.AddIndexConcurrently):
    concurrent, plain = postgres.AddIndexConcurrently, migrations.AddIndex

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not schema_editor.connection.in_atomic_block:
            _drop_invalid_index(schema_editor, self.index.name)
        super().database_forwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrently(_PlainInsideTransactions, postgres.RemoveIndexConcurrently):
    concurrent, plain = postgres.RemoveIndexConcurrently, migrations.RemoveIndex
