"""Writes of a tenant's identity providers and of its sign-in policy, and the rules they keep.

Every change is one transaction and one audit event (identity_provider.create, .update, .delete;
sign_in_policy.update by accounts.identity.policy). A client secret is never in an event: the
event says only that one was set (`client_secret_set`) or changed (`client_secret_changed`);
a certificate is recorded by its SHA-256 fingerprint.

Nobody is locked out: SSO only cannot be switched on while no provider is enabled, and while it
is on, the last enabled provider can be neither disabled nor deleted (break-glass accounts, the
policy's own, are for when a provider itself fails). These writes take one lock per tenant
(a transaction-scoped advisory lock), so two of them made at the same moment cannot together
do what each alone is refused.
"""
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, validate_email
from django.db import IntegrityError, connection, transaction

from accounts.audit.services import audit_record
from accounts.identity import selectors
from accounts.identity.models import ROLE_CHOICES, IdentityProvider
from accounts.identity.policy import policy_get, policy_update
from config.errors import AppError

MSG_IDP_SLUG_TAKEN = "Another identity provider already uses this slug."
MSG_IDP_SLUG_SHAPE = "Use 1 to 40 lowercase letters, digits and hyphens, starting with a letter or digit."
MSG_IDP_KIND = "The kind is oidc (OpenID Connect) or saml (SAML 2.0)."
MSG_IDP_REQUIRED = "Required for {kind} providers."
MSG_IDP_FIELD_REQUIRED = "This field is required."
MSG_IDP_NOT_FOR_KIND = "Only {kind} providers have this field; this provider is {own}."
MSG_IDP_ISSUER_SHAPE = "Give the issuer's address (https://host[:port]/path), without a query, credentials or #fragment."
MSG_IDP_SSO_URL_SHAPE = "Give an address (https://host[:port]/path?query), without credentials or a #fragment."
MSG_IDP_URL_NOT_HTTPS = "Use an https address."
MSG_IDP_CERTIFICATE_INVALID = (
    "Paste the identity provider's signing certificate in PEM form (-----BEGIN CERTIFICATE----- …); this is not one."
)
MSG_IDP_CERTIFICATE_PRIVATE_KEY = "This text holds a private key: paste the certificate only, and keep the key secret."
MSG_IDP_ROLE_RULES_TOO_MANY = "At most {max} role rules."
MSG_IDP_ROLE_RULE_VALUE = "Rule {number}: give the value to match, at most {max} characters."
MSG_IDP_ROLE_RULE_ROLE = "Rule {number}: the role is one of " + ", ".join(ROLE_CHOICES) + "."
MSG_IDP_SSO_ONLY_WITHOUT_PROVIDER = (
    "Enable an identity provider before turning on SSO only: nobody but the break-glass accounts could sign in."
)
MSG_IDP_LAST_ENABLED = (
    "Staff sign in through identity providers only, and this is the last enabled one: enable another provider "
    "or turn off SSO only first."
)
MSG_BREAK_GLASS_EMAIL = "Not an email address: {email}"
MSG_BREAK_GLASS_TOO_MANY = "At most {max} break-glass accounts."

SLUG_MAX_LENGTH = 40
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
ROLE_RULES_MAX = 100
ROLE_RULE_VALUE_MAX_LENGTH = 200
BREAK_GLASS_MAX = 100
ISSUER_MAX_LENGTH = 500
SSO_URL_MAX_LENGTH = 2000
CERTIFICATE_MAX_LENGTH = 20000

# What an address may look like: http(s), a host name (or IPv4 address), a port, a path; the
# issuer has neither query nor fragment (OpenID Connect Discovery §3), the SSO address may have
# a query. Printable ASCII only. The schema states these; whether http is allowed, below.
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_ORIGIN = rf"https?://{_LABEL}(?:\.{_LABEL})*(?::{_PORT})?"
ISSUER_PATTERN = rf"^{_ORIGIN}(?:/[!-\"$->@-~]*)?$"  # printable ASCII but # and ?
SSO_URL_PATTERN = rf"^{_ORIGIN}(?:[/?][!-\"$-~]*)?$"  # printable ASCII but #

