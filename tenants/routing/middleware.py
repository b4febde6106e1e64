"""The host → tenant step of every request, through the cache (tenants.routing.selectors)."""
from config.health import TenantMiddleware
from tenants.routing.selectors import tenant_for_host


class CachedTenantMiddleware(TenantMiddleware):
    def get_tenant(self, domain_model, hostname):
        return tenant_for_host(hostname)
