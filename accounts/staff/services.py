"""Staff users and their roles in the current tenant."""
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit.services import audit_record, audit_snapshot
from accounts.models import ApiToken, Role, StaffUser
from accounts.permissions import BUILT_IN_ROLES
from config.errors import AppError


def roles_ensure_built_in():
    """Create or refresh the built-in roles in the current schema."""
    roles = {}
    for name, perms in BUILT_IN_ROLES.items():
        role, _ = Role.objects.update_or_create(name=name, defaults={"permissions": list(perms), "built_in": True})
        roles[name] = role
    return roles


@transaction.atomic
def staff_create(*, email, password, roles=(), full_name="", is_staff=False):
    """Create (or update the password and roles of) a staff user in the current tenant."""
    built_in = roles_ensure_built_in()
    unknown = [r for r in roles if r not in built_in and not Role.objects.filter(name=r).exists()]
    if unknown:
        raise AppError.validation({"role": f"Unknown role(s): {', '.join(unknown)}."})
    email = email.strip().lower()
    user = StaffUser.objects.filter(email__iexact=email).first()
    before = None if user is None else _audited(user)
    if user is None:
        user = StaffUser.objects.create_user(email, password, full_name=full_name, is_staff=is_staff)
    else:
        user.set_password(password)
        user.is_staff = user.is_staff or is_staff
        if full_name:
            user.full_name = full_name
        user.save()
    if "admin" in roles:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.roles.set(Role.objects.filter(name__in=roles))
    audit_record(
        action="staff.create" if before is None else "staff.update",
        target_type="staff_user",
        target_id=user.pk,
        before=before,
        after=_audited(user),
        detail={"password_set": True},  # never the password itself
    )
    return user


def _audited(user):
    return {**audit_snapshot(user, ("email", "full_name", "is_staff", "is_active")), "roles": sorted(user.roles.values_list("name", flat=True))}


@transaction.atomic
def staff_deactivate(*, user, detail=None):
    """End a staff user's access at once, on every app server: inactive, every console session
    ended (the session generation is part of each session's auth hash, which every request
    checks against the database) and every API token revoked; audited as staff.deactivate.
    Reactivating the user (is_active again) brings none of them back. False when the user was
    inactive already (then nothing is done)."""
    now = timezone.now()
    ended = StaffUser.objects.filter(pk=user.pk, is_active=True).update(
        is_active=False, session_generation=F("session_generation") + 1
    )
    if not ended:
        return False
    user.refresh_from_db(fields=["is_active", "session_generation"])
    revoked = ApiToken.objects.filter(user_id=user.pk, revoked_at__isnull=True).update(revoked_at=now)
    audit_record(
        action="staff.deactivate", target_type="staff_user", target_id=user.pk,
        before={"is_active": True}, after={"is_active": False},
        detail={"sessions_ended": True, "api_tokens_revoked": revoked, **(detail or {})},
    )
    return True
