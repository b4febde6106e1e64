from django.core.management.base import BaseCommand

from accounts.management.commands.tenant_suspend import lifecycle
from tenants.provisioning.services import tenant_delete


class Command(BaseCommand):
    help = (
        "Delete a suspended tenant: it stays suspended for TENANT_DELETE_RETENTION_DAYS (or --days), when the daily "
        "purge writes its final backup to TENANT_BACKUP_DIR and removes its schema, domains and files. "
        "`tenant_resume` cancels it until then. Audited as tenant.delete."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--reason", required=True, help="Why (kept with the record of the purge)")
        parser.add_argument("--days", type=int, default=None, help="Days before the purge (default TENANT_DELETE_RETENTION_DAYS)")

    def handle(self, *args, **options):
        tenant = lifecycle(
            options, lambda t: tenant_delete(t, reason=options["reason"], days=options["days"]), "tenant.delete"
        )
        self.stdout.write(self.style.SUCCESS(
            f"{tenant.slug} will be purged after {tenant.delete_after:%Y-%m-%d %H:%M} UTC "
            "(final backup first); tenant_resume cancels it."
        ))
