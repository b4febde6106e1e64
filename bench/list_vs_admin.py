"""The console's students list, JSON and HTML, beside the Django admin's changelist of students:
the same question asked three ways, side by side, interleaved, through the production server.

    .venv/bin/python bench/list_vs_admin.py --tenant small [--runs 100] [--search TERM]

Cases: the default sort, a search, and `status=inactive`; for each, `GET /v1/console/students`
(a Bearer token), `GET /students/` (signed in, the page a browser gets) and
`GET /admin/students/student/` on the tenant's host (`q=` for the search, `status__exact=` for
the status), each over its own keep-alive connection to `python -m config.serve`, the three in
turn (the order rotated every run so none always follows another); the lines give medians and
ratios. The goals (issue 34): each list at least 5x faster than the admin, the HTML list at most
1.5x the JSON list.

On a tenant's host the admin takes the console's sign-in (config/urls.py, console.auth.sso
admin_login) and lets in a staff user with `is_staff`, reading the students with the model
permissions a superuser has; the bench makes one, `bench-admin@<tenant>.localhost`, signs it in
by a session for the run and deletes it afterwards. The lists are asked by the staff user
bench/request_floor.py uses (`bench-floor@<tenant>.localhost`, an operator: the HTML list with
its bulk bar).
"""
import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.models import StaffUser  # noqa: E402
from bench.clients import staff_user  # noqa: E402
from bench.request_floor import Http, timed  # noqa: E402
from bench.server_throughput import database_url, tenant_and_host  # noqa: E402
from students.models import Student  # noqa: E402
from testing.clients import issue_token  # noqa: E402
from testing.live import LiveServer, app_env  # noqa: E402

KINDS = ("JSON list", "HTML list", "admin")
PATHS = {
    "JSON list": "/v1/console/students",
    "HTML list": "/students/",
    "admin": "/admin/students/student/",
}


def cases(search):
    """(label, {kind: query string})."""
    return [
        ("default sort", dict.fromkeys(KINDS, "")),
        (f"search {search!r}", {"JSON list": f"?search={search}", "HTML list": f"?search={search}", "admin": f"?q={search}"}),
        (
            "status=inactive",
            {"JSON list": "?status=inactive", "HTML list": "?status=inactive", "admin": "?status__exact=inactive"},
        ),
    ]


def _session_cookie(host, user):
    browser = Client(HTTP_HOST=host)
    browser.force_login(user)
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"}


def a_search_term():
    """Four letters of a student's surname: a search a person types, matching some students."""
    name = Student.objects.order_by("user_id").values_list("last_name", flat=True).first() or "a"
    return name[:4].lower()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--search", default=None, help="the search term (default: four letters of a surname)")
    args = parser.parse_args()

    tenant, host = tenant_and_host(args.tenant)
    with schema_context(tenant.schema_name):
        staff = staff_user(f"bench-floor@{args.tenant}.localhost", roles=["operator"])
        admin = staff_user(f"bench-admin@{args.tenant}.localhost", roles=["admin"])
        StaffUser.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
        headers = {
            "JSON list": {"Authorization": f"Bearer {issue_token(staff)}"},
            "HTML list": _session_cookie(host, staff),
            "admin": _session_cookie(host, StaffUser.objects.get(pk=admin.pk)),
        }
        search = args.search or a_search_term()
        students = Student.objects.count()
    connection.close()

    server = LiveServer(app_env(DATABASE_URL=database_url(), LOG_LEVEL="WARNING")).start()
    try:
        results = run(server.port, host, headers, cases(search), args.runs)
    finally:
        server.terminate()
        with schema_context(tenant.schema_name):
            StaffUser.objects.filter(pk=admin.pk).delete()
    report(args, host, students, results)


def run(port, host, headers, the_cases, runs):
    """{case: {kind: [ms]}}: every run asks each case's three requests, in a rotated order."""
    connections = {kind: Http(port, host, headers[kind]) for kind in KINDS}
    results = {label: {kind: [] for kind in KINDS} for label, _ in the_cases}
    for _, queries in the_cases:
        for _ in range(10):  # warm every worker's caches for this case
            for kind in KINDS:
                connections[kind].get(PATHS[kind] + queries[kind])
    for n in range(runs):
        for label, queries in the_cases:
            order = KINDS[n % 3:] + KINDS[: n % 3]
            for kind in order:
                results[label][kind].append(timed(connections[kind].get, PATHS[kind] + queries[kind]))
    return results


def report(args, host, students, results):
    print(f"tenant {args.tenant} on {host} ({students:,} students); medians of {args.runs} interleaved runs; "
          "through python -m config.serve")
    print(f"  {'case':<24} {'JSON list':>10} {'HTML list':>10} {'admin':>10}   {'admin/JSON':>10} {'admin/HTML':>10} {'HTML/JSON':>10}")
    for label, times in results.items():
        json_ms, html_ms, admin_ms = (statistics.median(times[kind]) for kind in KINDS)
        print(f"  {label:<24} {json_ms:8.2f}ms {html_ms:8.2f}ms {admin_ms:8.2f}ms   "
              f"{admin_ms / json_ms:9.2f}x {admin_ms / html_ms:9.2f}x {html_ms / json_ms:9.2f}x")
    print("goals: admin/JSON and admin/HTML >= 5, HTML/JSON <= 1.5")
    print(f"command: .venv/bin/python bench/list_vs_admin.py --tenant {args.tenant} --runs {args.runs}"
          + (f" --search {args.search}" if args.search else ""))


if __name__ == "__main__":
    main()
