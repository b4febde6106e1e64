"""The host → tenant mapping is cached (no query in the steady state) and forgotten the moment
a tenant or domain changes."""
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Domain, Tenant
from tenants.routing.selectors import tenant_for_host
from testing.clients import bearer_client
from testing.tenancy import TEST_TENANT

URL = "/v1/console/students"


def _get(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    return response, [q["sql"] for q in queries.captured_queries]


def test_the_steady_state_spends_no_query_on_the_tenant_or_the_user_s_roles(host, viewer_user):
    client = bearer_client(host, viewer_user)
    response, sql = _get(client)
    assert response.status_code == 200
    assert not [q for q in sql if "tenants_domain" in q or "tenants_tenant" in q]
    assert not [q for q in sql if q.startswith('SELECT ("accounts_staffuser_roles"')]
    assert sum("accounts_apitoken" in q for q in sql) == 1


def test_a_renamed_domain_is_followed_at_once(host, viewer_user, tenant):
    client = bearer_client(host, viewer_user)
    assert client.get(URL).status_code == 200
    domain = Domain.objects.get(domain=host)
    domain.domain = "renamed.localhost"
    domain.save()
    assert client.get(URL).status_code == 404
    connection.set_tenant(tenant)
    moved = bearer_client("renamed.localhost", viewer_user)
    assert moved.get(URL).status_code == 200


def test_a_deleted_domain_stops_resolving_at_once(host, viewer_user):
    client = bearer_client(host, viewer_user)
    assert client.get(URL).status_code == 200
    connection.set_schema_to_public()
    Domain.objects.get(domain=host).delete()
    assert client.get(URL).status_code == 404


def test_a_tenant_change_is_seen_by_the_next_request(host):
    connection.set_schema_to_public()
    assert tenant_for_host(host).time_zone == TEST_TENANT["time_zone"]
    tenant = Tenant.objects.get(slug=TEST_TENANT["slug"])
    tenant.time_zone = "Europe/London"
    tenant.save()
    assert tenant_for_host(host).time_zone == "Europe/London"


def test_unknown_hosts_are_not_cached(host, viewer_user, tenant):
    stranger = bearer_client("new.localhost", viewer_user)
    assert stranger.get(URL).status_code == 404
    connection.set_schema_to_public()
    Domain.objects.create(domain="new.localhost", tenant=Tenant.objects.get(slug=TEST_TENANT["slug"]))
    connection.set_tenant(tenant)
    assert stranger.get(URL).status_code == 200


def test_the_cache_of_hosts_is_bounded_whatever_the_number_of_tenants(tenant, settings):
    """A process keeps at most TENANT_CACHE_ENTRIES hosts (here 50, of 200 looked up), the least
    recently used going first, and each lookup still finds its tenant."""
    settings.CACHES = {**settings.CACHES, "platform": {**settings.CACHES["platform"], "OPTIONS": {"MAX_ENTRIES": 50}}}
    connection.set_schema_to_public()
    test_tenant = Tenant.objects.get(slug=TEST_TENANT["slug"])
    Domain.objects.bulk_create(Domain(domain=f"bounded-{n}.localhost", tenant=test_tenant) for n in range(200))
    for n in range(200):
        assert tenant_for_host(f"bounded-{n}.localhost").slug == TEST_TENANT["slug"]
        assert len(caches["platform"]._cache) <= 50
    assert tenant_for_host("bounded-199.localhost").slug == TEST_TENANT["slug"]


def test_the_production_setting_bounds_the_local_cache(settings):
    assert settings.CACHES["platform"]["OPTIONS"]["MAX_ENTRIES"] == settings.TENANT_CACHE_ENTRIES == 5000
