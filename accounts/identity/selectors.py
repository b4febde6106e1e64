"""Reads of a tenant's identity providers: the list, one by id or slug, and what an answer
shows of one: its client secret's last characters (never the secret), its certificates'
fingerprints and expiry, and the addresses the identity provider's administrator needs."""
import datetime as dt
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings

from accounts.identity.models import IdentityProvider
from config.errors import AppError
from config.ids import check_id

MSG_IDP_NOT_FOUND = "No identity provider with this id on this tenant."

SECRET_HINT_CHARACTERS = 4
SECRET_HINT_MIN_LENGTH = 12  # a shorter secret shows no characters: four would give too much of it away

# The sign-in flow's addresses on the tenant's host (console.auth.urls: console:sso_start,
# console:oidc_callback, console:saml_metadata, console:saml_acs), as plain paths: the console
# is above this app and may not be imported here. console/tests/test_identity_page.py checks
# that they are the paths those routes serve.
SIGN_IN_PATH = "/sso/{slug}/start/"
OIDC_CALLBACK_PATH = "/sso/{slug}/oidc/callback/"
SAML_METADATA_PATH = "/sso/{slug}/saml/metadata/"
SAML_ACS_PATH = "/sso/{slug}/saml/acs/"


def provider_list():
    """Every provider, by name."""
    return IdentityProvider.objects.order_by("name", "id")


def provider_get(*, provider_id, locked=False) -> IdentityProvider:
    """The provider (its row locked until the transaction ends, when `locked`), else 404; a
    malformed id is a 400 naming provider_id. One query."""
    check_id(provider_id, field="provider_id")
    providers = IdentityProvider.objects.select_for_update() if locked else IdentityProvider.objects
    provider = providers.filter(pk=provider_id).first()
    if provider is None:
        raise AppError.not_found(MSG_IDP_NOT_FOUND)
    return provider


def provider_by_slug(*, slug) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(slug=slug).first()


def enabled_provider_count(*, excluding=None) -> int:
    providers = IdentityProvider.objects.filter(enabled=True)
    if excluding is not None:
        providers = providers.exclude(pk=excluding)
    return providers.count()


def secret_hint(secret) -> str | None:
    """"…abcd": the secret's last characters, for telling secrets apart (None: no secret)."""
    if not secret:
        return None
    return "…" + (secret[-SECRET_HINT_CHARACTERS:] if len(secret) >= SECRET_HINT_MIN_LENGTH else "")


def certificates_of(pem) -> list[x509.Certificate]:
    """The X.509 certificates a PEM text holds (several while the IdP rolls its signing key
    over); none when it holds none or a block is not one."""
    if not pem:
        return []
    try:
        return x509.load_pem_x509_certificates(pem.encode())
    except (ValueError, UnicodeEncodeError):
        return []


def certificate_facts(pem) -> list[dict]:
    """[{"sha256": the DER's SHA-256 as colon-separated hex (what IdP consoles show), "not_after":
    its expiry}] of each certificate of a PEM text."""
    facts = []
    for certificate in certificates_of(pem):
        digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest().upper()
        not_after: dt.datetime = certificate.not_valid_after_utc
        facts.append({"sha256": ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)), "not_after": not_after})
    return facts


def public_base(request) -> str:
    """scheme://host of the tenant's addresses as the sign-in flows build them: https when the
    request is, or when cookies are marked Secure (SECURE_COOKIES: behind a proxy ending TLS)."""
    scheme = "https" if request.is_secure() or settings.SESSION_COOKIE_SECURE else "http"
    return f"{scheme}://{request.get_host()}"


def provider_addresses(provider, *, base) -> dict[str, str | None]:
    """The addresses an identity provider's administrator registers, under `base`
    (scheme://host, public_base): `sign_in_url` (starts a sign-in, for a portal's link); for
    OpenID Connect `redirect_uri`; for SAML `sp_entity_id` (the metadata's address),
    `metadata_url` and `acs_url`; None where the kind has none."""
    slug = provider.slug
    oidc = provider.kind == IdentityProvider.OIDC
    saml = provider.kind == IdentityProvider.SAML
    metadata = base + SAML_METADATA_PATH.format(slug=slug) if saml else None
    return {
        "sign_in_url": base + SIGN_IN_PATH.format(slug=slug),
        "redirect_uri": base + OIDC_CALLBACK_PATH.format(slug=slug) if oidc else None,
        "sp_entity_id": metadata,
        "metadata_url": metadata,
        "acs_url": base + SAML_ACS_PATH.format(slug=slug) if saml else None,
    }
