import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.audit.services import audit_record
from accounts.identity.commands import in_tenant
from tenants.backups.archive import ArchiveError, sha256_of
from tenants.backups.services import tenant_backup
from tenants.provisioning.services import validation_text


class Command(BaseCommand):
    help = (
        "Write a tenant to one archive: its schema (definition and rows, from one snapshot), its tenant row and "
        "domains, its files, and a manifest of every table's rows and checksum. Audited as tenant.backup."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--out", required=True, help="The archive to write (a new file, .tar)")
        parser.add_argument("--exports", action="store_true", help="Also archive background exports' files")

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            with in_tenant(options["tenant"]) as (tenant, _):
                manifest = tenant_backup(tenant, options["out"], with_exports=options["exports"])
                digest = sha256_of(options["out"])
                rows = sum(t["rows"] for t in manifest["tables"].values())
                with transaction.atomic():
                    audit_record(
                        action="tenant.backup", target_type="tenant", target_id=tenant.slug,
                        detail={"file": options["out"], "sha256": digest, "snapshot_at": manifest["snapshot_at"],
                                "rows": rows, "files": len(manifest["files"])},
                    )
        except ValidationError as exc:
            raise CommandError(validation_text(exc)) from None
        except (ArchiveError, RuntimeError) as exc:
            raise CommandError(str(exc)) from None
        for name in manifest["files_missing"]:
            self.stderr.write(f"warning: {name} is named by a row but missing from the storage; not archived")
        self.stdout.write(self.style.SUCCESS(
            f"Backed up {tenant.slug} as of {manifest['snapshot_at']}: {len(manifest['tables'])} tables, "
            f"{rows:,} rows, {len(manifest['files'])} files, in {time.monotonic() - started:.1f} s "
            f"to {options['out']} (sha256 {digest})."
        ))
