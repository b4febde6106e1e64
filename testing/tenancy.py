"""Test tenants: created once per test session, reused by every test."""
from django.db import connection
from django_tenants.utils import schema_context

from tenants.models import Tenant
from tenants.provisioning.services import public_tenant_ensure, tenant_create

TEST_TENANT = {"slug": "test", "name": "Test University", "domain": "test.localhost", "time_zone": "Africa/Lagos"}
OTHER_TENANT = {"slug": "other", "name": "Other University", "domain": "other.localhost", "time_zone": "UTC"}

# Kept on truncation: migration state and the rows migrations create.
_KEEP_TABLES = {"django_migrations", "accounts_role", "django_content_type", "auth_permission"}


def ensure_tenant(spec):
    tenant = Tenant.objects.filter(slug=spec["slug"]).first()
    if tenant is None:
        tenant = tenant_create(**spec)
    return tenant


def ensure_test_tenants():
    public_tenant_ensure("localhost")
    return ensure_tenant(TEST_TENANT), ensure_tenant(OTHER_TENANT)


def truncate_tenant_data(schema_name):
    """Remove every committed row of a tenant schema (for tests that must commit)."""
    with schema_context(schema_name), connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema_name]
        )
        tables = [row[0] for row in cursor.fetchall() if row[0] not in _KEEP_TABLES]
        if tables:
            names = ", ".join(f'"{schema_name}"."{t}"' for t in tables)
            cursor.execute(f"TRUNCATE {names} CASCADE")
        # and the tenant's jobs on the one queue (public schema), e.g. webhook wake-ups
        cursor.execute("DELETE FROM public.procrastinate_jobs WHERE args->>'schema' = %s", [schema_name])