SLUG_VALIDATOR = RegexValidator(re.compile(SLUG_PATTERN), MSG_IDP_SLUG_SHAPE)
ISSUER_VALIDATOR = RegexValidator(re.compile(ISSUER_PATTERN), MSG_IDP_ISSUER_SHAPE)
SSO_URL_VALIDATOR = RegexValidator(re.compile(SSO_URL_PATTERN), MSG_IDP_SSO_URL_SHAPE)

KIND_LABELS = dict(IdentityProvider.KINDS)
KIND_FIELDS = {
    IdentityProvider.OIDC: ("issuer", "client_id", "client_secret", "scopes"),
    IdentityProvider.SAML: ("idp_entity_id", "idp_sso_url", "idp_certificate"),
}
# Fields no provider can do without (the name on its button; the claims that say who someone
# is and what role they get), and those a provider of the kind cannot do without.
REQUIRED_FIELDS = ("name", "email_claim", "role_claim")
KIND_REQUIRED = {
    IdentityProvider.OIDC: ("issuer", "client_id", "client_secret"),
    IdentityProvider.SAML: ("idp_entity_id", "idp_sso_url", "idp_certificate"),
}
AUDITED_FIELDS = (
    "kind", "slug", "name", "enabled", "issuer", "client_id", "scopes", "idp_entity_id", "idp_sso_url",
    "email_claim", "name_claim", "role_claim", "role_rules",
)


def _lock_sign_in():
    """Serialise the tenant's provider and policy writes (until the transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.identity_sign_in'))")


# Rules -------------------------------------------------------------------------------------


def _address_error(value, validator):
    """An address in its shape, and https unless SSO_ALLOW_PRIVATE (development, tests)."""
    try:
        validator(value)
    except ValidationError:
        return validator.message
    if urlsplit(value).scheme != "https" and not settings.SSO_ALLOW_PRIVATE:
        return MSG_IDP_URL_NOT_HTTPS
    return None


def _certificate_error(pem):
    if "PRIVATE KEY" in pem:
        return MSG_IDP_CERTIFICATE_PRIVATE_KEY
    if not selectors.certificates_of(pem):
        return MSG_IDP_CERTIFICATE_INVALID
    return None


def _role_rules_errors(rules):
    """{field: message} of the rules: [{"value", "role"}], each value non-empty text, each role a
    built-in console role."""
    if not isinstance(rules, (list, tuple)) or len(rules) > ROLE_RULES_MAX:
        return {"role_rules": MSG_IDP_ROLE_RULES_TOO_MANY.format(max=ROLE_RULES_MAX)}
    errors = {}
    for index, rule in enumerate(rules):
        value, role = (rule.get("value"), rule.get("role")) if isinstance(rule, dict) else (None, None)
        if not isinstance(value, str) or not value.strip() or len(value) > ROLE_RULE_VALUE_MAX_LENGTH:
            errors[f"role_rules[{index}].value"] = MSG_IDP_ROLE_RULE_VALUE.format(
                number=index + 1, max=ROLE_RULE_VALUE_MAX_LENGTH
            )
        if role not in ROLE_CHOICES:
            errors[f"role_rules[{index}].role"] = MSG_IDP_ROLE_RULE_ROLE.format(number=index + 1)
    return errors


def _field_errors(kind, fields):
    """{field: message} of the given fields: none of another kind's, each in its shape (slug,
    addresses, certificate, role rules)."""
    own = KIND_LABELS[kind]
    errors = {
        name: MSG_IDP_NOT_FOR_KIND.format(kind=KIND_LABELS[other], own=own)
        for other, names in KIND_FIELDS.items() if other != kind for name in names if name in fields
    }
    if "slug" in fields:
        try:
            SLUG_VALIDATOR(fields["slug"])
        except ValidationError:
            errors["slug"] = MSG_IDP_SLUG_SHAPE
    for name, validator in (("issuer", ISSUER_VALIDATOR), ("idp_sso_url", SSO_URL_VALIDATOR)):
        error = _address_error(fields[name], validator) if fields.get(name) and name not in errors else None
        if error:
            errors[name] = error
    if fields.get("idp_certificate") and "idp_certificate" not in errors:
        error = _certificate_error(fields["idp_certificate"])
        if error:
            errors["idp_certificate"] = error
    if "role_rules" in fields:
        errors.update(_role_rules_errors(fields["role_rules"]))
    return errors


def _missing(provider):
    """{field: message} of the fields a provider, and one of its kind, needs and lacks."""
    label = KIND_LABELS[provider.kind]
    blank = {name for name in (*REQUIRED_FIELDS, *KIND_REQUIRED[provider.kind]) if not str(getattr(provider, name)).strip()}
    return {
        **{name: MSG_IDP_FIELD_REQUIRED for name in REQUIRED_FIELDS if name in blank},
        **{name: MSG_IDP_REQUIRED.format(kind=label) for name in KIND_REQUIRED[provider.kind] if name in blank},
    }


def _checked(kind, fields, provider):
    """Apply the fields to `provider` (not saved), then a 400 naming every bad field at once: the
    fields' own rules, and what the provider, so changed, lacks. Role rules are kept trimmed."""
    errors = _field_errors(kind, fields)
    if "role_rules" in fields and not any(key.startswith("role_rules") for key in errors):
        fields["role_rules"] = [{"value": rule["value"].strip(), "role": rule["role"]} for rule in fields["role_rules"]]
    for name, value in fields.items():
        setattr(provider, name, value)
    errors = {**_missing(provider), **errors}
    if errors:
        raise AppError.validation(errors)


