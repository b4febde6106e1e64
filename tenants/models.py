import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone.")


class Tenant(TenantMixin):
    """A university. Its data lives in the PostgreSQL schema named `schema_name`."""

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)
    # Suspended: the host answers 503 to everything; the data is kept (tenants.provisioning).
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_reason = models.CharField(max_length=500, blank=True, default="")
    # Deleted: suspended, and purged (a final backup kept) once delete_after has passed.
    delete_requested_at = models.DateTimeField(null=True, blank=True)
    delete_after = models.DateTimeField(null=True, blank=True, db_index=True)
    deletion_reason = models.CharField(max_length=500, blank=True, default="")

    auto_create_schema = True
    auto_drop_schema = True

    def __str__(self):
        return f"{self.name} ({self.slug})"

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.time_zone)


class Domain(DomainMixin):
    def __str__(self):
        return self.domain


class SchemaTemplate(models.Model):
    """A tenant schema as SQL, for one set of migrations (tenants.provisioning.schemas)."""

    key = models.CharField(max_length=64, unique=True)  # digest of every migration file
    schema_name = models.CharField(max_length=63)  # the name the SQL uses, replaced on replay
    sql = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"schema template {self.key[:12]}"


class PurgedTenant(models.Model):
    """What is left of a purged tenant in the platform's schema: who it was, why it went, and
    where its final backup is (tenants.backups.services.tenant_purge)."""

    slug = models.SlugField(max_length=63)
    name = models.CharField(max_length=200)
    schema_name = models.CharField(max_length=63)
    domains = models.JSONField(default=list)
    deletion_reason = models.CharField(max_length=500, blank=True, default="")
    delete_requested_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(auto_now_add=True)
    backup_path = models.CharField(max_length=1000)
    backup_sha256 = models.CharField(max_length=64)
    rows = models.JSONField(default=dict)  # rows per table when purged

    def __str__(self):
        return f"{self.slug} (purged {self.purged_at:%Y-%m-%d})"
