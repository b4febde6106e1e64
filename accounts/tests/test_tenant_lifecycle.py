"""`manage.py tenant_suspend` and `tenant_resume`: a suspended tenant's host answers 503 to
every request (the envelope on /v1/, a page elsewhere), its data kept and other tenants served;
resumed, it answers as before; both audited in the tenant's own trail."""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from accounts.models import AuditEvent
from config.errors import MSG_TENANT_SUSPENDED, TENANT_SUSPENDED
from students.models import Student
from testing.clients import TenantAPIClient
from testing.factories import StudentFactory


def _suspend(tenant, **options):
    connection.set_schema_to_public()
    call_command("tenant_suspend", tenant=tenant.slug, **options)
    connection.set_tenant(tenant)


def test_a_suspended_tenant_answers_503_everywhere_and_keeps_its_data(tenant, host, admin_client, other_host):
    StudentFactory.create_batch(3)
    assert admin_client.get("/v1/console/students").status_code == 200
    _suspend(tenant, reason="Contract under renewal")

    api = admin_client.get("/v1/console/students")
    assert api.status_code == 503 and api["Cache-Control"] == "no-store"
    assert api.json() == {"success": False, "data": None, "message": MSG_TENANT_SUSPENDED,
                          "code": TENANT_SUSPENDED, "errors": None}
    for path in ("/login/", "/students/", "/admin/", "/no/such/page/"):
        page = Client(HTTP_HOST=host).get(path)
        assert page.status_code == 503 and b"console is suspended" in page.content, path
        assert b"Contract under renewal" not in page.content  # the reason is for the operators
    assert TenantAPIClient(host).post("/v1/auth/token", {"email": "a@b.c", "password": "x"}, format="json").status_code == 503
    assert TenantAPIClient(other_host).get("/v1/console/students").status_code == 401  # others served as ever
    assert Student.objects.count() == 3

    connection.set_schema_to_public()
    call_command("tenant_resume", tenant=tenant.slug)
    connection.set_tenant(tenant)
    assert admin_client.get("/v1/console/students").json()["total"] == 3
    events = list(AuditEvent.objects.filter(target_type="tenant").order_by("occurred_at", "id"))
    assert [e.action for e in events] == ["tenant.suspend", "tenant.resume"]
    assert events[0].via == "system"
    assert events[0].changes["suspended_reason"] == ["", "Contract under renewal"]
    assert events[1].changes["suspended_reason"] == ["Contract under renewal", ""]


@pytest.mark.parametrize("options, message", [
    ({"tenant": "nope", "reason": "x"}, "No tenant with slug 'nope'"),
    ({"tenant": "public", "reason": "x"}, "No tenant with slug 'public'"),
    ({"tenant": "test", "reason": "   "}, "reason"),
    ({"tenant": "test", "reason": "x" * 501}, "reason"),
])
def test_bad_suspensions_are_refused_and_change_nothing(tenant, options, message):
    connection.set_schema_to_public()
    with pytest.raises(CommandError, match=message):
        call_command("tenant_suspend", **options)
    tenant.refresh_from_db()
    assert tenant.suspended_at is None
