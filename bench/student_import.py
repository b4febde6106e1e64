"""A 50,000-row student import through the whole stack beside its floor (run on demand, not a test).

    .venv/bin/python bench/student_import.py [--tenant importbench] [--rows 50000] [--rounds 1]
        [--profile] [--fastupdate-trade] [--dry-run [--against DIR]]

POSTs /v1/students/import as an admin signed in on the tenant's host (creating the tenant,
two programmes and the admin the first time): a file of new students, as a dry run and then
applied, then a file changing every one of them (matched by student number: another last
name and other programmes), as a dry run and then applied. Beside them, in the same run, the
floor: COPY of the same new students (their rows as the import writes them) into a scratch
table shaped like the students table, with the same indexes (`LIKE students_student INCLUDING
ALL`: the trigram GIN indexes and their options too). Prints the wall time of each request, of
each floor COPY and the ratios of their medians over `--rounds` interleaved rounds. The students
it created are deleted first on every round (and the tables vacuumed).

`--profile`: a cProfile of the new students' dry run (in-process, no HTTP), its top functions.
`--fastupdate-trade`: the trigram indexes' `fastupdate` both ways, on the scratch table: the
COPY's time, and a one-email search's after the COPY (the pending list a search reads in full).
`--dry-run`: only the new students' dry run, `--rounds` times, each in a fresh process after a
100-row warm-up request; with `--against DIR`, alternated with the same run of the code checked
out at DIR (another commit: `git worktree add DIR <commit>`), and the ratio of their medians.
"""
import argparse
import cProfile
import csv
import io
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

# BENCH_CODE: the checkout whose code is timed (--against runs this script with another's).
sys.path.insert(0, os.environ.get("BENCH_CODE") or str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from accounts.models import StaffUser  # noqa: E402
from catalogue.models import Programme  # noqa: E402
from config.ids import new_object_id  # noqa: E402
from students.models import Student  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.provisioning.services import tenant_create  # noqa: E402

DOMAIN = "import.bench"
FLOOR_TABLE = "bench_import_floor"
TRIGRAM_INDEXES = ("stu_name_trgm", "stu_email_trgm", "stu_number_trgm")


def _people(rows, *, changed):
    for i in range(rows):
        programmes = ("ACC" if i % 2 else "MBA ACC") if changed else ("MBA" if i % 2 else "")
        last = f"Changed{i}" if changed else f"Okafọr{i}"
        yield f"Chidinma{i}", last, f"s{i}@{DOMAIN}", ["active", "inactive"][i % 7 == 0], programmes, f"IB-{i:06d}"


def _file(rows, *, changed):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", "last_name", "email", "status", "programme_codes", "student_number"])
    writer.writerows(_people(rows, changed=changed))
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


# The floor ----------------------------------------------------------------------------------


def _floor_rows(rows, labels):
    """The new students' rows as the import writes them (its maintained columns included)."""
    now = timezone.now()
    for first, last, email, status, codes, number in _people(rows, changed=False):
        label, ids = labels[codes]
        yield (new_object_id(), first, last, email, status, number, "enrolled", False, "", now, now, label, ids, 0)


_FLOOR_COLUMNS = (
    "user_id, first_name, last_name, email, status, student_number, enrollment_status, archived, avatar, "
    "created_at, updated_at, programme_label, programme_ids, overall_case_studies"
)


def _floor_labels():
    programmes = dict(Programme.objects.values_list("code", "id"))
    names = dict(Programme.objects.values_list("code", "name"))

    def of(codes):
        chosen = sorted(set(codes.split()))
        return ", ".join(names[c] for c in chosen), [programmes[c] for c in chosen]

    return {codes: of(codes) for codes in ("", "MBA", "ACC", "MBA ACC")}


def _floor(rows, *, fastupdate="off", search=False):
    """Seconds to COPY the new students into a fresh table shaped like students_student (its
    indexes too) and commit; with `search`, also the seconds of a one-email search after it.
    `fastupdate`: the trigram indexes' option, "off", "on" or "on,<pending list limit in kB>"."""
    labels = _floor_labels()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (LIKE students_student INCLUDING ALL)")
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
            "AND indexdef LIKE '%%gin_trgm_ops%%'", [FLOOR_TABLE],
        )
        trigram = [name for (name,) in cursor.fetchall()]
        assert len(trigram) == len(TRIGRAM_INDEXES), trigram
        option, _, limit = fastupdate.partition(",")
        for name in trigram:
            cursor.execute(f"ALTER INDEX {name} SET (fastupdate = {option})")
            if limit:
                cursor.execute(f"ALTER INDEX {name} SET (gin_pending_list_limit = {int(limit)})")
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {FLOOR_TABLE} ({_FLOOR_COLUMNS}) FROM STDIN") as copy,
    ):
        for row in _floor_rows(rows, labels):
            copy.write_row(row)
    elapsed = time.perf_counter() - started
    searched = _search(FLOOR_TABLE, f"s{rows // 2}@{DOMAIN}") if search else None
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {FLOOR_TABLE}")
    return elapsed, searched


