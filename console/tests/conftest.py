import pytest
from django.core.cache import cache

from testing.clients import TenantAPIClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The dashboard caches its figures per tenant; tests share one tenant."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def console_as(host):
    """console_as(user) -> a test client on the tenant's host, signed in with a session."""

    def make(user=None):
        client = TenantAPIClient(host)
        if user is not None:
            client.force_login(user)
        return client

    return make
