"""Fixtures for every app's tests.

The test tenant and a second tenant are created once per test session. Each test runs in
a rolled-back transaction with the connection set to the test tenant's schema; tests that
must commit (concurrency, browser) use `committed_tenant` instead, which truncates the
tenant's tables afterwards. Never use pytest-django's transactional_db or live_server:
their flush would empty the public schema's tenant registry.
"""
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from testing.clients import TenantAPIClient, bearer_client
from testing.factories import StaffUserFactory
from testing.tenancy import OTHER_TENANT, TEST_TENANT, ensure_test_tenants, truncate_tenant_data


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tenant, other = ensure_test_tenants()
        truncate_tenant_data(tenant.schema_name)
        truncate_tenant_data(other.schema_name)
        connection.set_schema_to_public()


@pytest.fixture(scope="session")
def test_tenants(django_db_setup, django_db_blocker):
    from tenants.models import Tenant

    with django_db_blocker.unblock():
        return Tenant.objects.get(slug=TEST_TENANT["slug"]), Tenant.objects.get(slug=OTHER_TENANT["slug"])


@pytest.fixture(autouse=True)
def _tenant_schema(request, test_tenants):
    """Every test runs in the test tenant's schema, inside a rolled-back transaction,
    unless it asks for `committed_tenant`."""
    if "committed_tenant" in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")
    connection.set_tenant(test_tenants[0])
    yield
    connection.set_schema_to_public()


@pytest.fixture
def tenant(test_tenants):
    return test_tenants[0]


@pytest.fixture
def other_tenant(test_tenants):
    return test_tenants[1]


@pytest.fixture
def committed_tenant(test_tenants, django_db_blocker):
    """The test tenant with real commits (for concurrency and browser tests); emptied afterwards."""
    tenant = test_tenants[0]
    with django_db_blocker.unblock():
        connection.set_tenant(tenant)
        try:
            yield tenant
        finally:
            connection.set_schema_to_public()
            truncate_tenant_data(tenant.schema_name)
            connection.set_schema_to_public()


@pytest.fixture
def host(tenant):
    return TEST_TENANT["domain"]


@pytest.fixture
def other_host(other_tenant):
    return OTHER_TENANT["domain"]


# People -------------------------------------------------------------------------------


@pytest.fixture
def admin_user(tenant):
    return StaffUserFactory(email="admin@uni.example", full_name="Ada Admin", roles=["admin"])


@pytest.fixture
def operator_user(tenant):
    return StaffUserFactory(email="operator@uni.example", full_name="Obi Operator", roles=["operator"])


@pytest.fixture
def viewer_user(tenant):
    return StaffUserFactory(email="viewer@uni.example", full_name="Vera Viewer", roles=["viewer"])


@pytest.fixture
def ingest_user(tenant):
    return StaffUserFactory(email="runtime@uni.example", full_name="Case-study runtime", roles=["ingest"])


@pytest.fixture
def other_tenant_user(other_tenant, tenant):
    """An admin of the other tenant (created in its schema)."""
    with schema_context(other_tenant.schema_name):
        user = StaffUserFactory(email="admin@other.example", full_name="Otto Other", roles=["admin"])
    connection.set_tenant(tenant)
    return user


# Clients --------------------------------------------------------------------------------


@pytest.fixture
def anon_client(host):
    return TenantAPIClient(host)


@pytest.fixture
def api_as(host):
    """api_as(user) -> an API client on the test tenant's host with a Bearer token for user."""
    return lambda user: bearer_client(host, user)


@pytest.fixture
def admin_client(api_as, admin_user):
    return api_as(admin_user)


@pytest.fixture
def operator_client(api_as, operator_user):
    return api_as(operator_user)


@pytest.fixture
def viewer_client(api_as, viewer_user):
    return api_as(viewer_user)


@pytest.fixture
def ingest_client(api_as, ingest_user):
    return api_as(ingest_user)


@pytest.fixture
def other_tenant_client(other_host, other_tenant_user, other_tenant, tenant):
    """A client on the other tenant's host, authenticated as that tenant's admin."""
    with schema_context(other_tenant.schema_name):
        client = bearer_client(other_host, other_tenant_user)
    connection.set_tenant(tenant)
    return client
