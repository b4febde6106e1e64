"""Does the console list cost the same on a small and a large tenant? (run on demand, not a test)

    .venv/bin/python bench/list_scaling.py --small small --large bench [--runs 11]

Two tenants seeded with `seed_demo` (e.g. 10,000 and 1,000,000 students). Every call goes
through the whole stack in this process (`django.test.Client`: tenant lookup, Bearer token
authentication, view, JSON), the two tenants' calls interleaved so that load on this shared
machine falls on both alike; each line is the median of --runs calls per tenant and their
ratio (large / small). The deep page skips the same number of rows on both, inside the small
tenant's data; the search looks for one student's email on each.

Writes one thing per tenant: a staff user `bench@bench.invalid` with an API token, made once
and reused.
"""
import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.clients import bench_client  # noqa: E402
from students.models import LISTED, Student  # noqa: E402
from tenants.models import Tenant  # noqa: E402

URL = "/v1/console/students"


class Side:
    """One tenant: its host, a token, and what its cases ask for."""

    def __init__(self, slug):
        self.tenant = Tenant.objects.filter(slug=slug).first()
        if self.tenant is None:
            raise SystemExit(
                f"No tenant {slug!r}: manage.py create_tenant --slug {slug} --name {slug} --domain {slug}.localhost "
                f"&& manage.py seed_demo --tenant {slug} --students N"
            )
        connection.set_tenant(self.tenant)
        self.students = Student.objects.filter(LISTED).count()
        self.client = bench_client(self.tenant)
        middle = Student.objects.filter(LISTED).order_by("user_id").values_list("email", flat=True)[self.students // 2]
        self.search = middle.split("@")[0]
        connection.set_schema_to_public()

    def call(self, params):
        started = time.perf_counter()
        response = self.client.get(URL, params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{self.tenant.slug} {params} -> {response.status_code}: {response.content[:300]!r}")
        return elapsed, response.json()


def cases(small):
    yield "default (last_seen desc)", {}, {}
    for sort_by in ("name", "last_seen", "programme", "status"):
        for order in ("asc", "desc"):
            yield f"sort_by={sort_by} {order}", {"sort_by": sort_by, "sort_order": order}, {}
    yield "limit=100", {"limit": 100}, {}
    skip = (small.students * 9 // 10) // 10 * 10
    yield f"deep page: skip={skip:,} (name asc)", {"sort_by": "name", "sort_order": "asc", "skip": skip}, {}
    yield "search: one student's email", {}, {"search": True}
    yield "status=inactive", {"status": "inactive"}, {}


def main():
    logging.getLogger("console.access").setLevel(logging.WARNING)  # one line per call otherwise
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", default="small", help="slug of the small tenant (default small)")
    parser.add_argument("--large", default="bench", help="slug of the large tenant (default bench)")
    parser.add_argument("--runs", type=int, default=11, help="calls per case and tenant (default 11)")
    args = parser.parse_args()

    small, large = Side(args.small), Side(args.large)
    print(f"{small.tenant.slug}: {small.students:,} listed students   {large.tenant.slug}: {large.students:,}   "
          f"medians of {args.runs} interleaved calls, whole stack\n")
    print(f"  {'case':<40} {'small':>9} {'large':>9} {'ratio':>6}   total small / large")
    worst = 0.0
    for label, params, options in cases(small):
        timings = {small: [], large: []}
        totals = {}
        for _ in range(args.runs):
            for side in (small, large):
                side_params = {**params, "search": side.search} if options.get("search") else params
                elapsed, body = side.call(side_params)
                timings[side].append(elapsed)
                totals[side] = body["total"]
        a, b = statistics.median(timings[small]), statistics.median(timings[large])
        worst = max(worst, b / a)
        print(f"  {label:<40} {a:7.1f}ms {b:7.1f}ms {b / a:6.2f}   {totals[small]:,} / {totals[large]:,}")
    print(f"\n  worst ratio {worst:.2f} (goal: at most 1.3)")


if __name__ == "__main__":
    main()
