import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property


class Role(models.Model):
    """A named set of permission strings (SPEC §5)."""

    name = models.CharField(max_length=64, unique=True)
    permissions = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    built_in = models.BooleanField(default=False)

    def __str__(self):
        return self.name


class StaffUserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("Staff users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class StaffUser(AbstractBaseUser, PermissionsMixin):
    """A member of a university's operations staff (never a student)."""

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the Django admin.")
    roles = models.ManyToManyField(Role, blank=True, related_name="users")
    date_joined = models.DateTimeField(default=timezone.now)
    # Raised to end every console session of the user at once (deactivated, by SCIM or staff):
    # it is part of the session's auth hash, checked on every request by every app server.
    session_generation = models.PositiveIntegerField(default=0)
    # SCIM (accounts.scim): the identity provider's own id for the user (externalId), the parts
    # of the name it sent (full_name, which the console shows, is made of them), and when the
    # provider deleted the user: deactivated then, kept for the audit trail, and no longer a
    # SCIM resource until a SCIM create of the same userName links the account again.
    scim_external_id = models.CharField(max_length=255, blank=True, default="")
    scim_given_name = models.CharField(max_length=150, blank=True, default="")
    scim_family_name = models.CharField(max_length=150, blank=True, default="")
    scim_unlinked_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = StaffUserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="staffuser_email_ci_unique")]

    def __str__(self):
        return self.full_name or self.email

    def _get_session_auth_hash(self, secret=None):
        """The password's hash and the session generation: a new password or a raised
        generation ends every session signed in before it."""
        return salted_hmac(
            "accounts.StaffUser.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @cached_property
    def permission_strings(self):
        """Every permission string this user holds, through its roles (superusers hold all)."""
        return self._permissions_from(p for role in self.roles.all() for p in role.permissions)

    def set_permission_strings(self, role_permissions):
        """Use these role permissions (read with the user in one query) instead of reading roles."""
        self.__dict__["permission_strings"] = self._permissions_from(role_permissions)

    def _permissions_from(self, role_permissions):
        """The user's permission strings given its roles' (not read at all for a superuser)."""
        from accounts.permissions import ALL_PERMISSIONS

        return frozenset(ALL_PERMISSIONS if self.is_superuser else role_permissions)

    def has_app_permission(self, permission):
        return self.is_active and permission in self.permission_strings


def hash_token(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A Bearer token. Only its SHA-256 is stored; the raw value is shown once at issue."""

    user = models.ForeignKey(StaffUser, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def generate_raw():
        return secrets.token_urlsafe(32)


class SignInFailures(models.Model):
    """One failed sign-in per key (an account or a client address) and when it failed: the
    sign-in limiter counts a key's failures of the last SIGN_IN_WINDOW_SECONDS. In the database
    so every app process and server shares them."""

    key = models.CharField(max_length=160)
    failed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index("key", "failed_at", name="signin_failures_key_time"),
            models.Index("failed_at", name="signin_failures_time"),  # pruning the ones out of every window
        ]

    def __str__(self):
        return f"{self.key} failed at {self.failed_at:%Y-%m-%d %H:%M:%S}"


class AuditEventQuerySet(models.QuerySet):
    """Audit events are appended, never changed: no update or delete through the ORM (a
    trigger refuses them in the database too; accounts.audit.services.audit_events_prune
    is the one way out, past the retention period)."""

    def update(self, **kwargs):
        raise TypeError("Audit events are append-only.")

    def delete(self):
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One staff write, export or transcript read: when, who (and how signed in, from where,
    in which request), what was done to which record, and the fields it changed."""

    occurred_at = models.DateTimeField(default=timezone.now)
    # A plain id and the email, not a foreign key: the trail outlives the staff account.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    via = models.CharField(max_length=8)  # session, token or system (a command)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)  # e.g. student.update
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True)  # field: [before, after]
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(models.F("occurred_at").desc(), models.F("id").desc(), name="audit_time"),
            models.Index("target_type", "target_id", models.F("occurred_at").desc(), name="audit_target"),
            models.Index("actor_id", models.F("occurred_at").desc(), name="audit_actor"),
            models.Index("action", models.F("occurred_at").desc(), name="audit_action"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_email or self.via} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only.")


# Features' models, so Django finds them with the app's.
from accounts.events.models import Event, EventCounter  # noqa: E402, F401
from accounts.identity.models import (  # noqa: E402, F401
    IdentityProvider,
    ScimToken,
    SignInPolicy,
    StaffIdentity,
    UsedSignInToken,
)
