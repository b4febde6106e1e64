"""The console's notice to admins that webhook endpoints were disabled for failing
(base.html): a context processor whose value is read only when a page shows it, and then from
the cache, or in one query when the cache is cold (console.webhooks.selectors)."""
from django.utils.functional import SimpleLazyObject
from django_tenants.utils import get_public_schema_name

from accounts.permissions import WEBHOOKS_MANAGE, has_permission
from console.webhooks.selectors import disabled_endpoints_notice


def webhook_notice(request):
    def notice():
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == get_public_schema_name() or not has_permission(request.user, WEBHOOKS_MANAGE):
            return []
        return disabled_endpoints_notice()

    return {"webhooks_disabled": SimpleLazyObject(notice)}
