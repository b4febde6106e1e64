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


@pytest.fixture
def preview_then_confirm():
    """preview_then_confirm(client, data, url="/students/") -> (preview, outcome): a bulk action
    as staff take it from the students list. The first post must draw the preview (200) and
    change nothing the ledger, audit trail, archive flags or groups hold; then its confirm
    button's fields are posted, following the redirect."""
    from accounts.models import AuditEvent
    from attempts.models import AttemptGrant
    from students.models import GroupMembership, Student

    def state():
        archived = sorted(Student.objects.values_list("pk", "archived"))
        return AttemptGrant.objects.count(), AuditEvent.objects.count(), GroupMembership.objects.count(), archived

    def run(client, data, url="/students/"):
        before = state()
        preview = client.post(url, data)
        assert preview.status_code == 200, preview.content.decode()
        assert "console/students/bulk_preview.html" in [t.name for t in preview.templates]
        assert state() == before
        confirm: dict[str, list] = {}
        for name, value in preview.context["confirm_fields"]:
            confirm.setdefault(name, []).append(value)
        return preview, client.post(url, confirm, follow=True)

    return run
