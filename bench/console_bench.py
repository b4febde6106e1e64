"""Timings of the console students API on a large tenant (run on demand, not a test).

    .venv/bin/python bench/console_bench.py --tenant demo [--runs 5] [--export-rows 50000]

Needs a tenant seeded with many students, e.g.:

    .venv/bin/python manage.py create_tenant --slug bench --name Bench --domain bench.localhost
    .venv/bin/python manage.py seed_demo --tenant bench --students 100000

The views are called directly (DRF request factory, an unsaved superuser forced in), so the
figures are the view's own work: validation, queries, serialisation and, for exports, the
whole file. Nothing is written to the tenant. Reports the median and worst of --runs calls,
the query count of each call, and the export's peak Python memory (tracemalloc) for two
row counts, to show that memory does not grow with the number of rows.
"""
import argparse
import datetime as dt
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIRequestFactory, force_authenticate  # noqa: E402

from accounts.models import StaffUser  # noqa: E402
from attempts.models import Session  # noqa: E402
from console.students.apis import (  # noqa: E402
    ConsoleStudentDetailApi,
    ConsoleStudentExportApi,
    ConsoleStudentListApi,
)
from students.models import LISTED, Student  # noqa: E402
from tenants.models import Tenant  # noqa: E402

HOW_TO_SEED = """No tenant {slug!r}. Create and seed one (100,000 students take a few minutes):

    .venv/bin/python manage.py create_tenant --slug {slug} --name {slug} --domain {slug}.localhost
    .venv/bin/python manage.py seed_demo --tenant {slug} --students 100000
"""

factory = APIRequestFactory()
LIST = ConsoleStudentListApi.as_view()
EXPORT = ConsoleStudentExportApi.as_view()
DETAIL = ConsoleStudentDetailApi.as_view()


