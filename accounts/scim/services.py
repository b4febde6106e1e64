"""SCIM tokens (issued, revoked, their last use) and the writes SCIM clients make to staff
users: create, replace (PUT), patch and delete.

The rules, stated once:
- userName is the staff user's email address (lower case), unique among the tenant's staff
  ignoring case: another user holding it is a 409 (scimType uniqueness), also when two
  creates race (the database's unique index decides).
- full_name, which the console shows, is name.formatted, else displayName, else givenName and
  familyName joined, whichever of them a request sets; a request that sets none keeps it.
- active=false deactivates (accounts.staff.services.staff_deactivate: sessions ended, API tokens
  revoked, on every app server, in the same transaction); active=true reactivates, the ended
  sessions and revoked tokens staying so.
- A user created through SCIM gets no role and no password: the role comes from the identity
  provider's groups claim at the first sign-in through it (accounts.identity.provisioning).
- A delete deactivates the user and unlinks it from SCIM (externalId cleared; no longer a
  SCIM resource); the account stays for the audit trail. A later create of the same userName
  links it again, as the new resource.
Every change is audited (staff.create, staff.update, staff.deactivate), with the SCIM token's id.
"""
import datetime as dt
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit.services import audit_record, audit_snapshot
from accounts.identity.models import ScimToken
from accounts.models import StaffUser, hash_token
from accounts.scim import selectors
from accounts.scim.protocol import INVALID_VALUE, UNIQUENESS, ScimError
from accounts.scim.resources import UserChanges, user_from_patch
from accounts.staff.services import staff_deactivate

TOKEN_PREFIX = "scim_"
LAST_USED_PRECISION = dt.timedelta(minutes=1)  # last_used_at is written at most once a minute

MSG_SCIM_USER_NAME_NOT_EMAIL = "userName must be the staff member's email address; {value!r} is not one."
MSG_SCIM_USER_NAME_TAKEN = "Another staff user already has the userName {value}."

AUDITED_FIELDS = ("email", "full_name", "is_active", "scim_external_id", "scim_given_name", "scim_family_name",
                  "scim_unlinked_at")


# Tokens -----------------------------------------------------------------------------------


def scim_token_create(*, description: str = "") -> tuple[ScimToken, str]:
    """A new SCIM token of the tenant and its raw value, which is shown once and never kept
    (only its SHA-256 is)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ScimToken.objects.create(description=description, key_hash=hash_token(raw), prefix=raw[:8])
        audit_record(
            action="scim_token.create", target_type="scim_token", target_id=token.pk,
            after={"description": token.description, "prefix": token.prefix},
        )
    return token, raw


def scim_token_revoke(*, token_id: str) -> ScimToken:
    """Revoke the token (its next request is refused); a token revoked already stays as it was."""
    with transaction.atomic():
        token = selectors.access_scim_token(token_id=token_id, locked=True)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(
                action="scim_token.revoke", target_type="scim_token", target_id=token.pk,
                before={"revoked_at": None}, after={"revoked_at": token.revoked_at},
                detail={"description": token.description, "prefix": token.prefix},
            )
    return token


def scim_token_touch(*, token: ScimToken) -> None:
    """Note the token's use: a write at most once a minute per token, whatever the traffic."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    stale = ScimToken.objects.filter(pk=token.pk)
    stale = stale.exclude(last_used_at__gte=now - LAST_USED_PRECISION)  # another request may have just written it
    stale.update(last_used_at=now)
    token.last_used_at = now


# Users ------------------------------------------------------------------------------------


def _address(value: str) -> str:
    address = value.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ScimError(400, MSG_SCIM_USER_NAME_NOT_EMAIL.format(value=value[:254]), INVALID_VALUE) from None
    return address


def _taken(value: str) -> ScimError:
    return ScimError(409, MSG_SCIM_USER_NAME_TAKEN.format(value=value), UNIQUENESS)


def _full_name(user: StaffUser, changes: UserChanges) -> str | None:
    """The full name the changes give (None: they say nothing of it). The name parts are the
    user's as the changes leave them."""
    parts_said = changes.given_name is not None or changes.family_name is not None
    joined = " ".join(part for part in (user.scim_given_name, user.scim_family_name) if part)
    said = [value for value in (changes.formatted, changes.display_name, joined if parts_said else None)
            if value is not None]
    if not said:
        return None
    return next((value for value in said if value), "")[:200]


