"""Migrating many tenant schemas: only the ones behind, each for a few database round trips.

django-tenants runs Django's `migrate` command once per schema, and each run loads the
migration graph, renders every model's state from the first migration on, and sends the
post-migrate signals, whether or not anything is to be applied: most of a second per schema.
Here:

- One query reads every schema's applied migrations (a `UNION ALL` over their
  `django_migrations` tables), and a schema with nothing to apply is not visited at all, so a
  deploy with no new migrations costs one query, not a second per tenant.
- The schemas behind are migrated in worker processes (`MIGRATION_PROCESSES`), each of which
  loads the graph once and renders the state before the plan once per distinct set of applied
  migrations (in practice one: every tenant is at the previous release). Each schema then pays
  only for its own SQL and the records of what was applied, and for the post-migrate signals
  (content types and permissions) when the plan adds or changes models.
- A schema whose migration fails is reported by name with the error, and the others go on;
  the command then exits non-zero, so a deploy stops before new code relies on that schema.
"""
from dataclasses import dataclass

from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from tenants.provisioning.pool import fork_pool

# Schemas per UNION ALL statement: one statement for a thousand tenants, bounded for more.
_SCHEMAS_PER_QUERY = 2000


def applied_migrations(schemas):
    """{schema: frozenset of (app, name) applied}, read in one query per 2,000 schemas. A
    schema without a django_migrations table has an empty set."""
    applied = {schema: set() for schema in schemas}
    with connection.cursor() as cursor:
        cursor.execute(  # the catalogue's index on (relname, relnamespace), not information_schema's scan
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [list(schemas)],
        )
        recorded = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(recorded), _SCHEMAS_PER_QUERY):
            chunk = recorded[start:start + _SCHEMAS_PER_QUERY]
            sql = " UNION ALL ".join(
                f"SELECT %s, app, name FROM \"{schema}\".django_migrations" for schema in chunk
            )
            cursor.execute(sql, chunk)
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return {schema: frozenset(names) for schema, names in applied.items()}


def migration_graph():
    """The migrations on disk (no database read)."""
    return MigrationLoader(None, ignore_no_migrations=True)


def is_current(applied, loader):
    """Whether a schema with these migrations applied has nothing left to apply. A squashed
    migration counts as applied when every migration it replaces is (as Django counts it)."""
    for key in loader.graph.nodes:
        if key in applied:
            continue
        replaced = loader.replacements.get(key)
        if replaced is None or not all(old in applied for old in replaced.replaces):
            return False
    return True


def schemas_behind(schemas):
    """The schemas, in the order given, that have a migration to apply."""
    loader = migration_graph()
    applied = applied_migrations(schemas)
    verdicts = {}
    behind = []
    for schema in schemas:
        if applied[schema] not in verdicts:
            verdicts[applied[schema]] = is_current(applied[schema], loader)
        if not verdicts[applied[schema]]:
            behind.append(schema)
    return behind


@dataclass
class Outcome:
    schema: str
    applied: list
    error: str = ""


def _models_changed(before, after):
    """Whether a plan added, removed or renamed a model or changed its permissions: all that
    the post-migrate handlers act on (content types and permissions, the only ones installed).
    A plan of columns, indexes and SQL leaves them nothing to do, and they cost more than the
    migration itself (some 60 queries a schema), so they are not sent for it."""
    def shape(state):
        return {key: (model.options.get("permissions"), model.options.get("default_permissions"))
                for key, model in state.models.items()}

    return shape(before) != shape(after)


class SchemaMigrator:
    """Applies the pending migrations to one schema after another in this process, reusing
    the graph and the rendered states between schemas at the same migrations."""

    def __init__(self):
        self._states = {}  # frozenset(applied) → (state before the plan, apps after it)
        self._executor = None

    def _executor_for_schema(self):
        """This process's executor, its graph loaded from disk once, with the current schema's
        applied migrations read afresh. A graph with squashed migrations depends on what is
        applied, so it is then loaded again for each schema, as Django does."""
        if self._executor is None or self._executor.loader.replacements:
            self._executor = MigrationExecutor(connection)
        else:
            self._executor.loader.applied_migrations = self._executor.recorder.applied_migrations()
        return self._executor

    def migrate(self, schema):
        connection.set_schema(schema, include_public=False)
        MigrationRecorder(connection).ensure_schema()
        connection.set_schema(schema)
        try:
            executor = self._executor_for_schema()
            executor.loader.check_consistent_history(connection)
            targets = executor.loader.graph.leaf_nodes()
            plan = executor.migration_plan(targets)
            if not plan:
                return Outcome(schema, [])
            key = frozenset(executor.loader.applied_migrations)
            if key not in self._states:
                self._states[key] = [executor._create_project_state(with_applied_migrations=True), None]
            before, post_apps = self._states[key]
            emit_pre_migrate_signal(0, False, connection.alias, apps=before.apps, plan=plan)
            after = executor.migrate(targets, plan=plan, state=before.clone())
            if post_apps is None:
                after.clear_delayed_apps_cache()
                post_apps = self._states[key][1] = after.apps if _models_changed(before, after) else False
            if post_apps:  # content types and permissions for new models
                emit_post_migrate_signal(0, False, connection.alias, apps=post_apps, plan=plan)
            return Outcome(schema, [f"{migration.app_label}.{migration.name}" for migration, _ in plan])
        except Exception as exc:  # reported by schema; the other schemas go on
            return Outcome(schema, [], f"{type(exc).__name__}: {exc}")
        finally:
            connection.set_schema_to_public()


_migrator = None


def _migrate_in_worker(schema):
    global _migrator
    if _migrator is None:
        _migrator = SchemaMigrator()
    outcome = _migrator.migrate(schema)
    if outcome.error:
        connection.close()  # a failed statement may have left the connection unusable
    return outcome


def migrate_schemas(schemas, processes=None, report=None):
    """Apply pending migrations to these schemas, `processes` at once; a list of Outcome in
    the order finished. `report(outcome)` is called as each one finishes."""
    processes = processes or settings.TENANT_MULTIPROCESSING_MAX_PROCESSES
    outcomes = []
    if processes <= 1 or len(schemas) <= 1:
        migrator = SchemaMigrator()
        for schema in schemas:
            outcomes.append(migrator.migrate(schema))
            if report:
                report(outcomes[-1])
        return outcomes
    with fork_pool(min(processes, len(schemas))) as pool:
        for outcome in pool.imap_unordered(_migrate_in_worker, schemas, chunksize=4):
            outcomes.append(outcome)
            if report:
                report(outcome)
    return outcomes
