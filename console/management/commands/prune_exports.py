"""Delete background exports' files past EXPORT_FILE_HOURS and mark them expired, in every
tenant (jobs delete each file as it expires, and the daily `exports.prune` job catches any left)."""
from django.core.management.base import BaseCommand
from django.db import connection
from django_tenants.utils import get_public_schema_name, get_tenant_model

from console.exports.services import export_jobs_prune


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        total, previous = 0, connection.tenant
        for tenant in get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name"):
            connection.set_tenant(tenant)
            pruned = export_jobs_prune()
            total += pruned
            self.stdout.write(f"{tenant.schema_name}: {pruned:,} export{'s' if pruned != 1 else ''} expired")
        connection.set_tenant(previous)
        self.stdout.write(f"{total:,} expired in all.")
