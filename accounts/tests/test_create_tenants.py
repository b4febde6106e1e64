"""`manage.py create_tenants --csv`: many tenants in one go, each with its schema, domain and
first admin, who can sign in at once; a file with a bad row creates nothing. These tests commit
(the tenants are made in worker processes) and drop what they made."""
import csv
import os
import stat

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tenants.models import Domain, Tenant
from tenants.provisioning.migrating import schemas_behind
from testing.clients import TenantAPIClient


@pytest.fixture
def cleanup(committed_tenant):
    connection.set_schema_to_public()
    try:
        yield
    finally:
        connection.set_schema_to_public()
        for tenant in Tenant.objects.filter(slug__startswith="bulk_"):
            tenant.delete(force_drop=True)


def _csv(path, rows, header=("slug", "name", "domain", "time_zone", "admin_email")):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _rows(count):
    return [(f"bulk_{n}", f"Bulk University {n}", f"bulk-{n}.localhost", "Africa/Lagos", f"ops@bulk{n}.edu") for n in range(count)]


def test_tenants_from_a_file_are_ready_to_sign_in(cleanup, tmp_path, capsys):
    path = _csv(tmp_path / "tenants.csv", _rows(5))
    credentials = tmp_path / "admins.csv"
    call_command("create_tenants", csv=path, credentials=str(credentials))
    assert "Created 5 tenants" in capsys.readouterr().out

    tenants = Tenant.objects.filter(slug__startswith="bulk_").order_by("slug")
    assert [t.slug for t in tenants] == [f"bulk_{n}" for n in range(5)]
    assert {t.time_zone for t in tenants} == {"Africa/Lagos"}
    assert schemas_behind([t.schema_name for t in tenants]) == []
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
    with open(credentials, newline="") as handle:
        admins = list(csv.DictReader(handle))
    assert [row["slug"] for row in sorted(admins, key=lambda r: r["slug"])] == [f"bulk_{n}" for n in range(5)]
    for admin in admins:  # each admin signs in on their own tenant's host, and only there
        response = TenantAPIClient(admin["domain"]).post(
            "/v1/auth/token", {"email": admin["admin_email"], "password": admin["password"]}, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["data"]["user"]["roles"] == ["admin"]
    by_slug = {admin["slug"]: admin for admin in admins}
    other = TenantAPIClient("bulk-0.localhost").post(
        "/v1/auth/token", {"email": by_slug["bulk_1"]["admin_email"], "password": by_slug["bulk_1"]["password"]},
        format="json",
    )
    assert other.status_code == 401


def test_a_file_with_bad_rows_creates_nothing_and_names_every_problem(cleanup, tmp_path, tenant):
    rows = [
        ("bulk_ok", "Fine", "bulk-ok.localhost", "UTC", ""),
        ("Bulk Bad", "Bad slug", "bulk-bad.localhost", "UTC", ""),
        ("bulk_dup", "Dup", "bulk-ok.localhost", "UTC", ""),
        ("bulk_tz", "Bad zone", "bulk-tz.localhost", "Mars/Olympus", ""),
        ("bulk_taken", "Taken", "test.localhost", "UTC", ""),
        ("bulk_mail", "Mail", "bulk-mail.localhost", "UTC", "not-an-email"),
    ]
    path = _csv(tmp_path / "tenants.csv", rows)
    with pytest.raises(CommandError) as caught:
        call_command("create_tenants", csv=path, credentials=str(tmp_path / "c.csv"))
    message = str(caught.value)
    assert "no tenant was created" in message
    for expected in ("line 3: slug", "line 4: domain 'bulk-ok.localhost' is also on line 2", "line 5: time_zone",
                     "line 6: domain", "line 7: admin_email"):
        assert expected in message
    assert not Tenant.objects.filter(slug__startswith="bulk_").exists()
    assert not os.path.exists(tmp_path / "c.csv")


def test_a_bad_header_and_a_missing_credentials_file_are_refused(cleanup, tmp_path):
    with pytest.raises(CommandError, match="missing domain"):
        call_command("create_tenants", csv=_csv(tmp_path / "a.csv", [("bulk_a", "A")], header=("slug", "name")))
    with pytest.raises(CommandError, match="--credentials"):
        call_command("create_tenants", csv=_csv(tmp_path / "b.csv", _rows(1)))
    existing = tmp_path / "exists.csv"
    existing.write_text("keep me")
    with pytest.raises(CommandError, match="never overwritten"):
        call_command("create_tenants", csv=_csv(tmp_path / "c.csv", _rows(1)), credentials=str(existing))
    assert existing.read_text() == "keep me"
    assert not Tenant.objects.filter(slug__startswith="bulk_").exists()


def test_running_a_file_again_skips_the_tenants_already_made(cleanup, tmp_path, capsys):
    rows = [(slug, name, domain, tz, "") for slug, name, domain, tz, _ in _rows(3)]
    path = _csv(tmp_path / "tenants.csv", rows[:2])
    call_command("create_tenants", csv=path, processes=1)
    path = _csv(tmp_path / "tenants.csv", rows)
    call_command("create_tenants", csv=path)
    assert "Created 1 tenants" in capsys.readouterr().out.splitlines()[-1]
    assert Domain.objects.filter(domain__startswith="bulk-").count() == 3
