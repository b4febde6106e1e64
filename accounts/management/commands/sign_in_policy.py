"""A tenant's sign-in policy, for the platform team: shown, or changed by the options given.

    manage.py sign_in_policy --tenant acme
    manage.py sign_in_policy --tenant acme --sso-only on --break-glass root@acme.edu --break-glass ops@acme.edu
    manage.py sign_in_policy --tenant acme --require-two-factor on
    manage.py sign_in_policy --tenant acme --sso-only off --no-break-glass

Through accounts.identity.services, as the API and the console: SSO only is refused while no
identity provider is enabled; each change is audited (by "system")."""
from django.core.management.base import BaseCommand

from accounts.identity import services
from accounts.identity.commands import in_tenant, on_off, refused
from accounts.identity.policy import policy_get
from config.errors import AppError


class Command(BaseCommand):
    help = "Show or change a tenant's sign-in policy: SSO only, break-glass accounts, a required second factor."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--sso-only", type=on_off, metavar="on|off",
                            help="Staff sign in through an identity provider only (but the break-glass accounts).")
        glass = parser.add_mutually_exclusive_group()
        glass.add_argument("--break-glass", action="append", metavar="EMAIL",
                           help="Repeatable; given, the list is exactly these accounts.")
        glass.add_argument("--no-break-glass", action="store_true", help="No break-glass accounts.")
        parser.add_argument("--require-two-factor", type=on_off, metavar="on|off",
                            help="Password sign-ins need a second factor (TOTP).")

    def handle(self, *args, tenant, sso_only, break_glass, no_break_glass, require_two_factor, **options):
        emails = [] if no_break_glass else break_glass
        with in_tenant(tenant) as (found, _):
            if sso_only is None and emails is None and require_two_factor is None:
                policy = policy_get()
            else:
                try:
                    policy = services.sign_in_policy_update(
                        sso_only=sso_only, break_glass_emails=emails, require_two_factor=require_two_factor
                    )
                except AppError as error:
                    raise refused(error) from None
                self.stdout.write(self.style.SUCCESS(f"Updated the sign-in policy of {found.slug}."))
            if policy.sso_only and not policy.break_glass_emails:
                self.stderr.write("Note: SSO only with no break-glass account: if the providers fail, nobody signs in.")
        self.stdout.write(f"SSO only: {'on' if policy.sso_only else 'off'}")
        self.stdout.write(f"Break-glass accounts: {', '.join(policy.break_glass_emails) or 'none'}")
        self.stdout.write(f"Second factor required: {'on' if policy.require_two_factor else 'off'}")

