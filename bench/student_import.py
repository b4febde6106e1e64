"""A 50,000-row student import through the whole stack (run on demand, not a test).

    .venv/bin/python bench/student_import.py [--tenant importbench] [--rows 50000]

POSTs /v1/students/import as an admin signed in on the tenant's host (creating the tenant,
two programmes and the admin the first time): a file of new students, as a dry run and then
applied, then a file changing every one of them (matched by student number: another last
name and other programmes), as a dry run and then applied. Prints the wall time of each
request and the file's size. The students it created are deleted first on every run (and the
tables vacuumed).
"""
import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from accounts.models import StaffUser  # noqa: E402
from catalogue.models import Programme  # noqa: E402
from students.models import Student  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.provisioning.services import tenant_create  # noqa: E402

DOMAIN = "import.bench"


def _file(rows, *, changed):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", "last_name", "email", "status", "programme_codes", "student_number"])
    for i in range(rows):
        programmes = ("ACC" if i % 2 else "MBA ACC") if changed else ("MBA" if i % 2 else "")
        last = f"Changed{i}" if changed else f"Okafọr{i}"
        writer.writerow([f"Chidinma{i}", last, f"s{i}@{DOMAIN}", ["active", "inactive"][i % 7 == 0], programmes, f"IB-{i:06d}"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _post(client, host, data, dry_run):
    started = time.perf_counter()
    response = client.post(
        "/v1/students/import",
        {"file": SimpleUploadedFile("students.csv", data), "dry_run": "true" if dry_run else "false"},
        HTTP_HOST=host,
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    assert response.status_code == 200, (response.status_code, body.get("message"), str(body.get("errors"))[:300])
    return elapsed, body["data"]["counts"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="importbench")
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    tenant = Tenant.objects.filter(slug=args.tenant).first() or tenant_create(
        slug=args.tenant, name=args.tenant, domain=f"{args.tenant}.localhost"
    )
    host = f"{args.tenant}.localhost"
    with tenant_context(tenant):
        for code, name in (("MBA", "Master of Business Administration"), ("ACC", "Accounting")):
            Programme.objects.get_or_create(code=code, defaults={"name": name})
        admin = StaffUser.objects.filter(email="importbench@bench.invalid").first()
        if admin is None:
            admin = StaffUser.objects.create_user(email="importbench@bench.invalid", password="x" * 20)
            from accounts.models import Role

            admin.roles.set(Role.objects.filter(name="admin"))
        started = time.perf_counter()
        deleted, _ = Student.objects.filter(email__endswith=f"@{DOMAIN}").delete()
        # As autovacuum would in time: the earlier run's dead rows and index entries would
        # otherwise slow this run down, more with every run.
        with connection.cursor() as cursor:
            for table in ("students_student", "students_enrolment", "accounts_auditevent"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        print(f"cleared {deleted:,} rows of an earlier run in {time.perf_counter() - started:.1f} s")
        client = Client()
        client.force_login(admin)
    new, changes = _file(args.rows, changed=False), _file(args.rows, changed=True)
    print(f"{args.rows:,} rows, {len(new) / 1e6:.1f} MB")
    for label, data, dry_run in (
        ("new students, dry run", new, True),
        ("new students, applied", new, False),
        ("every student changed, dry run", changes, True),
        ("every student changed, applied", changes, False),
    ):
        elapsed, counts = _post(client, host, data, dry_run)
        print(f"{label:34} {elapsed:6.1f} s  {counts}")


if __name__ == "__main__":
    main()
