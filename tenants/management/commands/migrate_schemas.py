"""django-tenants' `migrate_schemas`, with every tenant migrated only when it is behind.

Migrating all tenants (no `--schema`, app label or migration name, and none of `--fake`,
`--fake-initial`, `--plan`, `--prune`, `--check`) reads every tenant schema's applied
migrations in one query, leaves the schemas already at the target alone, and migrates the
others `MIGRATION_PROCESSES` at a time (tenants.provisioning.migrating). A schema that fails
is named with its error and the rest go on; the command then fails. Anything else is
django-tenants' own command.
"""
import time

from django.core.management.base import CommandError
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name

from tenants.models import Tenant
from tenants.provisioning.migrating import migrate_schemas, schemas_behind

_DJANGO_TENANTS_ONLY = ("app_label", "migration_name", "fake", "fake_initial", "plan", "prune", "check_unapplied")


class Command(MigrateSchemasCommand):
    help = MigrateSchemasCommand.help + " Tenant schemas already at the target are skipped."

    def handle(self, *args, **options):
        if options.get("schema_name") or any(options.get(name) for name in _DJANGO_TENANTS_ONLY):
            return super().handle(*args, **options)
        self.sync_tenant = options.get("tenant")
        self.sync_public = options.get("shared")
        if not self.sync_public and not self.sync_tenant:
            self.sync_tenant = self.sync_public = True
        if self.sync_public:
            executor = get_executor(codename=options.get("executor"))(args, options)
            executor.run_migrations(tenants=[get_public_schema_name()])
        if self.sync_tenant:
            self._migrate_tenants(options)

    def _migrate_tenants(self, options):
        verbosity = int(options.get("verbosity", 1))
        started = time.perf_counter()
        schemas = self._tenant_schemas()
        behind = schemas_behind(schemas)
        if verbosity:
            self.stdout.write(
                f"{len(schemas) - len(behind)} of {len(schemas)} tenant schemas up to date "
                f"({time.perf_counter() - started:.2f} s); {len(behind)} to migrate."
            )

        def report(outcome):
            if outcome.error:
                self.stderr.write(f"[{outcome.schema}] FAILED: {outcome.error}")
            elif verbosity >= 2:
                self.stdout.write(f"[{outcome.schema}] applied {', '.join(outcome.applied) or 'nothing'}")

        outcomes = []
        while behind:
            outcomes += migrate_schemas(behind, report=report)
            # A tenant made meanwhile by a process on the release before (from its template)
            # is behind too: looked for until none is new.
            known = set(schemas)
            schemas = self._tenant_schemas()
            behind = schemas_behind([schema for schema in schemas if schema not in known])
        if not outcomes:
            return
        failed = sorted(outcome.schema for outcome in outcomes if outcome.error)
        if verbosity:
            self.stdout.write(
                f"Migrated {len(outcomes) - len(failed)} tenant schemas in {time.perf_counter() - started:.1f} s."
            )
        if failed:
            raise CommandError(f"{len(failed)} tenant schema(s) failed to migrate: {', '.join(failed)}")

    @staticmethod
    def _tenant_schemas():
        return list(
            Tenant.objects.exclude(schema_name=get_public_schema_name()).order_by("pk").values_list("schema_name", flat=True)
        )
