import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.provisioning.services import public_tenant_ensure, spare_schema_ensure, tenant_create, validation_text


class Command(BaseCommand):
    help = "Create a tenant: its schema (migrated) and its domain."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="Schema name and export file prefix, e.g. demo")
        parser.add_argument("--name", required=True, help="Display name, e.g. 'Demo University'")
        parser.add_argument("--domain", required=True, help="Host name it answers on, e.g. demo.localhost")
        parser.add_argument("--time-zone", default="UTC", help="IANA time zone (default UTC)")
        parser.add_argument(
            "--no-spare", action="store_true", help="Do not prepare a schema for the next tenant afterwards"
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing (exit 0) when the slug already exists"
        )

    def handle(self, *args, **options):
        public_tenant_ensure()
        if options["if_missing"] and Tenant.objects.filter(slug=options["slug"]).exists():
            self.stdout.write(f"Tenant {options['slug']} already exists.")
            return
        started = time.perf_counter()
        try:
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                domain=options["domain"],
                time_zone=options["time_zone"],
            )
        except ValidationError as exc:
            raise CommandError(validation_text(exc)) from None
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug} at {options['domain']} in {elapsed:.2f} s."))
        if not options["no_spare"]:
            spare_schema_ensure()  # the next creation's schema, ready before it is needed
