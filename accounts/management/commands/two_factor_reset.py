from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from accounts.models import StaffUser
from accounts.twofactor.services import two_factor_reset
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Reset a staff user's second factor (a lost phone): their authenticator app and recovery codes are "
        "deleted, so the next password sign-in asks for none or, where the tenant requires one, sets a new one "
        "up. Audited as two_factor.reset."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--email", required=True, help="The staff user's email")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None or tenant.schema_name == "public":
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        with schema_context(tenant.schema_name):
            user = StaffUser.objects.filter(email__iexact=options["email"].strip()).first()
            if user is None:
                raise CommandError(f"No staff user {options['email']!r} on {tenant.slug}.")
            removed = two_factor_reset(user=user)
        if not any(removed.values()):
            self.stdout.write(f"{user.email} on {tenant.slug} had no second factor; nothing changed.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Reset the second factor of {user.email} on {tenant.slug}: authenticator app and "
            f"{removed['recovery_codes_left']} unused recovery code(s) deleted."
        ))
