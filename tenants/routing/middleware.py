"""The host → tenant step of every request, through the cache (tenants.routing.selectors),
and the answer of a suspended tenant's host."""
from django.http import HttpResponse
from django.template.loader import render_to_string

from config.errors import MSG_TENANT_SUSPENDED, TENANT_SUSPENDED, error_json_response, is_api_path
from config.health import TenantMiddleware
from tenants.routing.selectors import tenant_for_host


class CachedTenantMiddleware(TenantMiddleware):
    def get_tenant(self, domain_model, hostname):
        return tenant_for_host(hostname)

    def process_request(self, request):
        response = super().process_request(request)
        tenant = getattr(request, "tenant", None)
        if response is None and tenant is not None and tenant.suspended_at is not None:
            response = suspended(request)
        return response


def suspended(request):
    """503 for every path of a suspended tenant: the envelope on /v1/, a page elsewhere. No
    Retry-After: how long is not known here."""
    if is_api_path(request.path):
        response = error_json_response(MSG_TENANT_SUSPENDED, TENANT_SUSPENDED, 503)
    else:
        response = HttpResponse(render_to_string("console/suspended.html"), status=503)
    response["Cache-Control"] = "no-store"
    return response
