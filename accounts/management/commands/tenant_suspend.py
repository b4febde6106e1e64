from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.audit.services import audit_record
from accounts.identity.commands import in_tenant
from tenants.provisioning.services import suspension, tenant_suspend, validation_text


def lifecycle(options, change, action):
    """Apply `change` to the tenant named by --tenant, audited in that tenant's trail as `action`
    (by "system"), in one transaction."""
    try:
        with in_tenant(options["tenant"]) as (tenant, _), transaction.atomic():
            before = change(tenant)
            audit_record(action=action, target_type="tenant", target_id=tenant.slug, before=before, after=suspension(tenant))
    except ValidationError as exc:
        raise CommandError(validation_text(exc)) from None
    return tenant


class Command(BaseCommand):
    help = (
        "Suspend a tenant: its host answers 503 (a page, or the JSON envelope with TENANT_SUSPENDED) to every "
        "request; its data is kept. Audited as tenant.suspend. `tenant_resume` serves it again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit trail; staff never see it)")

    def handle(self, *args, **options):
        tenant = lifecycle(options, lambda t: tenant_suspend(t, reason=options["reason"]), "tenant.suspend")
        self.stdout.write(self.style.SUCCESS(f"Suspended {tenant.slug} since {tenant.suspended_at:%Y-%m-%d %H:%M} UTC."))
