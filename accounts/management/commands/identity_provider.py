"""A tenant's identity providers, for the platform team: list, create, update, delete.

    manage.py identity_provider list   --tenant acme
    manage.py identity_provider create --tenant acme --kind oidc --slug entra --name "Entra ID" \\
        --issuer https://login.microsoftonline.com/<id>/v2.0 --client-id <id> --client-secret-file secret.txt \\
        --role-rule "ops-staff = operator" --role-rule "ops-admins = admin"
    manage.py identity_provider create --tenant acme --kind saml --slug shibboleth --name Shibboleth \\
        --idp-entity-id https://idp.acme.edu/idp --idp-sso-url https://idp.acme.edu/idp/profile/SAML2/Redirect/SSO \\
        --idp-certificate-file idp.pem --role-claim eduPersonAffiliation --role-rule "staff = viewer"
    manage.py identity_provider update --tenant acme --slug entra --client-secret-file - < secret.txt
    manage.py identity_provider delete --tenant acme --slug entra

The client secret is read from --client-secret-file (a path, or - for standard input), from
--client-secret (visible to other users of the machine in the process list: avoid it), or, on
a terminal, from a prompt that does not echo it; it is never printed. Through
accounts.identity.services, the API's and the console's services: the same rules, refusals and
audit events (by "system")."""
import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.identity import selectors, services
from accounts.identity.commands import in_tenant, refused
from accounts.identity.formats import role_rules_from_lines
from accounts.identity.models import IdentityProvider
from config.errors import AppError

ADDRESS_LABELS = {
    "sign_in_url": "sign-in link",
    "redirect_uri": "redirect URI",
    "sp_entity_id": "SP entity id",
    "metadata_url": "SP metadata",
    "acs_url": "ACS URL",
}


class Command(BaseCommand):
    help = "List, create, update or delete a tenant's identity providers (OpenID Connect, SAML 2.0)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,create,update,delete}")
        listing = actions.add_parser("list", help="Every provider, with the addresses to register at the provider.")
        _tenant(listing)
        create = actions.add_parser("create", help="Add a provider.")
        _tenant(create)
        create.add_argument("--kind", required=True, choices=[kind for kind, _ in IdentityProvider.KINDS])
        create.add_argument("--slug", required=True, help="In its addresses: /sso/<slug>/…")
        create.add_argument("--name", required=True, help='On the sign-in button: "Sign in with <name>".')
        create.add_argument("--disabled", action="store_true", help="Create it disabled.")
        _settings(create)
        update = actions.add_parser("update", help="Change a provider (only the options given).")
        _tenant(update)
        update.add_argument("--slug", required=True, help="The provider to change.")
        update.add_argument("--new-slug", help="Its new slug (every address the provider registered changes).")
        update.add_argument("--name")
        switch = update.add_mutually_exclusive_group()
        switch.add_argument("--enable", dest="enabled", action="store_const", const=True)
        switch.add_argument("--disable", dest="enabled", action="store_const", const=False)
        update.add_argument("--no-role-rules", action="store_true", help="Remove every role rule.")
        _settings(update)
        delete = actions.add_parser("delete", help="Delete a provider (its links to staff users too; users stay).")
        _tenant(delete)
        delete.add_argument("--slug", required=True)

    def handle(self, *args, action, tenant, **options):
        with in_tenant(tenant) as (_, host):
            try:
                getattr(self, f"_{action}")(host=host, **options)
            except AppError as error:
                raise refused(error) from None

    def _list(self, *, host, **options):
        providers = list(selectors.provider_list())
        if not providers:
            self.stdout.write("No identity providers.")
        for provider in providers:
            state = "enabled" if provider.enabled else "disabled"
            secret = selectors.secret_hint(provider.client_secret)
            self.stdout.write(f"{provider.slug}  {provider.get_kind_display()}  {state}  {provider.name}"
                              + (f"  (client secret {secret})" if secret else ""))
            self._addresses(provider, host)

    def _addresses(self, provider, host):
        addresses = selectors.provider_addresses(provider, base=f"https://{host}")
        for key, label in ADDRESS_LABELS.items():
            if addresses[key]:
                self.stdout.write(f"    {label + ':':14} {addresses[key]}")

    def _create(self, *, host, kind, slug, name, disabled, **options):
        fields = _fields(options, prompt_secret=kind == IdentityProvider.OIDC)
        provider = services.provider_create(kind=kind, slug=slug, name=name, enabled=not disabled, **fields)
        self.stdout.write(self.style.SUCCESS(f"Created {provider.get_kind_display()} provider {provider.slug}. "
                                             "Register these addresses with the identity provider:"))
        self._addresses(provider, host)

    def _update(self, *, host, slug, new_slug, name, enabled, no_role_rules, **options):
        provider = _provider(slug)
        fields = _fields(options, prompt_secret=False)
        fields.update({k: v for k, v in (("slug", new_slug), ("name", name), ("enabled", enabled)) if v is not None})
        if no_role_rules:
            fields["role_rules"] = []
        if not fields:
            raise CommandError("Nothing to change: give the options to change.")
        provider = services.provider_update(provider_id=provider.pk, **fields)
        self.stdout.write(self.style.SUCCESS(f"Updated provider {provider.slug}."))
        self._addresses(provider, host)

    def _delete(self, *, host, slug, **options):
        provider = services.provider_delete(provider_id=_provider(slug).pk)
        self.stdout.write(self.style.SUCCESS(f"Deleted provider {provider.slug}."))