def _slug_taken():
    return AppError.conflict(MSG_IDP_SLUG_TAKEN, errors={"slug": [MSG_IDP_SLUG_TAKEN]})


def _check_slug_free(slug, *, provider_id=None):
    taken = IdentityProvider.objects.filter(slug=slug)
    if provider_id is not None:
        taken = taken.exclude(pk=provider_id)
    if taken.exists():
        raise _slug_taken()


def _check_not_last_enabled(provider, *, field=None):
    """While SSO only is on, the enabled provider being disabled or deleted may not be the last
    enabled one."""
    if policy_get().sso_only and not selectors.enabled_provider_count(excluding=provider.pk):
        raise AppError.conflict(MSG_IDP_LAST_ENABLED, errors={field: [MSG_IDP_LAST_ENABLED]} if field else None)


def _snapshot(provider):
    snapshot = {name: getattr(provider, name) for name in AUDITED_FIELDS}
    snapshot["role_rules"] = [dict(rule) for rule in provider.role_rules]
    snapshot["idp_certificates_sha256"] = [c["sha256"] for c in selectors.certificate_facts(provider.idp_certificate)]
    return snapshot


# Providers ---------------------------------------------------------------------------------


def provider_create(*, kind, slug, name, **fields) -> IdentityProvider:
    """A new provider of `kind` (oidc or saml). `fields`: the kind's own (OpenID Connect: issuer,
    client_id, client_secret, scopes; SAML: idp_entity_id, idp_sso_url, idp_certificate), and
    enabled, email_claim, name_claim, role_claim, role_rules. The audit event names whoever the
    request being served is from ("system" for a command)."""
    if kind not in KIND_FIELDS:
        raise AppError.validation({"kind": MSG_IDP_KIND})
    provider = IdentityProvider(kind=kind)
    _checked(kind, {"slug": slug, "name": name, **fields}, provider)
    try:
        with transaction.atomic():
            _lock_sign_in()
            _check_slug_free(provider.slug)
            provider.save(force_insert=True)
            audit_record(
                action="identity_provider.create", target_type="identity_provider", target_id=provider.pk,
                after=_snapshot(provider), detail={"client_secret_set": bool(provider.client_secret)},
            )
    except IntegrityError:  # the slug, taken at the same moment
        raise _slug_taken() from None
    return provider


