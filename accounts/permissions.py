"""Permission strings (SPEC §5) and the built-in roles made of them."""
from rest_framework.permissions import SAFE_METHODS, BasePermission

USER_MANAGEMENT_VIEW = "USER_MANAGEMENT.can_view"
USER_MANAGEMENT_EXPORT = "USER_MANAGEMENT.can_export"
USER_MANAGEMENT_EDIT = "USER_MANAGEMENT.can_edit"
ATTEMPTS_MANAGE = "ATTEMPTS.can_manage"
STUDENT_PERFORMANCE_VIEW = "STUDENT_PERFORMANCE.can_view"
CATALOG_EDIT = "CATALOG.can_edit"
SESSIONS_INGEST = "SESSIONS.can_ingest"
AUDIT_VIEW = "AUDIT.can_view"  # beyond SPEC §5: the audit trail, for admins
EVENTS_READ = "EVENTS.can_read"  # beyond SPEC §5: the change feed (GET /v1/events), for admins
WEBHOOKS_MANAGE = "WEBHOOKS.can_manage"  # beyond SPEC §5: webhook endpoints and their deliveries, for admins
IDENTITY_MANAGE = "IDENTITY.can_manage"  # beyond SPEC §5: identity providers, sign-in policy, SCIM tokens, for admins
DATA_RIGHTS_MANAGE = "DATA_RIGHTS.can_manage"  # beyond SPEC §5: a student's data export, erasure and legal hold, for admins

ALL_PERMISSIONS = (
    USER_MANAGEMENT_VIEW,
    USER_MANAGEMENT_EXPORT,
    USER_MANAGEMENT_EDIT,
    ATTEMPTS_MANAGE,
    STUDENT_PERFORMANCE_VIEW,
    CATALOG_EDIT,
    SESSIONS_INGEST,
    AUDIT_VIEW,
    EVENTS_READ,
    WEBHOOKS_MANAGE,
    IDENTITY_MANAGE,
    DATA_RIGHTS_MANAGE,
)

# What each permission lets a person do, in words, for the pages that tell staff what they
# lack (the console's 403 page).
PERMISSION_WORDS = {
    USER_MANAGEMENT_VIEW: "see students and their records",
    USER_MANAGEMENT_EXPORT: "download lists of students and the gradebook",
    USER_MANAGEMENT_EDIT: "add, change and archive student records",
    ATTEMPTS_MANAGE: "grant and revoke extra attempts",
    STUDENT_PERFORMANCE_VIEW: "read transcripts and grade reports",
    CATALOG_EDIT: "change programmes, case studies, cohorts and groups",
    SESSIONS_INGEST: "report sessions (the case-study runtime's account)",
    AUDIT_VIEW: "read the audit trail",
    EVENTS_READ: "read the change feed",
    WEBHOOKS_MANAGE: "manage webhooks",
    IDENTITY_MANAGE: "manage sign-in: identity providers, the sign-in policy and SCIM tokens",
    DATA_RIGHTS_MANAGE: "answer students' data requests: data exports, erasure and legal holds",
}

_VIEWER = (USER_MANAGEMENT_VIEW,)
_OPERATOR = _VIEWER + (USER_MANAGEMENT_EXPORT, ATTEMPTS_MANAGE, STUDENT_PERFORMANCE_VIEW)

BUILT_IN_ROLES = {
    "viewer": _VIEWER,
    "operator": _OPERATOR,
    "admin": tuple(p for p in ALL_PERMISSIONS if p != SESSIONS_INGEST),
    "ingest": (SESSIONS_INGEST,),
}


def roles_holding(permission):
    """The built-in roles that hold `permission`, in the order viewer, operator, admin, ingest."""
    return [role for role, permissions in BUILT_IN_ROLES.items() if permission in permissions]


def has_permission(user, permission):
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return permission in user.permission_strings


class HasPermission(BasePermission):
    """DRF permission: the user holds `permission`. Use `HasPermission.of("X.can_y")`."""

    required = None

    @classmethod
    def of(cls, *permissions):
        return type(f"Has_{'_'.join(p.replace('.', '_') for p in permissions)}", (cls,), {"required": permissions})

    def has_permission(self, request, view):
        return all(has_permission(request.user, p) for p in self.required)


class ReadWritePermission(BasePermission):
    """Reads (GET, HEAD, OPTIONS) need one permission, writes another.
    Use `ReadWritePermission.of(read="X.can_view", write="X.can_edit")`."""

    read = write = None

    @classmethod
    def of(cls, *, read, write):
        name = f"Read_{read.replace('.', '_')}_Write_{write.replace('.', '_')}"
        return type(name, (cls,), {"read": read, "write": write})

    def has_permission(self, request, view):
        needed = self.read if request.method in SAFE_METHODS else self.write
        return has_permission(request.user, needed)
