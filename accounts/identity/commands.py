"""What the identity_provider and sign_in_policy commands share: the tenant they act in (by
slug; tenant_suspend and tenant_resume find theirs with it too), a service's refusal as the
command's error, and on/off options. Outside a request, the
audit trail records their changes as made by "system"."""
import argparse
import contextlib

from django.core.management.base import CommandError
from django_tenants.utils import schema_context

from tenants.models import Tenant


@contextlib.contextmanager
def in_tenant(slug):
    """Run in the tenant's schema; yields the tenant and its primary host name."""
    tenant = Tenant.objects.filter(slug=slug).exclude(schema_name="public").first()
    if tenant is None:
        raise CommandError(f"No tenant with slug {slug!r}.")
    domain = tenant.domains.order_by("-is_primary", "domain").values_list("domain", flat=True).first()
    with schema_context(tenant.schema_name):
        yield tenant, domain or "<host>"


def refused(error):
    """An AppError as a CommandError: its message, then each field's messages."""
    lines = [error.message, *(f"  {field}: {' '.join(messages)}" for field, messages in (error.errors or {}).items())]
    return CommandError("\n".join(lines))


def on_off(value):
    """argparse type: on/off (also true/false, yes/no, 1/0)."""
    word = value.strip().lower()
    if word in ("on", "true", "yes", "1"):
        return True
    if word in ("off", "false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{value!r}: use on or off")
