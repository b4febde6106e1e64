"""A student group's aggregated results on a small and a large tenant, for a group of the same
size in each (run on demand, not a test).

    .venv/bin/python bench/group_results.py --small small --large million [--members 3000] [--runs 7]

In each tenant a group of `--members` listed students (the first by user_id) is written inside
a transaction that is rolled back at the end, so nothing is kept. Then
attempts.group_results.selectors.student_group_results (one statement: the members' sessions
and enrolments aggregated per case study) runs on the two tenants alternately; the lines give
medians and the ratio large / small. A group's cost should follow its members, not the
tenant's size.
"""
import argparse
import os
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

from attempts.group_results.selectors import student_group_results  # noqa: E402
from students.models import GroupMembership, Student, StudentGroup  # noqa: E402
from tenants.models import Tenant  # noqa: E402


def group_of(members):
    """The tenant's first group, its memberships replaced by `members` listed students (inside
    the caller's transaction), its statistics taken as autovacuum would."""
    group = StudentGroup.objects.order_by("pk").first()
    if group is None:
        group = StudentGroup.objects.create(name="bench group")
    ids = Student.objects.filter(archived=False, deleted_at__isnull=True).order_by("user_id")
    ids = list(ids.values_list("pk", flat=True)[:members])
    GroupMembership.objects.filter(group=group).delete()
    GroupMembership.objects.bulk_create([GroupMembership(group=group, student_id=pk) for pk in ids], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {GroupMembership._meta.db_table}")
    return group, len(ids)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", required=True)
    parser.add_argument("--large", required=True)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tenants = {slug: Tenant.objects.get(slug=slug) for slug in (args.small, args.large)}
    times = {slug: [] for slug in tenants}
    with transaction.atomic():
        groups = {}
        for slug, tenant in tenants.items():
            with tenant_context(tenant):
                groups[slug] = group_of(args.members)
        for run in range(args.runs + 1):  # the first round warms caches and is not counted
            for slug, tenant in tenants.items():
                with tenant_context(tenant):
                    started = time.perf_counter()
                    student_group_results(group=groups[slug][0])
                    if run:
                        times[slug].append((time.perf_counter() - started) * 1000)
        transaction.set_rollback(True)
    for slug in tenants:
        print(f"{slug}: a group of {groups[slug][1]:,} members, median {statistics.median(times[slug]):.0f} ms "
              f"of {args.runs} ({', '.join(f'{t:.0f}' for t in times[slug])})")
    ratio = statistics.median(times[args.large]) / statistics.median(times[args.small])
    print(f"large / small: {ratio:.2f}x")
    print(f"command: .venv/bin/python bench/group_results.py --small {args.small} --large {args.large} "
          f"--members {args.members} --runs {args.runs}")


if __name__ == "__main__":
    main()
