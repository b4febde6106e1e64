from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from accounts.permissions import BUILT_IN_ROLES
from accounts.staff.services import staff_create
from config.errors import AppError
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create a staff user on a tenant (or reset the password and roles of an existing one)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--role", action="append", default=[], help=f"Repeatable: {', '.join(BUILT_IN_ROLES)}"
        )
        parser.add_argument("--name", default="", help="Full name")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None or tenant.schema_name == "public":
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        roles = options["role"] or ["viewer"]
        with schema_context(tenant.schema_name):
            try:
                user = staff_create(
                    email=options["email"], password=options["password"], roles=roles, full_name=options["name"]
                )
            except AppError as exc:
                raise CommandError(f"{exc.message} {exc.errors}") from None
        self.stdout.write(self.style.SUCCESS(f"Staff user {user.email} on {tenant.slug} with roles {', '.join(roles)}."))
