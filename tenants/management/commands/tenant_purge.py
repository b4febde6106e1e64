from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.backups.services import tenant_purge, tenants_purge_due
from tenants.models import Tenant
from tenants.provisioning.services import validation_text


class Command(BaseCommand):
    help = (
        "Purge now the deleted tenants whose retention has run out (the queue's daily job does it too), or with "
        "--tenant one deleted tenant whatever its retention: a final backup into TENANT_BACKUP_DIR, then its schema, "
        "domains and files are removed and a PurgedTenant row records it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="A deleted tenant's slug, purged now")

    def handle(self, *args, **options):
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).exclude(schema_name="public").first()
            if tenant is None:
                raise CommandError(f"No tenant with slug {options['tenant']!r}.")
            try:
                purged = [tenant_purge(tenant, early=True)]
            except ValidationError as exc:
                raise CommandError(validation_text(exc)) from None
        else:
            purged = tenants_purge_due()
        for record in purged:
            self.stdout.write(f"Purged {record.slug}; final backup {record.backup_path} (sha256 {record.backup_sha256}).")
        self.stdout.write(self.style.SUCCESS(f"{len(purged)} tenant{'s' if len(purged) != 1 else ''} purged."))
