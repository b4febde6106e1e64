from django.core.management.base import BaseCommand

from accounts.management.commands.tenant_suspend import lifecycle
from tenants.provisioning.services import tenant_resume


class Command(BaseCommand):
    help = "Serve a suspended tenant again, cancelling a deletion still waiting. Audited as tenant.resume."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")

    def handle(self, *args, **options):
        tenant = lifecycle(options, tenant_resume, "tenant.resume")
        self.stdout.write(self.style.SUCCESS(f"Resumed {tenant.slug}."))
