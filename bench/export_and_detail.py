"""The export against PostgreSQL's COPY of the same rows, the export's first byte, the detail of
the busiest student against a typical one, and creating a tenant (run on demand, not a test).

    .venv/bin/python bench/export_and_detail.py --tenant bench [--runs 5] [--export-rows 50000]

Each pair is timed side by side, interleaved, in one run; the lines give medians and ratios:

- export SQL / COPY: the export's own query (as the export runs it, overall_case_studies
  read from its maintained column) against a COPY of the same rows' bare columns, both run
  to the end inside PostgreSQL (`COPY (...) TO STDOUT`);
- first byte: from the request to the first chunk of the CSV, through the whole stack;
- whole export: the same request read to the end, CSV;
- detail: GET /v1/console/students/{id} of a student with --heavy-sessions sessions (given
  them once, if no student has as many) against one in the middle of the id order;
- create_tenant: the provisioning service for an empty tenant, from the waiting spare schema
  and replayed from the schema template (each dropped afterwards).

Writes one staff user `bench@bench.invalid` with an API token per tenant, and the busy
student's sessions (both kept and reused).
"""
import argparse
import datetime as dt
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from attempts.models import Session  # noqa: E402
from bench.clients import bench_client  # noqa: E402
from catalogue.models import CaseStudy  # noqa: E402
from console.list_files.downloads import check_within_cap  # noqa: E402
from students.listing.selectors import student_export_rows, student_list_filterset  # noqa: E402
from students.models import LISTED, Student  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.provisioning.services import spare_schema_ensure, spare_schemas_drop, tenant_create  # noqa: E402

URL = "/v1/console/students"


def median_of(runs, call):
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def interleaved(runs, first, second):
    a, b = [], []
    for _ in range(runs):
        a.append(median_of(1, first))
        b.append(median_of(1, second))
    return statistics.median(a), statistics.median(b)


def line(label, a_label, a, b_label, b):
    print(f"  {label:<28} {a_label} {a:8.1f} ms   {b_label} {b:8.1f} ms   ratio {b / a:5.2f}")


def start_date_for(rows):
    """A start_date selecting at most `rows` listed students (the most recently seen)."""
    seen = list(
        Student.objects.filter(LISTED, last_seen__isnull=False).order_by("-last_seen").values_list("last_seen", flat=True)[
            rows - 1 : rows
        ]
    )
    if not seen:
        return None
    start = seen[0]
    while Student.objects.filter(LISTED, last_seen__gte=start).count() > rows:
        start += dt.timedelta(seconds=1)  # ties at the boundary
    return start.isoformat().replace("+00:00", "Z")


def heavy_student(students, sessions):
    """A listed student with at least `sessions` sessions: one already so busy, or one given
    them (ended, graded sessions across the case studies, written once and kept)."""
    busiest = Session.objects.values("student_id").order_by().annotate(n=Count("pk")).order_by("-n").first()
    if busiest and busiest["n"] >= sessions:
        return busiest
    student_id = Student.objects.filter(LISTED).order_by("user_id").values_list("user_id", flat=True)[students // 3]
    case_studies = list(CaseStudy.objects.filter(is_active=True).values_list("pk", flat=True))
    now = timezone.now()
    Session.objects.bulk_create(
        Session(
            student_id=student_id,
            case_study_id=case_studies[n % len(case_studies)],
            status="ended",
            started_at=now - dt.timedelta(hours=n + 1),
            ended_at=now - dt.timedelta(hours=n + 1) + dt.timedelta(minutes=30),
            last_activity_at=now - dt.timedelta(hours=n + 1) + dt.timedelta(minutes=30),
            score=50 + n % 50,
            transcript_status="available",
            grading_status="complete",
        )
        for n in range(sessions)
    )
    return {"student_id": student_id, "n": Session.objects.filter(student_id=student_id).count()}


def copy_seconds(sql, params):
    with connection.cursor() as cursor:
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT", params) as copy:
            for _ in copy:
                pass
        return time.perf_counter() - started


def main():
    logging.getLogger("console.access").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--export-rows", type=int, default=50_000)
    parser.add_argument("--heavy-sessions", type=int, default=300, help="sessions of the busy student (default 300)")
    args = parser.parse_args()

    tenant = Tenant.objects.filter(slug=args.tenant).first()
    if tenant is None:
        raise SystemExit(f"No tenant {args.tenant!r}: see bench/README.md")
    connection.set_tenant(tenant)
    client = bench_client(tenant)
    students = Student.objects.filter(LISTED).count()
    print(f"Tenant {tenant.slug}: {students:,} listed students; medians of {args.runs} interleaved runs\n")

    start = start_date_for(args.export_rows)
    params = {"start_date": start} if start else {}
    filterset = student_list_filterset(params)
    rows = filterset.qs.count()
    export_sql, export_params = student_export_rows(filterset, limit=check_within_cap(filterset.qs)).query.sql_with_params()
    bare = filterset.qs.order_by("-last_seen", "user_id").values_list("full_name", "email", "programme_label", "status", "last_seen")
    bare_sql, bare_params = bare[: args.export_rows].query.sql_with_params()
    print(f"Export of {rows:,} rows (start_date={start})")
    copy_ms, export_ms = interleaved(
        args.runs, lambda: copy_seconds(bare_sql, bare_params), lambda: copy_seconds(export_sql, export_params)
    )
    line("export SQL vs COPY", "COPY", copy_ms, "export SQL", export_ms)

    def first_byte():
        response = client.get(f"{URL}/export", {**params, "format": "csv"})
        next(iter(response.streaming_content))
        response.close()

    def whole():
        response = client.get(f"{URL}/export", {**params, "format": "csv"})
        for _ in response.streaming_content:
            pass

    connection.set_schema_to_public()
    first_ms = median_of(args.runs, first_byte)
    whole_ms = median_of(max(1, args.runs // 2), whole)
    print(f"  {'first byte (CSV)':<28} {first_ms:8.1f} ms   whole CSV {whole_ms:8.1f} ms\n")

    connection.set_tenant(tenant)
    typical = Student.objects.filter(LISTED).order_by("user_id").values_list("user_id", flat=True)[students // 2]
    typical_n = Session.objects.filter(student_id=typical).count()
    busiest = heavy_student(students, args.heavy_sessions)
    connection.set_schema_to_public()
    print(f"Detail: busiest student ({busiest['n']} sessions) vs typical ({typical_n} sessions)")
    light, heavy = interleaved(
        args.runs * 2, lambda: client.get(f"{URL}/{typical}"), lambda: client.get(f"{URL}/{busiest['student_id']}")
    )
    line("detail", "typical", light, "busiest", heavy)

    connection.set_schema_to_public()
    print("\nCreating an empty tenant (provisioning service, dropped afterwards)")
    timings = {"from the waiting spare schema": [], "from the schema template": []}
    for _ in range(3):
        for way, times in timings.items():
            if way.endswith("spare schema"):
                spare_schema_ensure()  # made beforehand, as create_tenant and make run do
            else:
                spare_schemas_drop()
            slug = "b" + uuid.uuid4().hex[:10]
            started = time.perf_counter()
            created = tenant_create(slug=slug, name=slug, domain=f"{slug}.bench.invalid")
            times.append((time.perf_counter() - started) * 1000)
            created.delete(force_drop=True)
    spare_schema_ensure()
    for way, times in timings.items():
        print(f"  create_tenant {way:<32} median {statistics.median(times):8.1f} ms (goal: under 1,000 ms)")


if __name__ == "__main__":
    main()
