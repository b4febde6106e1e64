"""Writes for tenants.

Creating a tenant needs a schema with every tenant migration applied. It is made from the
template of the current migrations (tenants.provisioning.schemas: a tenth of a second), in the
same transaction as the tenant's row and domain, so a tenant exists whole or not at all. A
*spare* (named `spare_<hex>`, never routed to, made the same way) may be kept ready: creating
a tenant then renames it to the tenant's slug, after applying any migration that landed since
it was made. `spare_schema_ensure` makes one (`create_tenant` does it after reporting).
"""
import datetime as dt
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_exists

from tenants.models import Domain, Tenant, validate_time_zone
from tenants.provisioning.migrating import migrate_schemas, schemas_behind
from tenants.provisioning.schemas import TEMPLATE_PREFIX, schema_create, template_sql

SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
SPARE_PREFIX = "spare_"
RESERVED_PREFIXES = (SPARE_PREFIX, TEMPLATE_PREFIX)
# Serialises taking a spare between concurrent creations (pg_advisory_xact_lock key).
_SPARE_LOCK = 7_261_123


def spare_schemas():
    """The names of the spare schemas waiting, in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname", [SPARE_PREFIX.replace("_", r"\_") + "%"]
        )
        return [row[0] for row in cursor.fetchall()]


def spare_schemas_drop():
    """Drop every spare schema (the next tenant is then migrated as it is created)."""
    with connection.cursor() as cursor:
        for spare in spare_schemas():
            cursor.execute(f'DROP SCHEMA "{spare}" CASCADE')


def spare_schema_ensure():
    """A spare schema with every tenant migration applied: the waiting one, or a new one
    (which takes the time of every migration). Returns its name."""
    spares = spare_schemas()
    if spares:
        return spares[0]
    name = SPARE_PREFIX + secrets.token_hex(6)
    schema_create(name)
    return name


def _current_spare():
    """The waiting spare, brought up to date first; None when none waits."""
    for spare in spare_schemas():
        if schemas_behind([spare]):
            migrate_schemas([spare], processes=1)
        return spare
    return None


def _rename_spare(spare, slug):
    """Rename the spare to `slug` in the caller's transaction. False when another creation
    took it meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SPARE_LOCK])
        if not schema_exists(spare):
            return False
        cursor.execute(f'ALTER SCHEMA "{spare}" RENAME TO "{slug}"')
    return True


def tenant_validate(*, slug, name, domain, time_zone="UTC"):
    """Every reason these values cannot make a new tenant, as one ValidationError by field."""
    errors = {}
    if not SLUG_RE.match(slug or "") or slug == "public" or slug.startswith(RESERVED_PREFIXES):
        errors["slug"] = [
            "Use 1-63 lowercase letters, digits or underscores, starting with a letter "
            f"(not 'public', {SPARE_PREFIX}… or {TEMPLATE_PREFIX}…)."
        ]
    elif Tenant.objects.filter(slug=slug).exists() or schema_exists(slug):
        errors["slug"] = [f"A tenant with slug {slug!r} already exists."]
    if not (name or "").strip() or len(name) > 200:
        errors["name"] = ["Give a name of 1-200 characters."]
    if not DOMAIN_RE.match(domain or ""):
        errors["domain"] = ["Give a host name such as acme.example.edu (lowercase letters, digits, hyphens, dots)."]
    elif Domain.objects.filter(domain=domain).exists():
        errors["domain"] = [f"The domain {domain!r} is already in use."]
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        errors["time_zone"] = exc.messages
    if errors:
        raise ValidationError(errors)


def validation_text(error):
    """A ValidationError of these services as one line: each field and its messages."""
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())


def tenant_create(*, slug, name, domain, time_zone="UTC"):
    """Create a tenant, its schema (with every tenant migration) and its primary domain, in one
    transaction."""
    tenant_validate(slug=slug, name=name, domain=domain, time_zone=time_zone)
    connection.set_schema_to_public()
    spare = _current_spare()
    # Before the transaction, where the first one may build the template; with a spare waiting
    # it is not needed (and if another creation takes that spare, it is fetched then).
    sql = None if spare else template_sql(slug)
    tenant = Tenant(schema_name=slug, slug=slug, name=name.strip(), time_zone=time_zone)
    tenant.auto_create_schema = False  # made here, in the same transaction as the rows
    try:
        with transaction.atomic():
            if not (spare and _rename_spare(spare, slug)):
                schema_create(slug, sql)
            tenant.save(verbosity=0)
            Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    except (IntegrityError, ProgrammingError):  # the same slug or domain created meanwhile
        tenant_validate(slug=slug, name=name, domain=domain, time_zone=time_zone)
        raise
    return tenant


def public_tenant_ensure(domain="localhost"):
    """The public schema's own row, so the platform admin answers on `domain`."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name="public", defaults={"slug": "public", "name": "Platform", "time_zone": "UTC"}
    )
    Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant


def suspension(tenant):
    """The fields suspending, resuming and deleting change, for the audit trail."""
    return {
        "suspended_at": tenant.suspended_at, "suspended_reason": tenant.suspended_reason,
        "delete_after": tenant.delete_after, "deletion_reason": tenant.deletion_reason,
    }


def _reason(reason, audience):
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationError({"reason": f"Say why, in 1-500 characters ({audience})."})
    return reason


def tenant_suspend(tenant, *, reason):
    """Suspend a tenant: its host answers 503 to every request (tenants.routing.middleware)
    from the next request on, every process sharing the cache at once; its data is kept.
    Returns the tenant's suspension() as it was before."""
    if tenant.schema_name == "public":
        raise ValidationError({"tenant": "The platform's own schema cannot be suspended."})
    reason = _reason(reason, "staff of the tenant never see it")
    before = suspension(tenant)
    tenant.suspended_at = tenant.suspended_at or timezone.now()
    tenant.suspended_reason = reason
    tenant.save(update_fields=["suspended_at", "suspended_reason"])
    return before


def tenant_resume(tenant):
    """Serve a suspended tenant again; a deletion still waiting is cancelled. Returns the
    tenant's suspension() as it was before."""
    before = suspension(tenant)
    tenant.suspended_at = None
    tenant.suspended_reason = ""
    tenant.delete_requested_at = tenant.delete_after = None
    tenant.deletion_reason = ""
    tenant.save(update_fields=["suspended_at", "suspended_reason", "delete_requested_at", "delete_after", "deletion_reason"])
    return before


def tenant_delete(tenant, *, reason, days=None):
    """Schedule a suspended tenant's purge `days` (TENANT_DELETE_RETENTION_DAYS) from now: until
    then it stays suspended and `tenant_resume` takes it back; then the daily purge
    (tenants.backups.services.tenants_purge_due) writes its final backup and removes it.
    Returns the tenant's suspension() as it was before."""
    if tenant.schema_name == "public":
        raise ValidationError({"tenant": "The platform's own schema cannot be deleted."})
    if tenant.suspended_at is None:
        raise ValidationError({"tenant": f"Suspend {tenant.slug} first (tenant_suspend); only a suspended tenant is deleted."})
    reason = _reason(reason, "kept with the record of the purge")
    days = settings.TENANT_DELETE_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValidationError({"days": "Give 0 or more days."})
    before = suspension(tenant)
    now = timezone.now()
    tenant.delete_requested_at = now
    tenant.delete_after = now + dt.timedelta(days=days)
    tenant.deletion_reason = reason
    tenant.save(update_fields=["delete_requested_at", "delete_after", "deletion_reason"])
    return before
