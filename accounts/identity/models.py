"""A tenant's identity providers and sign-in policy, in the tenant's schema.

A provider's client secret (OIDC) is kept as is, since the token request sends it; the API
and console show it masked, and it is never logged or audited."""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from config.ids import new_object_id

ROLE_CHOICES = ("viewer", "operator", "admin")  # the built-in roles a provider's rules may give


class IdentityProvider(models.Model):
    OIDC = "oidc"
    SAML = "saml"
    KINDS = ((OIDC, "OpenID Connect"), (SAML, "SAML 2.0"))

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id)
    kind = models.CharField(max_length=8, choices=KINDS)
    slug = models.SlugField(max_length=40, unique=True)  # in the provider's URLs: /sso/<slug>/…
    name = models.CharField(max_length=100)  # "Sign in with <name>"
    enabled = models.BooleanField(default=True)
    # OpenID Connect: discovery from the issuer, authorization code flow with PKCE.
    issuer = models.CharField(max_length=500, blank=True, default="")
    client_id = models.CharField(max_length=255, blank=True, default="")
    client_secret = models.CharField(max_length=500, blank=True, default="")
    scopes = models.CharField(max_length=300, blank=True, default="openid email profile")
    # SAML 2.0: the IdP's entity id, single sign-on address and signing certificate (PEM).
    idp_entity_id = models.CharField(max_length=500, blank=True, default="")
    idp_sso_url = models.CharField(max_length=2000, blank=True, default="")
    idp_certificate = models.TextField(blank=True, default="")
    # Which claim (OIDC) or attribute (SAML) holds what.
    email_claim = models.CharField(max_length=200, default="email")
    name_claim = models.CharField(max_length=200, default="name")
    role_claim = models.CharField(max_length=200, default="groups")
    # [{"value": "<a value of role_claim>", "role": "viewer|operator|admin"}]: a user gets the
    # highest role of the rules their values match; none matched, the sign-in is refused.
    role_rules = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"


class StaffIdentity(models.Model):
    """A provider's subject (OIDC `sub`, SAML NameID) signed in as this staff user."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="identities")
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("provider", "subject", name="staff_identity_unique")]

    def __str__(self):
        return f"{self.provider.slug}:{self.subject} → {self.user_id}"


class SignInPolicy(models.Model):
    """The tenant's one sign-in policy (pk 1; accounts.identity.policy.policy_get)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # Staff sign in only through an identity provider; a password only for these accounts
    # (break-glass) and, at the token endpoint, for service accounts (no console role).
    sso_only = models.BooleanField(default=False)
    break_glass_emails = ArrayField(models.CharField(max_length=254), default=list, blank=True)
    # Staff who sign in with a password must use a second factor (TOTP).
    require_two_factor = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="sign_in_policy_singleton")]

    def __str__(self):
        return "Sign-in policy"


class UsedSignInToken(models.Model):
    """A SAML assertion id or an OIDC nonce already used, kept until it could no longer be
    accepted anyway: a second use is refused (replay)."""

    kind = models.CharField(max_length=16)  # saml_assertion, oidc_nonce
    value = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint("kind", "value", name="used_sign_in_token_unique")]
        indexes = [models.Index("expires_at", name="used_sign_in_token_expiry")]

    def __str__(self):
        return f"{self.kind}:{self.value}"


class ScimToken(models.Model):
    """The Bearer token an identity provider's SCIM client sends. Only its SHA-256 is kept."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id)
    description = models.CharField(max_length=200, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"SCIM {self.prefix}…"
