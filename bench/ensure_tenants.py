"""Create and seed the benchmark tenants that are missing (existing ones are reused as they are).

    .venv/bin/python bench/ensure_tenants.py small:10000 bench:1000000

Each argument is slug:students. The shared schema and every existing tenant are migrated first,
so this runs on a fresh database too. A tenant is created with the domain <slug>.localhost and seeded
with `seed_demo` (about 10 sessions per student), which shows its progress.
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from tenants.models import Tenant  # noqa: E402
from tenants.provisioning.services import tenant_create  # noqa: E402


def main(specs):
    call_command("migrate_schemas", shared=True, verbosity=0)
    call_command("migrate_schemas", verbosity=0)
    for spec in specs:
        slug, _, students = spec.partition(":")
        if Tenant.objects.filter(slug=slug).exists():
            print(f"{slug}: exists, reused")
            continue
        tenant_create(slug=slug, name=slug, domain=f"{slug}.localhost")
        started = time.perf_counter()
        call_command("seed_demo", tenant=slug, students=int(students))
        print(f"{slug}: {int(students):,} students seeded in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) < 2 or any(":" not in arg for arg in sys.argv[1:]):
        raise SystemExit(__doc__)
    main(sys.argv[1:])
