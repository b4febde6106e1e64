from django.contrib import admin
from django_tenants.admin import TenantAdminMixin
from django_tenants.utils import get_public_schema_name

from tenants.models import Domain, Tenant


class PublicOnlyMixin:
    """Tenants and domains are managed from the public schema's admin only."""

    def has_module_permission(self, request):
        tenant = getattr(request, "tenant", None)
        return tenant is None or tenant.schema_name == get_public_schema_name()


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(PublicOnlyMixin, TenantAdminMixin, admin.ModelAdmin):
    list_display = ("slug", "name", "time_zone", "created_at")
    search_fields = ("slug", "name")
    inlines = [DomainInline]


@admin.register(Domain)
class DomainAdmin(PublicOnlyMixin, admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
