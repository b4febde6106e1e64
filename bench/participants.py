"""A case study's participants dashboard (SPEC §7.7) on a small and a large tenant (run on
demand, not a test).

    .venv/bin/python bench/participants.py --small small --large million [--runs 7]

For the first active case study by title in each tenant (the seed gives both the same
catalogue), the selectors of the dashboard (attempts.participants.selectors: a page of 20 and
its total in one statement, and the overview's counts) run on the two tenants alternately, for
the default page (joined and completed, latest joined first), the best scores first, every
status (the invited too) by name, and the overview. The lines give medians and the ratio
large / small. The first two are read from the case study's totals and its kept counts
(attempts 0007), their students joined for the page's rows only; each is also timed, in the
same rounds, counted over the students as every other query is (the window count over every
participant joined to the students), the way they were read before: "counted over the
students" and the ratio to it. The others read every participant of the case study, so their
cost follows them (about 100 times more on a tenant 100 times larger), not the sessions.
"""
import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django_tenants.utils import tenant_context  # noqa: E402

from attempts.participants import selectors  # noqa: E402
from attempts.participants.selectors import (  # noqa: E402
    STATUSES,
    ParticipantQuery,
    participants_page,
    participants_summary,
)
from catalogue.models import CaseStudy  # noqa: E402
from tenants.models import Tenant  # noqa: E402

CASES = {
    "default page": lambda case_study: participants_page(case_study=case_study, query=ParticipantQuery(), limit=20, offset=0),
    "best scores first": lambda case_study: participants_page(
        case_study=case_study, query=ParticipantQuery(ordering="-best_score"), limit=20, offset=0
    ),
    "every status, by name": lambda case_study: participants_page(
        case_study=case_study, query=ParticipantQuery(statuses=STATUSES, ordering="name"), limit=20, offset=0
    ),
    "overview": lambda case_study: participants_summary(case_study=case_study),
}
# Cases read from the kept counts, timed again counted over the students.
COUNTED = ("default page", "best scores first")
OVER_THE_STUDENTS = " (counted over the students)"


@contextlib.contextmanager
def over_the_students():
    counted = selectors._counted
    selectors._counted = lambda query: False
    try:
        yield
    finally:
        selectors._counted = counted


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", required=True)
    parser.add_argument("--large", required=True)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tenants = {slug: Tenant.objects.get(slug=slug) for slug in (args.small, args.large)}
    case_studies, counts = {}, {}
    for slug, tenant in tenants.items():
        with tenant_context(tenant):
            case_studies[slug] = CaseStudy.objects.filter(is_active=True).order_by("title", "case_study_id").first()
            counts[slug] = participants_page(case_study=case_studies[slug], query=ParticipantQuery(), limit=1, offset=0)[0]
    cases = [(case, contextlib.nullcontext, call) for case, call in CASES.items()]
    cases += [(case + OVER_THE_STUDENTS, over_the_students, CASES[case]) for case in COUNTED]
    times = {(case, slug): [] for case, _, _ in cases for slug in tenants}
    for run in range(args.runs + 1):  # the first round warms caches and is not counted
        for case, way, call in cases:
            for slug, tenant in tenants.items():
                with tenant_context(tenant), way():
                    started = time.perf_counter()
                    call(case_studies[slug])
                    if run:
                        times[(case, slug)].append((time.perf_counter() - started) * 1000)
    for slug in tenants:
        print(f"{slug}: {case_studies[slug].title!r}, {counts[slug]:,} joined or completed")
    median = {key: statistics.median(values) for key, values in times.items()}
    for case, _, _ in cases:
        small, large = median[(case, args.small)], median[(case, args.large)]
        line = f"{case:>49}: {args.small} {small:7.1f} ms, {args.large} {large:7.1f} ms, large / small {large / small:5.1f}x"
        if case in COUNTED:
            before = median[(case + OVER_THE_STUDENTS, args.large)]
            line += f"; {args.large}: counted over the students / kept {before / large:.1f}x"
        print(line)
    print(f"command: .venv/bin/python bench/participants.py --small {args.small} --large {args.large} --runs {args.runs}")


if __name__ == "__main__":
    main()