def _tenant(parser):
    parser.add_argument("--tenant", required=True, help="Tenant slug")


def _settings(parser):
    """The options both create and update take (update: only those given change)."""
    oidc = parser.add_argument_group("OpenID Connect")
    oidc.add_argument("--issuer", help="The issuer URL (its /.well-known/openid-configuration is read).")
    oidc.add_argument("--client-id")
    oidc.add_argument("--client-secret-file", metavar="PATH", help="Read the client secret from this file (- : stdin).")
    oidc.add_argument("--client-secret", help="The client secret itself (visible in the process list: prefer the file).")
    oidc.add_argument("--scopes", help='Space-separated (default "openid email profile").')
    saml = parser.add_argument_group("SAML 2.0")
    saml.add_argument("--idp-entity-id")
    saml.add_argument("--idp-sso-url", help="The IdP's single sign-on address (HTTP-Redirect).")
    saml.add_argument("--idp-certificate-file", metavar="PATH", help="The IdP's signing certificate, PEM.")
    claims = parser.add_argument_group("Claims (OIDC) or attributes (SAML), and roles")
    claims.add_argument("--email-claim")
    claims.add_argument("--name-claim")
    claims.add_argument("--role-claim")
    claims.add_argument("--role-rule", action="append", default=[], metavar='"VALUE = ROLE"',
                        help="Repeatable; given, they replace every rule. ROLE: viewer, operator or admin.")


def _provider(slug):
    provider = selectors.provider_by_slug(slug=slug)
    if provider is None:
        raise CommandError(f"No identity provider with slug {slug!r} on this tenant.")
    return provider


def _read(path, what):
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the {what} from {path}: {exc}.") from None


def _fields(options, *, prompt_secret):
    """The service's keyword arguments from the options given."""
    names = ("issuer", "client_id", "scopes", "idp_entity_id", "idp_sso_url", "email_claim", "name_claim", "role_claim")
    fields = {name: options[name].strip() for name in names if options.get(name) is not None}
    if options.get("client_secret_file") is not None and options.get("client_secret") is not None:
        raise CommandError("Give the client secret one way: --client-secret-file or --client-secret.")
    secret = options.get("client_secret")
    if options.get("client_secret_file") is not None:
        secret = _read(options["client_secret_file"], "client secret")
    elif secret is None and prompt_secret and sys.stdin.isatty():
        secret = getpass.getpass("Client secret (not shown): ")
    if secret is not None:
        fields["client_secret"] = secret.strip()
    if options.get("idp_certificate_file") is not None:
        fields["idp_certificate"] = _read(options["idp_certificate_file"], "certificate").strip()
    if options.get("role_rule"):
        rules, errors = role_rules_from_lines("\n".join(options["role_rule"]))
        if errors:
            raise CommandError("\n".join(errors).replace("Line ", "--role-rule "))
        fields["role_rules"] = rules
    return fields
