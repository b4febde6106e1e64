"""Index operations for tenant migrations that run both ways a schema is migrated.

A release migrates each existing tenant's schema outside a transaction when the migration is
not atomic, so its indexes are built and dropped CONCURRENTLY, holding no writes (README,
"Zero-downtime rollout"). A schema made inside a transaction (a tenant created where no
template can be built yet, a test) is new and its tables empty: there Django's concurrent
operations would refuse to run, and these run as plain CREATE and DROP INDEX."""
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


class AddIndexConcurrently(_PlainInsideTransactions, postgres.AddIndexConcurrently):
    concurrent, plain = postgres.AddIndexConcurrently, migrations.AddIndex


class RemoveIndexConcurrently(_PlainInsideTransactions, postgres.RemoveIndexConcurrently):
    concurrent, plain = postgres.RemoveIndexConcurrently, migrations.RemoveIndex
