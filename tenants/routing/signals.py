"""A tenant or domain saved or deleted: cached host → tenant mappings are forgotten now (for
this transaction's own reads) and again when it commits (for readers that cached the old row
meanwhile)."""
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.models import Domain, Tenant
from tenants.routing.selectors import forget_tenants


@receiver([post_save, post_delete], sender=Tenant)
@receiver([post_save, post_delete], sender=Domain)
def tenant_or_domain_changed(sender, **kwargs):
    forget_tenants()
    transaction.on_commit(forget_tenants)