class Bench:
    def __init__(self, tenant, runs):
        self.tenant = tenant
        self.runs = runs
        self.user = StaffUser(email="bench@bench.invalid", is_superuser=True, is_active=True)
        self.host = tenant.get_primary_domain().domain if tenant.get_primary_domain() else "bench.localhost"

    def call(self, view, path, params, **kwargs):
        request = factory.get(path, params, HTTP_HOST=self.host)
        request.tenant = self.tenant
        force_authenticate(request, user=self.user)
        response = view(request, **kwargs)
        if response.streaming:
            size = sum(len(chunk) for chunk in response.streaming_content)
        else:
            response.render()
            size = len(response.content)
        if response.status_code != 200:
            raise SystemExit(f"{path} {params} -> {response.status_code}: {response.content[:300]!r}")
        return response, size

    def time(self, label, view, path, params, runs=None, **kwargs):
        timings = []
        for _ in range(runs or self.runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response, size = self.call(view, path, params, **kwargs)
                timings.append((time.perf_counter() - started) * 1000)
        median, worst = statistics.median(timings), max(timings)
        extra = ""
        if not response.streaming:
            body = response.data
            if isinstance(body, dict) and "total" in body:
                extra = f"total={body['total']:,}"
        print(f"  {label:<44} median {median:8.1f} ms   worst {worst:8.1f} ms   "
              f"{len(queries):2d} queries   {size / 1024:9.1f} KiB  {extra}")
        return median

    def peak_memory(self, label, params):
        tracemalloc.start()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        response, size = self.call(EXPORT, "/v1/console/students/export", params)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        print(f"  {label:<44} peak Python memory {peak / 2**20:7.2f} MiB   file {size / 2**20:6.2f} MiB   "
              f"({elapsed:.1f} s under tracemalloc)")


def start_date_for(rows):
    """A start_date that selects at most `rows` students (the most recently seen)."""
    seen = (
        Student.objects.filter(LISTED, last_seen__isnull=False)
        .order_by("-last_seen")
        .values_list("last_seen", flat=True)[rows - 1 : rows]
    )
    value = list(seen)
    if not value:
        return None
    start = value[0]
    if Student.objects.filter(LISTED, last_seen__gte=start).count() > rows:
        start += dt.timedelta(microseconds=1)  # ties at the boundary
    return start.isoformat().replace("+00:00", "Z")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenant", default="demo", help="tenant slug (default demo)")
    parser.add_argument("--runs", type=int, default=5, help="calls per measurement (default 5)")
    parser.add_argument("--export-rows", type=int, default=50_000, help="rows in the timed exports (default 50,000)")
    args = parser.parse_args()

    tenant = Tenant.objects.filter(slug=args.tenant).first()
    if tenant is None:
        print(HOW_TO_SEED.format(slug=args.tenant), file=sys.stderr)
        return 2
    connection.set_tenant(tenant)
    students = Student.objects.count()
    if students == 0:
        print(HOW_TO_SEED.format(slug=args.tenant).replace("No tenant", "No students in tenant"), file=sys.stderr)
        return 2
    sessions = Session.objects.count()
    print(f"Tenant {tenant.slug}: {students:,} students, {sessions:,} sessions; {args.runs} runs each\n")
    bench = Bench(tenant, args.runs)
    url = "/v1/console/students"

    print("List (limit 10)")
    bench.time("default (last_seen desc)", LIST, url, {})
    sample = Student.objects.filter(LISTED).order_by("user_id").values("first_name", "email").first()
    term = sample["first_name"][:4].lower()
    bench.time(f"search={term!r} (name prefix)", LIST, url, {"search": term})
    bench.time("search='zz' (few matches)", LIST, url, {"search": "zz"})
    bench.time(f"search={sample['email'][:12]!r}", LIST, url, {"search": sample["email"][:12]})
    code = Student.objects.filter(LISTED).exclude(programme_label="").values_list("programmes__code", flat=True).first()
    bench.time(f"programme={code}", LIST, url, {"programme": code})
    bench.time("status=inactive", LIST, url, {"status": "inactive"})
    bench.time("start_date=2026-01-01 end_date=2026-03-31", LIST, url,
               {"start_date": "2026-01-01", "end_date": "2026-03-31"})
    for sort_by in ("name", "last_seen", "programme", "status"):
        for sort_order in ("asc", "desc"):
            bench.time(f"sort_by={sort_by} sort_order={sort_order}", LIST, url,
                       {"sort_by": sort_by, "sort_order": sort_order})
    bench.time("deep page: skip=99000 (name asc)", LIST, url, {"sort_by": "name", "sort_order": "asc", "skip": 99_000})
    bench.time("limit=100", LIST, url, {"limit": 100})

    print("\nDetail")
    busiest = (
        Session.objects.values("student_id").order_by().annotate(n=Count("pk")).order_by("-n").first()
    )
    typical = Student.objects.filter(LISTED).order_by("user_id").values_list("user_id", flat=True)[students // 2]
    bench.time("typical student", DETAIL, f"{url}/{typical}", {}, user_id=typical)
    if busiest:
        bench.time(f"busiest student ({busiest['n']} sessions)", DETAIL, f"{url}/{busiest['student_id']}", {},
                   user_id=busiest["student_id"])
    bench.time("include_case_studies=false", DETAIL, f"{url}/{typical}", {"include_case_studies": "false"},
               user_id=typical)

    print("\nExport")
    start = start_date_for(args.export_rows)
    params = {"start_date": start} if start else {}
    rows = Student.objects.filter(LISTED, last_seen__gte=start).count() if start else students
    print(f"  (start_date={start}: {rows:,} rows)")
    runs = max(1, min(args.runs, 3))
    bench.time(f"csv, {rows:,} rows", EXPORT, f"{url}/export", {**params, "format": "csv"}, runs=runs)
    bench.time(f"xlsx, {rows:,} rows", EXPORT, f"{url}/export", {**params, "format": "xlsx"}, runs=runs)
    request = factory.get(f"{url}/export", {}, HTTP_HOST=bench.host)
    request.tenant = tenant
    force_authenticate(request, user=bench.user)
    started = time.perf_counter()
    refused = EXPORT(request)
    refused.render()
    print(f"  {'over the cap (all students): refused':<44} {refused.status_code} "
          f"{refused.data.get('code')} in {(time.perf_counter() - started) * 1000:.1f} ms")

    print("\nExport memory (tracemalloc)")
    small = start_date_for(max(1, rows // 5))
    for fmt in ("csv", "xlsx"):
        bench.peak_memory(f"{fmt}, {max(1, rows // 5):,} rows", {"start_date": small, "format": fmt})
        bench.peak_memory(f"{fmt}, {rows:,} rows", {**params, "format": fmt})
    try:
        import resource

        print(f"\nProcess max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    except ImportError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