def provider_update(*, provider_id, **fields) -> IdentityProvider:
    """Change the given fields (a field of the other kind is a 400 naming it; the kind itself
    never changes). Disabling the last enabled provider while SSO only is on is a 409."""
    try:
        with transaction.atomic():
            _lock_sign_in()
            provider = selectors.provider_get(provider_id=provider_id, locked=True)
            before = _snapshot(provider)
            was = {"slug": provider.slug, "enabled": provider.enabled, "client_secret": provider.client_secret}
            _checked(provider.kind, dict(fields), provider)
            secret_changed = provider.client_secret != was["client_secret"]
            if provider.slug != was["slug"]:
                _check_slug_free(provider.slug, provider_id=provider.pk)
            if was["enabled"] and not provider.enabled:
                _check_not_last_enabled(provider, field="enabled")
            after = _snapshot(provider)
            if after == before and not secret_changed:
                return provider
            provider.save()
            audit_record(
                action="identity_provider.update", target_type="identity_provider", target_id=provider.pk,
                before=before, after=after, detail={"client_secret_changed": True} if secret_changed else None,
            )
    except IntegrityError:
        raise _slug_taken() from None
    return provider


def provider_delete(*, provider_id) -> IdentityProvider:
    """Delete the provider and its links to staff users (the users stay: a later sign-in through
    another provider finds them by email). The last enabled one while SSO only is on: 409."""
    with transaction.atomic():
        _lock_sign_in()
        provider = selectors.provider_get(provider_id=provider_id, locked=True)
        if provider.enabled:
            _check_not_last_enabled(provider)
        audit_record(
            action="identity_provider.delete", target_type="identity_provider", target_id=provider.pk,
            before=_snapshot(provider),
        )
        provider.delete()
    return provider


# The sign-in policy --------------------------------------------------------------------------


def _check_break_glass(emails):
    if len(emails) > BREAK_GLASS_MAX:
        raise AppError.validation({"break_glass_emails": MSG_BREAK_GLASS_TOO_MANY.format(max=BREAK_GLASS_MAX)})
    errors = {}
    emails = [email.strip() if isinstance(email, str) else "" for email in emails]
    for index, email in enumerate(emails):
        try:
            validate_email(email)
        except ValidationError:
            errors[f"break_glass_emails[{index}]"] = MSG_BREAK_GLASS_EMAIL.format(email=email)
    if errors:
        raise AppError.validation(errors)
    return sorted({email.lower() for email in emails})


def sign_in_policy_update(*, sso_only=None, break_glass_emails=None, require_two_factor=None):
    """Change what is given of the policy (accounts.identity.policy.policy_update, audited), but
    SSO only is not switched on while no provider is enabled (409 naming sso_only). Nothing
    given, or nothing different: no change, no event."""
    fields = {
        name: value
        for name, value in (
            ("sso_only", sso_only), ("break_glass_emails", break_glass_emails), ("require_two_factor", require_two_factor)
        )
        if value is not None
    }
    if "break_glass_emails" in fields:
        fields["break_glass_emails"] = _check_break_glass(list(fields["break_glass_emails"]))
    with transaction.atomic():
        _lock_sign_in()
        policy = policy_get()
        if all(getattr(policy, name) == value for name, value in fields.items()):
            return policy
        if fields.get("sso_only") and not policy.sso_only and not selectors.enabled_provider_count():
            raise AppError.conflict(
                MSG_IDP_SSO_ONLY_WITHOUT_PROVIDER, errors={"sso_only": [MSG_IDP_SSO_ONLY_WITHOUT_PROVIDER]}
            )
        return policy_update(**fields)
