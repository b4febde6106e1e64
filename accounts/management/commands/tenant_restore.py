import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.audit.services import audit_record
from accounts.identity.commands import in_tenant
from tenants.backups.archive import ArchiveError
from tenants.backups.services import tenant_restore
from tenants.provisioning.services import validation_text


class Command(BaseCommand):
    help = (
        "Make a tenant again from an archive of tenant_backup, under --slug (a new tenant, or one deleted and purged), "
        "on --domain (default: the archive's domains). Every table's rows are checked against the manifest before "
        "anything is kept; an archive from an older release is migrated. Audited as tenant.restore."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="archive", required=True, help="The archive (.tar)")
        parser.add_argument("--slug", required=True, help="The restored tenant's slug (and schema)")
        parser.add_argument("--domain", action="append", default=[], help="Its host name (repeat for several; first is primary)")
        parser.add_argument("--name", default=None, help="Its name (default: the archive's)")

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            tenant, manifest = tenant_restore(
                options["archive"], slug=options["slug"], domains=options["domain"], name=options["name"]
            )
            with in_tenant(tenant.slug), transaction.atomic():
                audit_record(
                    action="tenant.restore", target_type="tenant", target_id=tenant.slug,
                    detail={"file": options["archive"], "from_slug": manifest["tenant"]["slug"],
                            "snapshot_at": manifest["snapshot_at"]},
                )
        except ValidationError as exc:
            raise CommandError(validation_text(exc)) from None
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(self.style.SUCCESS(
            f"Restored {manifest['tenant']['slug']} as of {manifest['snapshot_at']} as {tenant.slug}: "
            f"{len(manifest['tables'])} tables and {rows:,} rows checked against the manifest, "
            f"{len(manifest['files'])} files, in {time.monotonic() - started:.1f} s."
        ))
