import pytest
from django.core.management import CommandError, call_command

from tenants.models import Tenant


def test_create_tenant_rejects_bad_slug_and_time_zone():
    with pytest.raises(CommandError):
        call_command("create_tenant", slug="Bad Slug", name="x", domain="bad.localhost")
    with pytest.raises(CommandError):
        call_command("create_tenant", slug="tz", name="x", domain="tz.localhost", time_zone="Mars/Olympus")
    assert not Tenant.objects.filter(slug__in=["tz"]).exists()


def test_create_tenant_rejects_a_taken_domain(tenant):
    with pytest.raises(CommandError, match="already"):
        call_command("create_tenant", slug="dupe", name="x", domain="test.localhost")


def test_create_tenant_if_missing_is_a_no_op_for_an_existing_slug(tenant):
    call_command("create_tenant", slug="test", name="Again", domain="again.localhost", if_missing=True)
    assert Tenant.objects.get(slug="test").name == "Test University"
