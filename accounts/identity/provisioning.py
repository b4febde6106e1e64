"""What happens once an identity provider has vouched for someone (OIDC and SAML alike).

The provider's subject is linked to a staff user (found by the link, else by email, else
created: just-in-time provisioning); the user's role is the highest one the provider's rules
give for the values of its role claim, applied again at every sign-in; a user no rule maps is
refused. Sign-ins, refusals and role changes are audit events.
"""
import datetime as dt
import logging

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.audit.services import audit_record
from accounts.identity.models import ROLE_CHOICES, StaffIdentity, UsedSignInToken
from accounts.models import Role, StaffUser
from accounts.signin.services import normalise_email

logger = logging.getLogger("console.signin")

# Why a provider's sign-in was refused: the code (audited) and what the refusal page says.
REFUSALS = {
    "no_role": "Your account at {provider} is not in a group that may use this console. "
    "Ask your university's IT service desk for access to the student operations console.",
    "no_email": "{provider} did not send an email address for your account, so it cannot be "
    "matched to a staff account here. Ask your IT service desk to release the email claim.",
    "deactivated": "Your staff account here has been deactivated. Ask a console administrator "
    "if you should still have access.",
    "invalid": "The sign-in could not be completed: {provider}'s answer was not valid for this "
    "console. Start again from the sign-in page.",
    "disabled": "Sign-in with {provider} is not available here at the moment.",
    "unreachable": "{provider} could not be reached to complete the sign-in. Try again in a "
    "minute; if it keeps happening, tell your university's IT service desk.",
}


class SsoRefused(Exception):
    """A sign-in through a provider that is refused; `reason` is a key of REFUSALS."""

    def __init__(self, reason, *, detail="", provider=None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.provider = provider

    @property
    def message(self):
        name = self.provider.name if self.provider is not None else "your identity provider"
        return REFUSALS[self.reason].format(provider=name)


def claim_values(claims, name):
    """The values of a claim or attribute as a list of strings (a string, a list, absent)."""
    value = claims.get(name) if name else None
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def role_for(provider, claims):
    """The highest built-in role the provider's rules give for these claims, or None."""
    values = set(claim_values(claims, provider.role_claim))
    matched = {rule["role"] for rule in provider.role_rules if str(rule.get("value")) in values}
    ranked = [role for role in reversed(ROLE_CHOICES) if role in matched]
    return ranked[0] if ranked else None


def token_use_once(kind, value, *, expires_at):
    """Record a single-use value (a SAML assertion id, an OIDC nonce); False if it was used
    before. One statement, which also forgets the values past their expiry."""
    table = UsedSignInToken._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {table} WHERE expires_at < now()) "
            f"INSERT INTO {table} (kind, value, expires_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (kind, value) DO NOTHING",
            [kind, value[:255], expires_at],
        )
        return cursor.rowcount == 1


def refuse(provider, reason, *, subject="", email="", detail=""):
    """Audit a refused sign-in and raise SsoRefused."""
    with transaction.atomic():
        audit_record(
            action="auth.sign_in_refused", target_type="identity_provider", target_id=provider.pk,
            detail={"reason": reason, "subject": subject[:255], "email": email, "detail": detail[:300]},
        )
    logger.warning("sign-in through %s refused: %s", provider.slug, reason)
    raise SsoRefused(reason, detail=detail, provider=provider)


def provision(*, provider, subject, claims):
    """The active staff user the provider's subject signs in as, created or updated (name,
    role) from the claims; SsoRefused (audited) when no rule maps them, no email came, or
    the user is deactivated. The caller logs the user in and audits the sign-in."""
    email = normalise_email(next(iter(claim_values(claims, provider.email_claim)), ""))
    role = role_for(provider, claims)
    if not subject:
        refuse(provider, "invalid", email=email, detail="no subject")
    if role is None:
        _withdraw_roles(provider, subject)
        refuse(provider, "no_role", subject=subject, email=email)
    full_name = next(iter(claim_values(claims, provider.name_claim)), "")[:200]
    try:
        user = _link(provider, subject, email=email, full_name=full_name, role=role)
    except IntegrityError:
        # Another request signed the same person in at the same moment and made the account
        # or the link first: this one finds theirs.
        user = _link(provider, subject, email=email, full_name=full_name, role=role)
    if user is None:
        refuse(provider, "no_email", subject=subject)
    if not user.is_active:
        refuse(provider, "deactivated", subject=subject, email=user.email)
    return user


