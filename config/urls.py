"""URLs served on a tenant's host."""
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.media import tenant_media

api_v1 = [
    re_path(r"^auth/", include("accounts.urls")),
    re_path(r"^console/", include("attempts.console_urls")),
    re_path(r"^console/", include("students.console_urls")),
    re_path(r"^", include("attempts.participant_urls")),
    re_path(r"^", include("students.group_urls")),
    re_path(r"^", include("students.urls")),
    re_path(r"^", include("attempts.urls")),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    re_path(r"^v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    re_path(r"^media/(?P<path>.*)$", tenant_media),
    path("", include("console.urls")),
]
