"""The tenant's sign-in policy: SSO only (a password only for break-glass accounts and, at
the token endpoint, service accounts) and whether password sign-ins need a second factor."""
from django.db import transaction

from accounts.audit.services import audit_record, audit_snapshot
from accounts.identity.models import IdentityProvider, SignInPolicy
from accounts.permissions import USER_MANAGEMENT_VIEW
from config.errors import PERMISSION_DENIED, AppError

MSG_SSO_ONLY = "Staff sign in here through {providers}. Use the sign-in button for it instead of a password."

POLICY_FIELDS = ("sso_only", "break_glass_emails", "require_two_factor")


def policy_get():
    """The tenant's policy (the defaults, unsaved, until an admin sets one)."""
    return SignInPolicy.objects.filter(pk=1).first() or SignInPolicy(pk=1)


@transaction.atomic
def policy_update(**fields):
    policy = SignInPolicy.objects.select_for_update().filter(pk=1).first() or SignInPolicy(pk=1)
    before = audit_snapshot(policy, POLICY_FIELDS)
    for name, value in fields.items():
        if name == "break_glass_emails":
            value = sorted({str(email).strip().lower() for email in value})
        setattr(policy, name, value)
    policy.save()
    audit_record(
        action="sign_in_policy.update", target_type="sign_in_policy", target_id=1,
        before=before, after=audit_snapshot(policy, POLICY_FIELDS),
    )
    return policy


class PasswordNotAllowed(AppError):
    """403: the tenant signs staff in through its identity providers only."""

    def __init__(self, providers):
        names = " or ".join(p.name for p in providers) or "your university's identity provider"
        super().__init__(MSG_SSO_ONLY.format(providers=names), code=PERMISSION_DENIED, status_code=403)


def check_password_sign_in(email, *, channel, policy, user=None):
    """Raise PasswordNotAllowed when the policy refuses a password sign-in. `channel` is
    "console" or "token"; the token endpoint also serves service accounts (users whose roles
    give no console access, such as the runtime's ingest account), so there the check runs
    once the password has named the `user`; on the console it runs before (no password is
    tried for an account that may not use one)."""
    if not policy.sso_only or email in policy.break_glass_emails:
        return
    if channel == "token":
        if user is None:
            return  # the password must first name the account: checked again with it
        if USER_MANAGEMENT_VIEW not in user.permission_strings:
            return  # a service account
    raise PasswordNotAllowed(list(IdentityProvider.objects.filter(enabled=True)))
