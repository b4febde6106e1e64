import time

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context
from tqdm import tqdm

from console.demo.services import DemoBuilder
from students.models import Student
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Fill a tenant with realistic demo data (programmes, case studies, students, sessions, grants, groups)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--students", type=int, default=2000, help="How many students (default 2000)")
        parser.add_argument("--seed", type=int, default=20261123, help="Random seed (same seed, same data)")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the tenant has students")

    def handle(self, *args, **options):
        n = options["students"]
        if n < 1 or n > 2_000_000:
            raise CommandError("--students must be between 1 and 2,000,000.")
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None or tenant.schema_name == "public":
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        with schema_context(tenant.schema_name):
            if Student.objects.exists():
                if options["if_empty"]:
                    self.stdout.write(f"Tenant {tenant.slug} already has students; leaving its data alone.")
                    return
                raise CommandError(f"Tenant {tenant.slug} already has students; seed an empty tenant.")
            started = time.monotonic()
            builder = DemoBuilder(students=n, seed=options["seed"])
            builder.build_catalogue()
            # Once every row is written, the loads' indexes are built (a minute or two at a million).
            with tqdm(total=n, unit="student", desc="students and sessions", disable=options["verbosity"] == 0) as bar:

                def advance_people(count):
                    bar.update(count)
                    if bar.n == bar.total:
                        bar.set_postfix_str("building indexes")

                builder.write_people(progress=advance_people)
            with tqdm(unit="slice", desc="transcripts and grade reports", disable=options["verbosity"] == 0) as bar:

                def advance(done, total):
                    bar.total = total
                    bar.update(done - bar.n)
                    if done == total:
                        bar.set_postfix_str("building indexes")

                builder.write_transcripts_and_grades(progress=advance)
            builder.write_groups()
            builder.analyze()
            elapsed = time.monotonic() - started
        counts = builder.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {tenant.slug}: {counts['students']:,} students, {counts['sessions']:,} sessions, "
                f"{counts['grants']:,} grants in {elapsed:.1f} s."
            )
        )