def _link(provider, subject, *, email, full_name, role):
    """The staff user the subject is (linked, found by email or created), its name and role
    brought up to date when it is active; None without a link and without an email."""
    with transaction.atomic():
        identity = (
            StaffIdentity.objects.select_related("user").select_for_update(of=("self",))
            .filter(provider=provider, subject=subject).first()
        )
        user = identity.user if identity else None
        if user is None and email:
            user = StaffUser.objects.filter(email__iexact=email).first() or _create(
                email=email, full_name=full_name, provider=provider
            )
        if user is not None and user.is_active:
            if identity is None:
                identity = StaffIdentity.objects.create(provider=provider, subject=subject, user=user)
            _apply_role(user, role, provider)
            if full_name and user.full_name != full_name:
                user.full_name = full_name
                user.save(update_fields=["full_name"])
            identity.last_sign_in_at = timezone.now()
            identity.save(update_fields=["last_sign_in_at"])
    return user


def _withdraw_roles(provider, subject):
    """A linked user whom the provider's rules no longer map loses their console role, so
    their Bearer tokens lose its permissions too (their other roles, e.g. ingest, stay)."""
    with transaction.atomic():
        identity = StaffIdentity.objects.select_related("user").filter(provider=provider, subject=subject).first()
        if identity is None:
            return
        user = identity.user
        held = sorted(user.roles.filter(name__in=ROLE_CHOICES).values_list("name", flat=True))
        if held:
            user.roles.remove(*Role.objects.filter(name__in=held))
            audit_record(
                action="staff.role_change", target_type="staff_user", target_id=user.pk,
                before={"roles": held}, after={"roles": []}, detail={"by_provider": provider.slug},
            )


def _create(*, email, full_name, provider):
    user = StaffUser.objects.create_user(email, None, full_name=full_name)  # no usable password
    audit_record(
        action="staff.create", target_type="staff_user", target_id=user.pk,
        after={"email": user.email, "full_name": user.full_name, "is_active": True},
        detail={"provisioned_by": provider.slug},
    )
    return user


def _apply_role(user, role, provider):
    """Make `role` the user's one built-in console role (other roles, e.g. ingest, kept)."""
    built_in = {r.name: r for r in Role.objects.filter(name__in=ROLE_CHOICES)}
    if role not in built_in:
        from accounts.staff.services import roles_ensure_built_in

        built_in = {name: r for name, r in roles_ensure_built_in().items() if name in ROLE_CHOICES}
    held = set(user.roles.filter(name__in=ROLE_CHOICES).values_list("name", flat=True))
    if held == {role}:
        return
    user.roles.remove(*[built_in[name] for name in held if name != role])
    user.roles.add(built_in[role])
    user.is_staff = role == "admin"  # the Django admin, as for admins made by create_staff
    user.save(update_fields=["is_staff"])
    user.__dict__.pop("permission_strings", None)
    audit_record(
        action="staff.role_change", target_type="staff_user", target_id=user.pk,
        before={"roles": sorted(held)}, after={"roles": [role]}, detail={"by_provider": provider.slug},
    )


def audit_sign_in(user, *, method, provider=None):
    """The sign-in itself, once the user is logged in (so the event names them)."""
    with transaction.atomic():
        audit_record(
            action="auth.sign_in", target_type="staff_user", target_id=user.pk,
            detail={"method": method, **({"provider": provider.slug} if provider else {})},
        )


def single_use_until(seconds):
    return timezone.now() + dt.timedelta(seconds=seconds)
