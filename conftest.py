"""Fixtures for every app's tests.

The test tenant and a second tenant are created once per test session. Each test runs in
a rolled-back transaction with the connection set to the test tenant's schema; tests that
must commit (concurrency, browser) use `committed_tenant` instead, which truncates the
tenant's tables afterwards. Never use pytest-django's transactional_db or live_server:
their flush would empty the public schema's tenant registry.
"""
import pytest
from django.core.cache import caches
from django.db import connection
from django_tenants.utils import schema_context

from testing.clients import TenantAPIClient, bearer_client
from testing.factories import StaffUserFactory
from testing.tenancy import OTHER_TENANT, TEST_TENANT, ensure_test_tenants, truncate_tenant_data

pytest_plugins = ["testing.browser"]  # the `server`, `browser` and `page` fixtures of browser tests


def pytest_collection_modifyitems(items):
    # Tests reach the database through `_tenant_schema` (getfixturevalue("db")), which pytest-django
    # cannot see when it decides which test databases to create: without this mark no test
    # database is set up and the run silently uses (and truncates schemas of) the dev database.
    for item in items:
        if "committed_tenant" not in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.django_db)


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's own setup, except that the test database is always created: it only
    counts tests marked django_db, so a run of committed_tenant tests alone would otherwise
    run against the development database."""
    from django.test.utils import setup_databases, teardown_databases

    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose, interactive=False, aliases={"default"}, keepdb=keepdb
        )
        assert connection.settings_dict["NAME"].startswith("test_"), "refusing to run on a non-test database"
        tenant, other = ensure_test_tenants()
        truncate_tenant_data(tenant.schema_name)
        truncate_tenant_data(other.schema_name)
        connection.set_schema_to_public()
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


@pytest.fixture(scope="session")
def test_tenants(django_db_setup, django_db_blocker):
    from tenants.models import Tenant

    with django_db_blocker.unblock():
        return Tenant.objects.get(slug=TEST_TENANT["slug"]), Tenant.objects.get(slug=OTHER_TENANT["slug"])


def _steady_state_tenant_cache():
    """Tests measure requests as they run in the steady state: the test tenants' hosts cached
    (tenants.routing.selectors), nothing else; host → tenant entries cached by an earlier test,
    perhaps of rows its rollback undid, are gone. (`_tenant_schema` then puts the connection on
    the tenant's search_path, as a worker's is after its first request.)"""
    from tenants.routing.selectors import tenant_for_host

    caches["platform"].clear()
    connection.set_schema_to_public()
    for tenant in (TEST_TENANT, OTHER_TENANT):
        tenant_for_host(tenant["domain"])


@pytest.fixture(autouse=True)
def _tenant_schema(request, test_tenants):
    """Every test runs in the test tenant's schema, inside a rolled-back transaction,
    unless it asks for `committed_tenant`."""
    if "committed_tenant" in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")
    _steady_state_tenant_cache()
    connection.set_tenant(test_tenants[0])
    with connection.cursor():
        pass  # the connection's search_path is the tenant's, as a worker's is after its first request
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
