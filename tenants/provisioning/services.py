"""Writes for tenants: creating one builds its schema and migrates it."""
import re

from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.models import Domain, Tenant, validate_time_zone

SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def tenant_create(*, slug, name, domain, time_zone="UTC"):
    """Create a tenant, its schema (with every tenant migration) and its primary domain."""
    if not SLUG_RE.match(slug) or slug == "public":
        raise ValidationError(
            {"slug": "Use 1-63 lowercase letters, digits or underscores, starting with a letter (not 'public')."}
        )
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from None
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A tenant with slug {slug!r} already exists."})
    if Domain.objects.filter(domain=domain).exists():
        raise ValidationError({"domain": f"The domain {domain!r} is already in use."})
    tenant = Tenant(schema_name=slug, slug=slug, name=name, time_zone=time_zone)
    tenant.save(verbosity=0)  # creates and migrates the schema (outside any transaction of ours)
    with transaction.atomic():
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    return tenant


def public_tenant_ensure(domain="localhost"):
    """The public schema's own row, so the platform admin answers on `domain`."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name="public", defaults={"slug": "public", "name": "Platform", "time_zone": "UTC"}
    )
    Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant
