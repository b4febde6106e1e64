"""Shapes of the identity providers API and the sign-in policy API: a provider as created (one
body per kind), changed and read (its client secret never: only `client_secret_hint`, with the
addresses its administrator registers), and the policy as changed and read. Types and bounds
only; accounts.identity.services owns the rules."""
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from accounts.identity import selectors
from accounts.identity.models import ROLE_CHOICES, IdentityProvider
from accounts.identity.services import (
    BREAK_GLASS_MAX,
    CERTIFICATE_MAX_LENGTH,
    ISSUER_MAX_LENGTH,
    ISSUER_VALIDATOR,
    ROLE_RULE_VALUE_MAX_LENGTH,
    ROLE_RULES_MAX,
    SLUG_MAX_LENGTH,
    SLUG_VALIDATOR,
    SSO_URL_MAX_LENGTH,
    SSO_URL_VALIDATOR,
)
from config.serializers import FreeTextField, InputSerializer, StrictSerializer, enveloped, page_query

_TIME = serializers.DateTimeField()  # the API's date-time format (None stays None)
_FIELD_LENGTH = {field.name: field.max_length for field in IdentityProvider._meta.fields if field.max_length}

ProvidersPageQuery = page_query(
    per_page_default=50, per_page_max=100, page_help="1-based page number.", per_page_help="Providers per page (1-100)."
)


class ProviderRoleRuleSerializer(StrictSerializer):
    """A user whose role claim holds `value` may have `role`; of several matched, the highest."""

    value = serializers.CharField(max_length=ROLE_RULE_VALUE_MAX_LENGTH,
                                  help_text="A value of the role claim (a group name, an LDAP DN …), matched exactly.")
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


def _role_rules(**kwargs):
    return serializers.ListField(
        child=ProviderRoleRuleSerializer(), max_length=ROLE_RULES_MAX,
        help_text=(
            "Who may sign in, as what: each staff member gets the highest role of the rules whose value their role "
            "claim holds, at every sign-in; someone no rule matches is refused. At most 100. Sent: replaces them all."
        ),
        **kwargs,
    )


def _text(name, **kwargs):
    return serializers.CharField(max_length=_FIELD_LENGTH[name], **kwargs)


_HELP = {
    "slug": "In the provider's addresses (/sso/<slug>/…): lowercase letters, digits and hyphens. Changing it changes "
    "every address the identity provider has registered.",
    "name": "What staff see: \"Sign in with <name>\".",
    "enabled": "Whether its sign-in button is offered and its sign-ins accepted. Default true.",
    "issuer": "The OpenID Connect issuer; its discovery document is read from <issuer>/.well-known/openid-configuration. "
    "https (http too where SSO_ALLOW_PRIVATE is on).",
    "client_id": "The client id the identity provider gave this console.",
    "client_secret": "The client secret the identity provider gave this console. Never shown back: answers hold "
    "`client_secret_hint`.",
    "scopes": "Space-separated; default \"openid email profile\".",
    "idp_entity_id": "The identity provider's SAML entity id (its Issuer).",
    "idp_sso_url": "The identity provider's single sign-on address (HTTP-Redirect binding). https (http too where "
    "SSO_ALLOW_PRIVATE is on).",
    "idp_certificate": "The identity provider's signing certificate, PEM (-----BEGIN CERTIFICATE----- …); while it "
    "rolls its key over, both certificates, one after the other.",
    "email_claim": "The claim (OIDC) or attribute (SAML) holding the email address; default \"email\".",
    "name_claim": "… the full name; default \"name\"; empty: none.",
    "role_claim": "… the values role_rules match (groups, roles); default \"groups\".",
}


def _common_fields(*, create):
    optional = {"required": False}
    return {
        "slug": serializers.CharField(max_length=SLUG_MAX_LENGTH, validators=[SLUG_VALIDATOR], help_text=_HELP["slug"],
                                      **({} if create else optional)),
        "name": _text("name", help_text=_HELP["name"], **({} if create else optional)),
        "enabled": serializers.BooleanField(help_text=_HELP["enabled"], **optional),
        "email_claim": _text("email_claim", help_text=_HELP["email_claim"], **optional),
        "name_claim": _text("name_claim", allow_blank=True, help_text=_HELP["name_claim"], **optional),
        "role_claim": _text("role_claim", help_text=_HELP["role_claim"], **optional),
        "role_rules": _role_rules(**optional),
    }


