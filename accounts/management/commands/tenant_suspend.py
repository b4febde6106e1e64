from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_tenants.utils import schema_context

from accounts.audit.services import audit_record
from tenants.models import Tenant
from tenants.provisioning.services import tenant_suspend


def lifecycle(options, change, action):
    """Apply `change` to the tenant named by --tenant, audited in that tenant's trail as `action`
    (by "system"), in one transaction."""
    tenant = Tenant.objects.filter(slug=options["tenant"]).exclude(schema_name="public").first()
    if tenant is None:
        raise CommandError(f"No tenant with slug {options['tenant']!r}.")
    try:
        with transaction.atomic():
            before = change(tenant)
            after = {"suspended_at": tenant.suspended_at, "suspended_reason": tenant.suspended_reason}
            with schema_context(tenant.schema_name):
                audit_record(action=action, target_type="tenant", target_id=tenant.slug, before=before, after=after)
    except ValidationError as exc:
        raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
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