def _apply(user: StaffUser, changes: UserChanges) -> None:
    """Set the user's fields from the changes (not `is_active`, which the callers handle)."""
    address = changes.user_name if changes.user_name is not None else changes.email
    if address is not None:
        address = _address(address)
        if address != user.email:
            if StaffUser.objects.filter(email__iexact=address).exclude(pk=user.pk).exists():
                raise _taken(address)
            user.email = address
    if changes.external_id is not None:
        user.scim_external_id = changes.external_id
    if changes.given_name is not None:
        user.scim_given_name = changes.given_name
    if changes.family_name is not None:
        user.scim_family_name = changes.family_name
    full_name = _full_name(user, changes)
    if full_name is not None:
        user.full_name = full_name


def _save(user: StaffUser, **kwargs) -> None:
    """Save, a race for the same address being a 409 (the unique index on lower(email))."""
    try:
        with transaction.atomic():
            user.save(**kwargs)
    except IntegrityError:
        raise _taken(user.email) from None


def _audit_update(user: StaffUser, before: dict, *, detail: dict) -> None:
    after = audit_snapshot(user, AUDITED_FIELDS)
    if after != before:
        audit_record(action="staff.update", target_type="staff_user", target_id=user.pk, before=before,
                     after=after, detail=detail)


def _detail(token: ScimToken | None, **extra) -> dict:
    return {"by": "scim", **({"scim_token": token.pk} if token is not None else {}), **extra}


def scim_user_create(*, changes: UserChanges, token: ScimToken | None = None) -> tuple[StaffUser, bool]:
    """(the user, whether it is new): a new staff user, active unless the changes say not, with
    no role; or one a SCIM client deleted, linked again and replaced by the changes. 409 when
    another user has the userName."""
    address = _address(changes.user_name or "")
    with transaction.atomic():
        existing = StaffUser.objects.select_for_update().filter(email__iexact=address).first()
        if existing is not None:
            if existing.scim_unlinked_at is None:
                raise _taken(address)
            relinked = scim_user_replace(user=existing, changes=changes, token=token, relink=True)
            return relinked, False
        user = StaffUser(email=address, is_active=changes.active is not False)
        user.set_unusable_password()
        _apply(user, changes)
        _save(user, force_insert=True)
        audit_record(
            action="staff.create", target_type="staff_user", target_id=user.pk,
            after=audit_snapshot(user, AUDITED_FIELDS), detail=_detail(token, provisioned_by="scim", roles=[]),
        )
    return user, True


def scim_user_replace(*, user: StaffUser, changes: UserChanges, token: ScimToken | None = None,
                      relink: bool = False) -> StaffUser:
    """Apply a PUT's or PATCH's changes to the user (its row locked by the caller's selector, in
    the caller's transaction or its own): fields first (staff.update), then active=false
    (staff.deactivate) or active=true (staff.update)."""
    with transaction.atomic():
        before = audit_snapshot(user, AUDITED_FIELDS)
        _apply(user, changes)
        if relink:
            user.scim_unlinked_at = None
        reactivate = changes.active is True and not user.is_active
        if reactivate or (relink and changes.active is None and not user.is_active):
            user.is_active = True
        _save(user)
        _audit_update(user, before, detail=_detail(token, **({"relinked": True} if relink else {})))
        if changes.active is False:
            staff_deactivate(user=user, detail=_detail(token))
    return user


def scim_user_update(*, user_id: str, changes: UserChanges | None = None, patch_body=None,
                     token: ScimToken | None = None) -> StaffUser:
    """A PUT (`changes`) or a PATCH (`patch_body`, read against the user's current address) of
    the SCIM user with this id: its row locked while the changes are made; 404 when none."""
    with transaction.atomic():
        user = selectors.access_scim_user(user_id=user_id, locked=True)
        if changes is None:
            changes = user_from_patch(patch_body, current_email=user.email)
        return scim_user_replace(user=user, changes=changes, token=token)


def scim_user_delete(*, user_id: str, token: ScimToken | None = None) -> None:
    """Deactivate the user and unlink it from SCIM (see the module); 404 when no such SCIM user."""
    with transaction.atomic():
        user = selectors.access_scim_user(user_id=user_id, locked=True)
        before = audit_snapshot(user, AUDITED_FIELDS)
        user.scim_external_id = ""
        user.scim_unlinked_at = timezone.now()
        user.save(update_fields=["scim_external_id", "scim_unlinked_at"])
        _audit_update(user, before, detail=_detail(token, deleted=True))
        staff_deactivate(user=user, detail=_detail(token, deleted=True))