def _oidc_fields(*, create):
    required = {} if create else {"required": False}
    return {
        "issuer": serializers.CharField(max_length=ISSUER_MAX_LENGTH, validators=[ISSUER_VALIDATOR],
                                        help_text=_HELP["issuer"], **required),
        "client_id": _text("client_id", help_text=_HELP["client_id"], **required),
        "client_secret": _text("client_secret", write_only=True, help_text=_HELP["client_secret"], **required),
        "scopes": _text("scopes", allow_blank=True, required=False, help_text=_HELP["scopes"]),
    }


def _saml_fields(*, create):
    required = {} if create else {"required": False}
    return {
        "idp_entity_id": _text("idp_entity_id", help_text=_HELP["idp_entity_id"], **required),
        "idp_sso_url": serializers.CharField(max_length=SSO_URL_MAX_LENGTH, validators=[SSO_URL_VALIDATOR],
                                             help_text=_HELP["idp_sso_url"], **required),
        "idp_certificate": FreeTextField(max_length=CERTIFICATE_MAX_LENGTH, help_text=_HELP["idp_certificate"],
                                         **required),
    }


class IdentityProviderKindSerializer(InputSerializer):
    """Which body a create request is: read first, then the body of that kind."""

    kind = serializers.ChoiceField(choices=[kind for kind, _ in IdentityProvider.KINDS])


OidcProviderCreateSerializer = type("OidcProviderCreateSerializer", (StrictSerializer,), {
    "__doc__": "A new OpenID Connect provider (authorization code flow with PKCE).",
    "kind": serializers.ChoiceField(choices=[IdentityProvider.OIDC]),
    **_common_fields(create=True),
    **_oidc_fields(create=True),
})
SamlProviderCreateSerializer = type("SamlProviderCreateSerializer", (StrictSerializer,), {
    "__doc__": "A new SAML 2.0 provider (signed assertions, HTTP-Redirect to the IdP, HTTP-POST back).",
    "kind": serializers.ChoiceField(choices=[IdentityProvider.SAML]),
    **_common_fields(create=True),
    **_saml_fields(create=True),
})
CREATE_SERIALIZERS = {IdentityProvider.OIDC: OidcProviderCreateSerializer,
                      IdentityProvider.SAML: SamlProviderCreateSerializer}
ProviderCreateRequest = PolymorphicProxySerializer(
    component_name="IdentityProviderCreate", serializers=CREATE_SERIALIZERS, resource_type_field_name="kind",
)

IdentityProviderUpdateSerializer = type("IdentityProviderUpdateSerializer", (StrictSerializer,), {
    "__doc__": (
        "PATCH: only what is sent changes; the kind never does. A field of the other kind is a 400 naming it. "
        "client_secret: sent, it replaces the secret; left out, the secret stays."
    ),
    **_common_fields(create=False),
    **_oidc_fields(create=False),
    **_saml_fields(create=False),
})


class IdentityProviderCertificateSerializer(serializers.Serializer):
    sha256 = serializers.CharField(help_text="The SHA-256 fingerprint of its DER, colon-separated hex.")
    expires_at = serializers.DateTimeField(help_text="Its notAfter.")


