"""What keeping attempts_standing costs a session report (run on demand, not a test).

    .venv/bin/python bench/standing_upkeep.py --tenant million [--rounds 41]

Reports new sessions through attempts.ingestion.services.sessions_ingest (what PUT
/v1/sessions/{id} and import_sessions call): one session, and a batch of 500 (import_sessions'
size), each for students and case studies taken from the tenant, alternately with the
standing's upkeep kept and deferred (attempts.standing.STANDING_DEFERRED_SQL: the triggers
still fire and capture their rows, then return before the recount). Medians of --rounds each
and the ratio kept / deferred. Everything runs in one transaction that is rolled back.

    .venv/bin/python bench/standing_upkeep.py --tenant million --participant-counts [--rounds 21]

The same reports with the upkeep as it is and as it was before attempts 0007 (0004's refresh,
without the pairs' students locked, and no participants' counts or listed state kept), each
round in a transaction of its own with one version put in place (and rolled back with it),
alternately; medians and the ratio 0007 / 0006.
"""
import argparse
import datetime as dt
import importlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from attempts.ingestion.services import session_input, sessions_ingest  # noqa: E402
from attempts.standing import STANDING_DEFERRED_SQL  # noqa: E402
from catalogue.models import CaseStudy  # noqa: E402
from config.ids import new_object_id  # noqa: E402
from students.models import Student  # noqa: E402
from tenants.models import Tenant  # noqa: E402

KEPT_SQL = "SELECT set_config('attempts.standing_deferred', 'off', true)"
_0004 = importlib.import_module("attempts.migrations.0004_case_study_standing")
_0007 = importlib.import_module("attempts.migrations.0007_participant_counts")
# The upkeep as attempts 0006 left it, and as 0007 made it (put in place again, so both runs
# start from functions compiled afresh).
UPKEEP_0006_SQL = _0004.FORWARD.split("CREATE OR REPLACE FUNCTION attempts_standing_rebuild()")[0] + """
DROP TRIGGER participantcount_insert ON attempts_standing;
DROP TRIGGER participantcount_update ON attempts_standing;
DROP TRIGGER participantcount_delete ON attempts_standing;
DROP TRIGGER standing_students_listed ON students_student;
"""
UPKEEP_0007_SQL = _0007.REFRESH
BATCH = 500


def reports(rng, students, case_studies, count):
    items = []
    for _ in range(count):
        started = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(0, 40_000))
        data = {
            "session_id": new_object_id(), "user_id": rng.choice(students), "case_study_id": rng.choice(case_studies),
            "status": "ended", "started_at": started.isoformat(), "ended_at": (started + dt.timedelta(minutes=30)).isoformat(),
            "last_activity_at": (started + dt.timedelta(minutes=30)).isoformat(), "score": rng.randrange(0, 101),
            "transcript_status": "available", "grading_status": "complete",
        }
        items.append(session_input(data=data))
    return items


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--participant-counts", action="store_true", help="0007's upkeep against 0006's")
    args = parser.parse_args()
    rng = random.Random(20261206)
    tenant = Tenant.objects.get(slug=args.tenant)
    if args.participant_counts:
        participant_counts(tenant, rng, args.rounds)
        return
    times = {(size, mode): [] for size in (1, BATCH) for mode in ("kept", "deferred")}
    with tenant_context(tenant), transaction.atomic():
        students = list(Student.objects.order_by("?").values_list("pk", flat=True)[:20_000])
        case_studies = list(CaseStudy.objects.filter(is_active=True).values_list("pk", flat=True))
        with connection.cursor() as cursor:
            for round_ in range(args.rounds + 1):  # the first round warms up and is not counted
                for size in (1, BATCH):
                    for mode, sql in (("kept", KEPT_SQL), ("deferred", STANDING_DEFERRED_SQL))[:: 1 if round_ % 2 else -1]:
                        items = reports(rng, students, case_studies, size)
                        cursor.execute(sql)
                        started = time.perf_counter()
                        sessions_ingest(items=items)
                        if round_:
                            times[(size, mode)].append((time.perf_counter() - started) * 1000)
        transaction.set_rollback(True)
    for size in (1, BATCH):
        kept, deferred = (statistics.median(times[(size, mode)]) for mode in ("kept", "deferred"))
        print(f"{size:>3} new session{'s' if size > 1 else ''}: kept {kept:7.2f} ms, deferred {deferred:7.2f} ms, "
              f"kept / deferred {kept / deferred:.2f}x (medians of {args.rounds})")
    print(f"command: .venv/bin/python bench/standing_upkeep.py --tenant {args.tenant} --rounds {args.rounds}")


def participant_counts(tenant, rng, rounds):
    times = {(size, version): [] for size in (1, BATCH) for version in ("0006", "0007")}
    sql = {"0006": UPKEEP_0006_SQL, "0007": UPKEEP_0007_SQL}
    with tenant_context(tenant):
        students = list(Student.objects.order_by("?").values_list("pk", flat=True)[:20_000])
        case_studies = list(CaseStudy.objects.filter(is_active=True).values_list("pk", flat=True))
        for round_ in range(rounds + 1):  # the first round warms up and is not counted
            for size in (1, BATCH):
                for version in ("0006", "0007")[:: 1 if round_ % 2 else -1]:
                    with transaction.atomic():
                        with connection.cursor() as cursor:
                            cursor.execute(sql[version])
                        sessions_ingest(items=reports(rng, students, case_studies, 1))  # compiles the functions
                        items = reports(rng, students, case_studies, size)
                        started = time.perf_counter()
                        sessions_ingest(items=items)
                        if round_:
                            times[(size, version)].append((time.perf_counter() - started) * 1000)
                        transaction.set_rollback(True)
    for size in (1, BATCH):
        before, after = (statistics.median(times[(size, version)]) for version in ("0006", "0007"))
        print(f"{size:>3} new session{'s' if size > 1 else ''}: 0006 {before:7.2f} ms, 0007 {after:7.2f} ms, "
              f"0007 / 0006 {after / before:.2f}x (medians of {rounds})")
    print(f"command: .venv/bin/python bench/standing_upkeep.py --tenant {tenant.slug} --participant-counts --rounds {rounds}")


if __name__ == "__main__":
    main()
