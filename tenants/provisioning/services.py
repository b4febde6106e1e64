"""Writes for tenants.

Creating a tenant needs a schema with every tenant migration applied, which takes a second or
two of migrations. So one such schema is kept ready (a *spare*, named `spare_<hex>`, never
routed to): creating a tenant renames it to the tenant's slug, an instant catalogue change
that takes every table, index, trigger, function and collation along, after applying any
migration that landed since the spare was made. `spare_schema_ensure` makes the next one
(`create_tenant` does it after reporting; `prepare_demo` at start). Without a spare, creating
a tenant migrates a new schema as django-tenants does.
"""
import re
import secrets

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context

from tenants.models import Domain, Tenant, validate_time_zone

SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SPARE_PREFIX = "spare_"
# Serialises taking a spare between concurrent creations (pg_advisory_xact_lock key).
_SPARE_LOCK = 7_261_123


def spare_schemas():
    """The names of the spare schemas waiting, in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname", [SPARE_PREFIX.replace("_", r"\_") + "%"]
        )
        return [row[0] for row in cursor.fetchall()]


def spare_schemas_drop():
    """Drop every spare schema (the next tenant is then migrated as it is created)."""
    with connection.cursor() as cursor:
        for spare in spare_schemas():
            cursor.execute(f'DROP SCHEMA "{spare}" CASCADE')


def _migrate_schema(schema_name):
    call_command("migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def _is_current(schema_name):
    """Whether every tenant migration is applied in this schema."""
    with schema_context(schema_name):
        executor = MigrationExecutor(connection)
        return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def spare_schema_ensure():
    """A spare schema with every tenant migration applied: the waiting one, or a new one
    (which takes the time of every migration). Returns its name."""
    spares = spare_schemas()
    if spares:
        return spares[0]
    name = SPARE_PREFIX + secrets.token_hex(6)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
    _migrate_schema(name)
    return name


def _take_spare(slug):
    """Rename the waiting spare (brought up to date first) to `slug`. False when none waits."""
    for spare in spare_schemas():
        if not _is_current(spare):
            _migrate_schema(spare)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SPARE_LOCK])
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [spare])
            if cursor.fetchone() is None:
                continue  # another creation took it meanwhile
            cursor.execute(f'ALTER SCHEMA "{spare}" RENAME TO "{slug}"')
            return True
    return False


def tenant_create(*, slug, name, domain, time_zone="UTC"):
    """Create a tenant, its schema (with every tenant migration) and its primary domain."""
    if not SLUG_RE.match(slug) or slug == "public" or slug.startswith(SPARE_PREFIX):
        raise ValidationError(
            {"slug": f"Use 1-63 lowercase letters, digits or underscores, starting with a letter (not 'public' or {SPARE_PREFIX}…)."}
        )
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from None
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A tenant with slug {slug!r} already exists."})
    if Domain.objects.filter(domain=domain).exists():
        raise ValidationError({"domain": f"The domain {domain!r} is already in use."})
    tenant = Tenant(schema_name=slug, slug=slug, name=name, time_zone=time_zone)
    connection.set_schema_to_public()
    if _take_spare(slug):
        tenant.auto_create_schema = False  # its schema is the spare, renamed
    tenant.save(verbosity=0)  # without a spare: creates and migrates the schema
    with transaction.atomic():
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    return tenant


def public_tenant_ensure(domain="localhost"):
    """The public schema's own row, so the platform admin answers on `domain`."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name="public", defaults={"slug": "public", "name": "Platform", "time_zone": "UTC"}
    )
    Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant
