"""The list's downloads against COPY, the gradebook and the background export on seeded tenants.

    .venv/bin/python bench/reports_and_exports.py downloads --tenant bench [--runs 7] [--export-rows 50000]
    .venv/bin/python bench/reports_and_exports.py gradebook --tenant gb10k --case-studies 5 [--students 10000]
    .venv/bin/python bench/reports_and_exports.py background --tenant big --kind list --format csv
    .venv/bin/python bench/reports_and_exports.py jit --tenant mid --case-studies 5 --repeat 7

`downloads`: side by side, interleaved, in one run (medians of --runs): (a) the list's CSV
export of --export-rows rows (a start_date that selects that many of the most recently seen:
the export is capped at 50,000 rows, so a 100,000-student tenant is enough) read to the end
through the production server (`python -m config.serve` on loopback, Bearer token); (b) `COPY
(its SELECT) TO STDOUT (FORMAT csv)` of the export's own statement on a persistent psycopg
connection, read to the end (the statement the export COPYs: its cells formatted and
neutralised in SQL); (b') the same COPY of the rows' bare columns (no formatting, no
neutralising: the floor before the cells moved into SQL); (c) the XLSX export of the same rows
through the server. Prints the ratios a/b, a/b' and c/a. The students table is vacuumed
first, as autovacuum keeps it: a freshly seeded table has no visibility map, and the
export's bounded count then reads the heap instead of the index alone.

`gradebook`: GET /v1/console/reports/gradebook through the whole stack (tenant lookup, Bearer
token, view, streamed body read to the end), CSV and XLSX, for the first N active case
studies by title, interleaved with GET /v1/console/students/export?format=csv (the list's CSV
of the same students; with --students N, both filtered by the start_date that selects the N
most recently seen, for a tenant larger than the export's cap); medians of --repeat runs and
the ratio of the two CSVs' medians.

`jit`: the gradebook's statement (console.reports.selectors.gradebook_sql: every listed
student, the first N active case studies, cells as text) on this process's connection, read
to the end, --repeat times with PostgreSQL's JIT compilation on and off alternately (the app's
connections run with it off: config.postgresql), then EXPLAIN ANALYZE with it on for the time
spent compiling. On a server built without LLVM both sides are the same.

`background`: queues a job (for the gradebook, with the first N active case studies) (console.exports.services.export_job_queue) and runs it with
export_job_start and export_job_run in this process, as the queue's `exports.run` job does, timing it and
sampling this process's resident memory every 20 ms (peak, and the peak above the level
before the job). The file is deleted afterwards.
"""
import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from accounts.models import StaffUser  # noqa: E402
from bench.clients import BENCH_EMAIL, bench_client  # noqa: E402
from bench.export_and_detail import start_date_for  # noqa: E402
from bench.server_throughput import database_url  # noqa: E402
from catalogue.models import CaseStudy  # noqa: E402
from console.exports import services  # noqa: E402
from console.list_files import student_list  # noqa: E402
from console.list_files.kinds import FILE_KINDS  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from testing.clients import issue_token  # noqa: E402
from testing.live import LiveServer, app_env  # noqa: E402

MB = 1024 * 1024
WORKERS = 5  # config.serve's default WEB_CONCURRENCY on 2 cores (2 x CPUs + 1)


class PeakRss:
    def __init__(self):
        self.process = psutil.Process()
        self.before = self.process.memory_info().rss
        self.peak = self.before
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            rss = self.process.memory_info().rss
            self.peak = max(self.peak, rss)
            self.samples.append(rss)
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def gradebook(tenant, case_studies, repeat, students=None):
    """The gradebook in CSV and XLSX, and beside them, interleaved in one run, the list's CSV
    of the same students (the same filters: every listed student, or with `students` the most
    recently seen that many, by a start_date); the CSV ratio is of medians."""
    client = bench_client(tenant)
    ids = _first_case_studies(case_studies)
    start = start_date_for(students) if students else None
    students_query = f"&start_date={start}" if start else ""
    query = "&".join(f"case_study={pk}" for pk in ids) + students_query
    urls = {
        "gradebook csv": f"/v1/console/reports/gradebook?format=csv&{query}",
        "list csv": f"/v1/console/students/export?format=csv{students_query}",
        "gradebook xlsx": f"/v1/console/reports/gradebook?format=xlsx&{query}",
    }
    times = {name: [] for name in urls}
    sizes, lines = {}, {}
    for url in urls.values():  # warm-up: connections, caches, the first plan
        _read(client, url)
    with PeakRss() as rss:
        for _ in range(repeat):
            for name, url in urls.items():
                started = time.perf_counter()
                body = _read(client, url)
                times[name].append(time.perf_counter() - started)
                sizes[name], lines[name] = len(body), body.count(b"\n")
    for name in urls:
        print(
            f"{name}: {tenant.slug}, {len(ids)} case studies, {lines[name] - 1 if 'csv' in name else '-'} rows, "
            f"median {statistics.median(times[name]) * 1000:.0f} ms of {repeat} "
            f"({', '.join(f'{t * 1000:.0f}' for t in times[name])}), {sizes[name] / MB:.1f} MB"
        )
    ratio = statistics.median(times["gradebook csv"]) / statistics.median(times["list csv"])
    print(f"gradebook csv / list csv of the same students: {ratio:.2f}x; peak RSS {rss.peak / MB:.0f} MB "
          f"({(rss.peak - rss.before) / MB:+.0f} MB)")
    print(f"command: .venv/bin/python bench/reports_and_exports.py gradebook --tenant {tenant.slug} "
          f"--case-studies {case_studies} --repeat {repeat}" + (f" --students {students}" if students else ""))


def _read(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def _first_case_studies(n):
    return list(CaseStudy.objects.filter(is_active=True).order_by("title", "case_study_id").values_list("pk", flat=True)[:n])


def background(tenant, kind, file_format, case_studies):
    user, _ = StaffUser.objects.get_or_create(email=BENCH_EMAIL, defaults={"is_superuser": True, "is_active": True})
    params = QueryDict(mutable=True)
    if kind == "gradebook":
        params.setlist("case_study", _first_case_studies(case_studies))
    job = services.export_job_queue(user=user, kind=kind, file_format=file_format, params=params)
    claimed = services.export_job_start(job.pk, worker="bench")
    assert claimed.pk == job.pk
    with PeakRss() as rss:
        started = time.perf_counter()
        services.export_job_run(claimed, worker="bench")
        seconds = time.perf_counter() - started
    claimed.refresh_from_db()
    assert claimed.state == "done", claimed.error
    # Memory over the run, in tenths: flat means the last tenth is no higher than the second.
    tenths = [max(rss.samples[i * len(rss.samples) // 10:(i + 1) * len(rss.samples) // 10] or [0]) / MB for i in range(10)]
    print(
        f"background {kind} {file_format}: {tenant.slug}, {claimed.rows_done:,} rows in {seconds:.1f} s "
        f"({claimed.rows_done / seconds:,.0f} rows/s), file {claimed.file_size / MB:.1f} MB, "
        f"RSS before {rss.before / MB:.0f} MB, peak {rss.peak / MB:.0f} MB ({(rss.peak - rss.before) / MB:+.0f} MB); "
        f"peak per tenth of the run: {', '.join(f'{t:.0f}' for t in tenths)} MB"
    )
    default_storage.delete(claimed.file_name)


def _copy_ms(sql, params):
    """COPY (sql) TO STDOUT (FORMAT csv) on this process's connection, read to the end."""
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
        for _ in copy:
            pass
    return (time.perf_counter() - started) * 1000


def _export_select(params, limit):
    """The export's own statement and the same rows' bare columns, as (sql, params) pairs."""
    query = QueryDict(mutable=True)
    query.update(params)
    file_request = FILE_KINDS["list"].read(query)
    filterset = file_request.filterset
    bare = filterset.qs.order_by("-last_seen", "user_id").values_list(
        "full_name", "email", "programme_label", "status", "overall_case_studies", "last_seen"
    )[:limit]
    return student_list.formatted_rows(file_request, limit=limit).query.sql_with_params(), bare.query.sql_with_params()


def downloads(tenant, runs, export_rows):
    user, _ = StaffUser.objects.get_or_create(email=BENCH_EMAIL, defaults={"is_superuser": True, "is_active": True})
    headers = {"Authorization": f"Bearer {issue_token(user)}"}
    host = tenant.get_primary_domain().domain
    start = start_date_for(export_rows)
    params = {"start_date": start} if start else {}
    (own_sql, own_params), (bare_sql, bare_params) = _export_select(params, export_rows)
    query = f"start_date={start}" if start else ""
    with connection.cursor() as cursor:  # what autovacuum keeps true: the visibility map that index-only counts read
        cursor.execute("VACUUM (ANALYZE) students_student")
    server = LiveServer(app_env(DATABASE_URL=database_url(), WEB_CONCURRENCY=str(WORKERS)))
    times = {"csv": [], "copy": [], "bare": [], "xlsx": []}
    sizes = {}

    def download(file_format):
        reply = server.request("GET", f"/v1/console/students/export?format={file_format}&{query}", host=host,
                               headers=headers, timeout=120)
        assert reply.status == 200, reply.body[:300]
        sizes[file_format] = len(reply.body)
        return reply.seconds * 1000

    try:
        server.start()
        for _ in range(3 * WORKERS):  # warm every worker: its first export opens a connection, compiles, plans
            download("csv"), download("xlsx")
        for _ in range(runs):
            times["csv"].append(download("csv"))
            times["copy"].append(_copy_ms(own_sql, own_params))
            times["bare"].append(_copy_ms(bare_sql, bare_params))
            times["xlsx"].append(download("xlsx"))
    finally:
        server.terminate()
    m = {name: statistics.median(values) for name, values in times.items()}
    print(f"Downloads of the list, {tenant.slug}: {export_rows:,} rows (start_date={start}), medians of {runs} interleaved runs")
    print(f"  (a) CSV export through the production server   {m['csv']:8.1f} ms  ({sizes['csv'] / MB:.1f} MB)")
    print(f"  (b) COPY (its SELECT) TO STDOUT (FORMAT csv)     {m['copy']:8.1f} ms")
    print(f"  (b') COPY of the bare columns                    {m['bare']:8.1f} ms")
    print(f"  (c) XLSX export through the production server  {m['xlsx']:8.1f} ms  ({sizes['xlsx'] / MB:.1f} MB)")
    print(f"  CSV / COPY of its SELECT {m['csv'] / m['copy']:.2f}x (goal <= 1.5x); CSV / bare COPY "
          f"{m['csv'] / m['bare']:.2f}x; XLSX / CSV {m['xlsx'] / m['csv']:.2f}x (goal <= 3x)")
    print(f"  command: .venv/bin/python bench/reports_and_exports.py downloads --tenant {tenant.slug} --runs {runs} "
          f"--export-rows {export_rows}")


def jit(tenant, case_studies, repeat):
    from console.reports.selectors import gradebook_case_studies, gradebook_sql
    from students.listing.selectors import student_file_filterset

    chosen = gradebook_case_studies(case_study_ids=_first_case_studies(case_studies))
    sql, params = gradebook_sql(student_file_filterset(QueryDict()), chosen, as_text=True)
    times: dict[str, list[float]] = {"on": [], "off": []}
    with connection.cursor() as cursor:
        for _ in range(repeat):
            for setting in ("on", "off"):
                cursor.execute(f"SET jit = {setting}")
                started = time.perf_counter()
                cursor.execute(sql, params)
                rows = len(cursor.fetchall())
                times[setting].append((time.perf_counter() - started) * 1000)
        cursor.execute("SET jit = on")
        cursor.execute(f"EXPLAIN (ANALYZE) {sql}", params)
        compiling = [line for (line,) in cursor.fetchall() if line.strip().startswith("Timing:")]
        cursor.execute("SET jit = off")
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    print(f"gradebook statement, {tenant.slug}: {rows:,} students x {len(chosen)} case studies, medians of {repeat} "
          f"interleaved runs: JIT on {on:.0f} ms, off {off:.0f} ms ({on / off:.2f}x)")
    print(f"  JIT with EXPLAIN ANALYZE: {compiling[0].strip() if compiling else 'not used (no LLVM, or under jit_above_cost)'}")
    print(f"  command: .venv/bin/python bench/reports_and_exports.py jit --tenant {tenant.slug} "
          f"--case-studies {case_studies} --repeat {repeat}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("downloads", "gradebook", "background", "jit"))
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--case-studies", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kind", choices=("list", "gradebook"), default="list")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--export-rows", type=int, default=50_000)
    parser.add_argument("--students", type=int, help="gradebook: the most recently seen N students (a start_date)")
    args = parser.parse_args()
    tenant = Tenant.objects.get(slug=args.tenant)
    with tenant_context(tenant):
        if args.what == "downloads":
            downloads(tenant, args.runs, args.export_rows)
        elif args.what == "gradebook":
            gradebook(tenant, args.case_studies, args.repeat, args.students)
        elif args.what == "jit":
            jit(tenant, args.case_studies, args.repeat)
        else:
            background(tenant, args.kind, args.format, args.case_studies)


if __name__ == "__main__":
    main()
