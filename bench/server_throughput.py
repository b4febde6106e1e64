"""Throughput of the console list under the production server (gunicorn, `make run`) and under
Django's development server (`make dev`), side by side in one run, against the same tenant.

    .venv/bin/python bench/server_throughput.py [--tenant bench] [--clients 8] [--seconds 30]

Needs a seeded tenant (see bench/README.md). Both servers run as subprocesses on loopback
against this checkout's database; a staff login `bench-load@<tenant>` gets a Bearer token.
Each server gets a warm-up, then `--clients` closed-loop clients for `--seconds`.
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.staff.services import staff_create  # noqa: E402
from bench.load import HEADER, run_load  # noqa: E402
from students.models import Student  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from testing.clients import issue_token  # noqa: E402
from testing.live import LiveServer, app_env  # noqa: E402

HOW_TO_SEED = """No tenant {slug!r}. Create and seed one (100,000 students take a few minutes):

    .venv/bin/python manage.py create_tenant --slug {slug} --name {slug} --domain {slug}.localhost
    .venv/bin/python manage.py seed_demo --tenant {slug} --students 100000
"""


def database_url():
    db = settings.DATABASES["default"]
    if db["HOST"].startswith("/"):
        return f"postgresql://{db['USER']}@/{db['NAME']}?host={db['HOST']}"
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def tenant_and_host(slug):
    """The tenant `slug` and its primary host name; without one, exit saying how to seed it."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        sys.exit(HOW_TO_SEED.format(slug=slug))
    return tenant, tenant.domains.get(is_primary=True).domain


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--path", default="/v1/console/students")
    args = parser.parse_args()

    tenant, host = tenant_and_host(args.tenant)
    with schema_context(tenant.schema_name):
        user = staff_create(email=f"bench-load@{args.tenant}.localhost", password=os.urandom(16).hex(), roles=["operator"])
        token = issue_token(user)
        students = Student.objects.count()
    connection.close()

    env = app_env(DATABASE_URL=database_url())
    servers = [
        ("development (manage.py runserver)", LiveServer(env, command=("manage.py", "runserver", "127.0.0.1:{port}", "--noreload"))),
        ("production (gunicorn, config.serve)", LiveServer(env)),
    ]
    results = []
    try:
        for _, server in servers:
            server.start()
        for label, server in servers:
            results.append(
                run_load(
                    label=label, port=server.port, host=host, path=args.path,
                    headers={"Authorization": f"Bearer {token}"}, clients=args.clients, seconds=args.seconds,
                )
            )
    finally:
        for _, server in servers:
            server.terminate()

    print(f"GET {args.path} on {host} ({students:,} students), {args.clients} clients, {args.seconds:.0f} s each, loopback")
    print(HEADER)
    for result in results:
        print(result.row())
        if result.errors:
            print("   statuses:", result.statuses)
    if results[0].rate:
        print(f"production / development throughput: {results[1].rate / results[0].rate:.2f}x")


if __name__ == "__main__":
    main()