def _search(table, email, runs=7):
    """Median seconds of the list's substring search for one email (its trigram index)."""
    times = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(f"SELECT user_id FROM {table} WHERE lower(email) LIKE %s", [f"%{email.lower()}%"])
            cursor.fetchall()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


# The run --------------------------------------------------------------------------------------


def _setup(slug):
    tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(slug=slug, name=slug, domain=f"{slug}.localhost")
    with tenant_context(tenant):
        for code, name in (("MBA", "Master of Business Administration"), ("ACC", "Accounting")):
            Programme.objects.get_or_create(code=code, defaults={"name": name})
        admin = StaffUser.objects.filter(email="importbench@bench.invalid").first()
        if admin is None:
            admin = StaffUser.objects.create_user(email="importbench@bench.invalid", password="x" * 20)
            from accounts.models import Role

            admin.roles.set(Role.objects.filter(name="admin"))
    return tenant, admin


def _clear():
    started = time.perf_counter()
    deleted, _ = Student.objects.filter(email__endswith=f"@{DOMAIN}").delete()
    # As autovacuum would in time: the earlier run's dead rows and index entries would
    # otherwise slow this run down, more with every run. The students' indexes are rebuilt
    # too (the tenant holds only the bench's students): a GIN index never shrinks, and the
    # floor's table is new in every round.
    with connection.cursor() as cursor:
        for table in ("students_student", "students_enrolment", "accounts_auditevent", "accounts_event"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("REINDEX TABLE students_student")
    print(f"cleared {deleted:,} rows of an earlier run in {time.perf_counter() - started:.1f} s")


def _profile(rows):
    from students.imports.services import students_import

    data = _file(rows, changed=False)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    report = students_import(data=data, dry_run=True)
    profiler.disable()
    print(f"profiled dry run: {time.perf_counter() - started:.2f} s, {report.counts}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


FASTUPDATE = ("off", "on", "on,256")


def _fastupdate_trade(rows, rounds):
    """The trigram indexes' fastupdate each way on the scratch table, interleaved: off (the
    indexes' option today), on with PostgreSQL's 4 MB pending list, on with a 256 kB one."""
    results: dict[str, list] = {option: [] for option in FASTUPDATE}
    for _ in range(rounds):
        for option in FASTUPDATE:
            results[option].append(_floor(rows, fastupdate=option, search=True))
    off_copy = statistics.median(r[0] for r in results["off"])
    off_search = statistics.median(r[1] for r in results["off"])
    for option, runs in results.items():
        copy_s = statistics.median(r[0] for r in runs)
        search_s = statistics.median(r[1] for r in runs)
        print(
            f"fastupdate={option:7} COPY {copy_s:6.2f} s ({copy_s / off_copy:4.2f}× off), "
            f"one-email search after it {search_s * 1000:7.2f} ms ({search_s / off_search:5.2f}× off)"
        )


def _dry_run_once(client, host, rows):
    """Seconds of one new students' dry run through the whole stack, after a small one (the
    process's first request imports the URL conf and builds what every later one reuses)."""
    _post(client, host, _file(100, changed=False), True)
    elapsed, _ = _post(client, host, _file(rows, changed=False), True)
    return elapsed


def _dry_run_child(code, rows, tenant):
    """One dry run in a fresh process running the code at `code` (this checkout: None)."""
    env = {**os.environ, "BENCH_CODE": str(Path(code).resolve())} if code else dict(os.environ)
    command = [sys.executable, __file__, "--tenant", tenant, "--rows", str(rows), "--dry-run-child"]
    result = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return float(result.stdout.split()[-1])


def _dry_runs(args):
    """The new students' dry run `--rounds` times, alternated with the code at `--against`."""
    sides = {"this checkout": None, **({f"code at {args.against}": args.against} if args.against else {})}
    times: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side, code in sides.items():
            times[side].append(_dry_run_child(code, args.rows, args.tenant))
        print("  ".join(f"{side}: {runs[-1]:5.2f} s" for side, runs in times.items()), flush=True)
    medians = {side: statistics.median(runs) for side, runs in times.items()}
    for side, median in medians.items():
        print(f"{side:30} median {median:5.2f} s of {args.rounds} new-students dry run(s) of {args.rows:,} rows")
    if args.against:
        mine, theirs = medians.values()
        print(f"ratio {mine / theirs:.2f} (this checkout / {args.against})")


CASES = (
    ("new students, dry run", False, True),
    ("new students, applied", False, False),
    ("every student changed, dry run", True, True),
    ("every student changed, applied", True, False),
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="importbench")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--fastupdate-trade", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--against", help="with --dry-run: a checkout of other code to time alternately")
    parser.add_argument("--dry-run-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tenant, admin = _setup(args.tenant)
    host = f"{args.tenant}.localhost"
    client = Client()
    if args.dry_run:
        with tenant_context(tenant):
            _clear()
        _dry_runs(args)
        return
    with tenant_context(tenant):
        client.force_login(admin)
    if args.dry_run_child:
        print(f"{_dry_run_once(client, host, args.rows):.3f}")
        return
    with tenant_context(tenant):
        if args.profile:
            _clear()
            _profile(args.rows)
            return
        if args.fastupdate_trade:
            _fastupdate_trade(args.rows, args.rounds)
            return
    files = {changed: _file(args.rows, changed=changed) for changed in (False, True)}
    print(f"{args.rows:,} rows, {len(files[False]) / 1e6:.1f} MB")
    # The process's first request imports the URL conf (SAML's XML schemas among it: about 2 s),
    # which is no part of an import; a small dry run pays for it before anything is timed.
    _post(client, host, _file(100, changed=False), True)
    times: dict[str, list[float]] = {"floor": []}
    for _ in range(args.rounds):
        with tenant_context(tenant):
            _clear()
            floor, _ = _floor(args.rows)
        times["floor"].append(floor)
        print(f"{'floor: COPY into students shape':34} {floor:6.1f} s")
        for label, changed, dry_run in CASES:
            elapsed, counts = _post(client, host, files[changed], dry_run)
            times.setdefault(label, []).append(elapsed)
            print(f"{label:34} {elapsed:6.1f} s  {elapsed / floor:5.2f}× this round's floor  {counts}")
    floor = statistics.median(times["floor"])
    print(f"\nmedians of {args.rounds} round(s); floor (COPY of the new students into a table shaped like students) {floor:.2f} s")
    for label, _, _ in CASES:
        median = statistics.median(times[label])
        print(f"{label:34} {median:6.2f} s  {median / floor:5.2f}× the floor")


if __name__ == "__main__":
    main()
