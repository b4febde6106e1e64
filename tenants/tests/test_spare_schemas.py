"""Creating a tenant renames a ready, migrated spare schema (well under a second) and gives the
same schema as migrating one would; a spare made before newer migrations is brought up to
date first. These tests commit for real (migrations run outside the test's transaction) and
drop what they made."""
import time

import pytest
from django.db import connection

from tenants.models import Tenant
from tenants.provisioning import services


@pytest.fixture
def committed(committed_tenant):
    """Real commits (committed_tenant), and the tenants and spares made here dropped after."""
    connection.set_schema_to_public()
    try:
        yield
    finally:
        connection.set_schema_to_public()
        for tenant in Tenant.objects.filter(slug__startswith="sparetest"):
            tenant.delete(force_drop=True)
        services.spare_schemas_drop()


def _shape(schema):
    """Tables and columns, indexes, constraints, triggers, functions and collations of a schema."""
    queries = {
        "columns": "SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':' || "
        "coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = %s",
        "indexes": "SELECT indexname || ':' || replace(indexdef, %s || '.', '') FROM pg_indexes WHERE schemaname = %s",
        "constraints": "SELECT conname || ':' || pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE nspname = %s",
        "triggers": "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = %s AND NOT tgisinternal",
        "functions": "SELECT proname || ':' || md5(prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE nspname = %s",
        "collations": "SELECT collname FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE nspname = %s",
        "migrations": f'SELECT app || \'.\' || name FROM "{schema}".django_migrations',
        "roles": f'SELECT name FROM "{schema}".accounts_role',
    }
    shape = {}
    with connection.cursor() as cursor:
        for key, sql in queries.items():
            params = [schema, schema] if key == "indexes" else ([] if key in ("migrations", "roles") else [schema])
            cursor.execute(sql, params)
            shape[key] = sorted(row[0].replace(f"{schema}.", "") for row in cursor.fetchall())
    return shape


def test_a_tenant_made_from_the_spare_is_the_schema_migrations_make_and_quick(committed):
    services.spare_schema_ensure()
    assert len(services.spare_schemas()) == 1
    started = time.perf_counter()
    tenant = services.tenant_create(slug="sparetest_a", name="A", domain="sparetest-a.localhost")
    elapsed = time.perf_counter() - started
    assert services.spare_schemas() == []
    migrated = services.tenant_create(slug="sparetest_b", name="B", domain="sparetest-b.localhost")  # no spare left
    assert _shape(tenant.schema_name) == _shape(migrated.schema_name)
    assert elapsed < 1.0, elapsed  # renaming, not migrating (a loose bound on a shared machine)


def test_a_spare_older_than_the_migrations_is_brought_up_to_date(committed):
    from django.db.migrations.executor import MigrationExecutor

    spare = services.spare_schema_ensure()
    # As if made before students 0008: its migrations from 0008 on (and whatever depends on
    # them) really unapplied in the spare, columns, indexes and triggers gone.
    connection.set_schema(spare, include_public=False)
    try:
        MigrationExecutor(connection).migrate([("students", "0007_listed_counts")])
    finally:
        connection.set_schema_to_public()
    assert _maintained_columns(spare) == set()
    tenant = services.tenant_create(slug="sparetest_c", name="C", domain="sparetest-c.localhost")
    assert _maintained_columns(tenant.schema_name) == {"programme_ids", "overall_case_studies"}


def _maintained_columns(schema):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'students_student' "
            "AND column_name IN ('programme_ids', 'overall_case_studies')",
            [schema],
        )
        return {row[0] for row in cursor.fetchall()}


def test_spare_names_are_not_tenant_slugs(tenant):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.tenant_create(slug="spare_x", name="x", domain="spare-x.localhost")
