from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from accounts.scim import selectors, services
from config.errors import AppError
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "A tenant's SCIM tokens (the Bearer tokens its identity provider sends to /scim/v2/): "
        "issue one (its value is printed once), revoke one, or list them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--create", action="store_true", help="Issue a token and print it (once).")
        action.add_argument("--revoke", metavar="ID", help="Revoke the token with this id.")
        action.add_argument("--list", action="store_true", help="List the tenant's tokens (never their values).")
        parser.add_argument("--description", default="", help="With --create: which connection uses it.")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None or tenant.schema_name == "public":
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        if options["description"] and not options["create"]:
            raise CommandError("--description goes with --create.")
        if len(options["description"]) > 200:
            raise CommandError("--description may hold at most 200 characters.")
        with schema_context(tenant.schema_name):
            try:
                if options["create"]:
                    token, raw = services.scim_token_create(description=options["description"])
                    self.stderr.write(f"SCIM token {token.pk} on {tenant.slug}; shown this once:")
                    self.stdout.write(raw)
                elif options["revoke"]:
                    token = services.scim_token_revoke(token_id=options["revoke"])
                    self.stdout.write(f"SCIM token {token.pk} ({token.prefix}…) revoked at {token.revoked_at:%Y-%m-%d %H:%M:%S} UTC.")
                else:
                    for token in selectors.scim_token_list():
                        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
                        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
                        self.stdout.write(
                            f"{token.pk}  {token.prefix}…  {state:<24}  last used {used:<16}  {token.description}"
                        )
            except AppError as exc:
                raise CommandError(f"{exc.message} {exc.errors or ''}".strip()) from None
