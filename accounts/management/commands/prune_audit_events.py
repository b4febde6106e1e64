"""Delete audit events older than the retention period, in every tenant (run it daily)."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django_tenants.utils import get_public_schema_name, get_tenant_model

from accounts.audit.services import audit_events_prune


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help=f"Keep this many days (default AUDIT_RETENTION_DAYS, {settings.AUDIT_RETENTION_DAYS})."
        )

    def handle(self, *args, days=None, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        total, previous = 0, connection.tenant
        for tenant in get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name"):
            connection.set_tenant(tenant)
            pruned = audit_events_prune(days=days)
            total += pruned
            self.stdout.write(f"{tenant.schema_name}: {pruned:,} event{'s' if pruned != 1 else ''} pruned")
        connection.set_tenant(previous)
        self.stdout.write(f"{total:,} pruned in all.")