class IdentityProviderSerializer(serializers.Serializer):
    """A provider as read: never its client secret. Fields of the other kind are null. Needs the
    request in its context (the addresses are on the host it came to)."""

    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=[kind for kind, _ in IdentityProvider.KINDS])
    slug = serializers.CharField()
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    issuer = serializers.CharField(allow_null=True)
    client_id = serializers.CharField(allow_null=True)
    client_secret_hint = serializers.CharField(
        allow_null=True,
        help_text="\"…\" and the secret's last 4 characters (none for a secret under 12), to tell secrets apart; null "
        "when there is none. The secret itself is never shown.",
    )
    scopes = serializers.CharField(allow_null=True)
    idp_entity_id = serializers.CharField(allow_null=True)
    idp_sso_url = serializers.CharField(allow_null=True)
    idp_certificate = serializers.CharField(allow_null=True, help_text="PEM.")
    idp_certificates = IdentityProviderCertificateSerializer(
        many=True, allow_null=True, help_text="Each certificate of idp_certificate: fingerprint, expiry."
    )
    email_claim = serializers.CharField()
    name_claim = serializers.CharField()
    role_claim = serializers.CharField()
    role_rules = ProviderRoleRuleSerializer(many=True)
    sign_in_url = serializers.CharField(help_text="Starts a sign-in with this provider (for a portal's link).")
    redirect_uri = serializers.CharField(
        allow_null=True, help_text="OpenID Connect: the redirect URI to register with the provider."
    )
    sp_entity_id = serializers.CharField(allow_null=True, help_text="SAML: this console's entity id (its metadata URL).")
    metadata_url = serializers.CharField(allow_null=True, help_text="SAML: this console's service provider metadata.")
    acs_url = serializers.CharField(allow_null=True, help_text="SAML: the assertion consumer service (HTTP-POST).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, provider):
        oidc = provider.kind == IdentityProvider.OIDC
        request = self.context["request"]
        return {
            "id": provider.pk,
            "kind": provider.kind,
            "slug": provider.slug,
            "name": provider.name,
            "enabled": provider.enabled,
            "issuer": provider.issuer if oidc else None,
            "client_id": provider.client_id if oidc else None,
            "client_secret_hint": selectors.secret_hint(provider.client_secret) if oidc else None,
            "scopes": provider.scopes if oidc else None,
            "idp_entity_id": None if oidc else provider.idp_entity_id,
            "idp_sso_url": None if oidc else provider.idp_sso_url,
            "idp_certificate": None if oidc else provider.idp_certificate,
            "idp_certificates": None if oidc else [
                {"sha256": c["sha256"], "expires_at": _TIME.to_representation(c["not_after"])}
                for c in selectors.certificate_facts(provider.idp_certificate)
            ],
            "email_claim": provider.email_claim,
            "name_claim": provider.name_claim,
            "role_claim": provider.role_claim,
            "role_rules": [{"value": rule["value"], "role": rule["role"]} for rule in provider.role_rules],
            **selectors.provider_addresses(provider, base=selectors.public_base(request)),
            "created_at": _TIME.to_representation(provider.created_at),
            "updated_at": _TIME.to_representation(provider.updated_at),
        }


class SignInPolicyUpdateSerializer(StrictSerializer):
    """PATCH: only what is sent changes."""

    sso_only = serializers.BooleanField(
        required=False,
        help_text="true: staff sign in through an identity provider only; a password is refused but for the "
        "break-glass accounts (and, at the token endpoint, service accounts). Refused (409) while no provider is "
        "enabled.",
    )
    break_glass_emails = serializers.ListField(
        child=serializers.EmailField(max_length=254), max_length=BREAK_GLASS_MAX, required=False,
        help_text="Accounts that may still sign in with a password when SSO only is on, for when a provider fails. "
        "Sent: replaces the list (stored lowercased, each once). At most 100.",
    )
    require_two_factor = serializers.BooleanField(
        required=False, help_text="true: staff who sign in with a password must also give a second factor (TOTP)."
    )


class SignInPolicySerializer(serializers.Serializer):
    sso_only = serializers.BooleanField()
    break_glass_emails = serializers.ListField(child=serializers.CharField())
    require_two_factor = serializers.BooleanField()
    updated_at = serializers.DateTimeField(allow_null=True, help_text="null: never changed (the defaults).")

    def to_representation(self, policy):
        return {
            "sso_only": policy.sso_only,
            "break_glass_emails": list(policy.break_glass_emails),
            "require_two_factor": policy.require_two_factor,
            "updated_at": _TIME.to_representation(policy.updated_at),
        }


ProviderEnvelope = enveloped("IdentityProviderEnvelope", IdentityProviderSerializer)
ProviderPageEnvelope = enveloped("IdentityProviderPage", IdentityProviderSerializer, many=True, paged=True)
SignInPolicyEnvelope = enveloped("SignInPolicyEnvelope", SignInPolicySerializer)
