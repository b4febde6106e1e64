"""Tenants never see each other's data: not through caches, not through the admin."""
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from config.errors import MSG_PERMISSION_DENIED
from testing.factories import StaffUserFactory


def test_cache_entries_are_scoped_to_the_tenant(tenant, other_tenant):
    cache.set("dashboard", "tenant-a")
    with schema_context(other_tenant.schema_name):
        assert cache.get("dashboard") is None
        cache.set("dashboard", "tenant-b")
    connection.set_tenant(tenant)
    assert cache.get("dashboard") == "tenant-a"


def test_missing_permission_is_403_in_envelope(viewer_client):
    response = viewer_client.get("/v1/console/attempts/grants", {"user_id": "x"})
    assert response.status_code == 403
    assert response.json() == {
        "success": False, "data": None, "message": MSG_PERMISSION_DENIED, "code": "PERMISSION_DENIED", "errors": None,
    }


def test_tenant_admin_site_serves_the_tenants_staff_only(host, other_host, tenant, other_tenant):
    admin = StaffUserFactory(email="root@uni.example", roles=["admin"], is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST=host)
    client.force_login(admin)
    response = client.get("/admin/students/student/")
    connection.set_tenant(tenant)
    assert response.status_code == 200
    # The same session cookie sent to tenant B: sessions live in each tenant's schema.
    response = client.get("/admin/students/student/", HTTP_HOST=other_host)
    connection.set_tenant(tenant)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
