"""URLs served on a tenant's host."""
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from console.attempts.urls import api as console_attempts_api
from console.exports.urls import api as console_exports_api
from console.reports.urls import api as console_reports_api
from console.students.urls import api as console_students_api
from console.webhooks.urls import api as webhooks_api
from students.records.media import AvatarFileApi

api_v1 = [
    re_path(r"^auth/", include("accounts.tokens.urls")),
    re_path(r"^", include("accounts.audit.urls")),
    re_path(r"^", include("accounts.events.urls")),
    re_path(r"^", include("accounts.staff.urls")),
    re_path(r"^console/", include(console_attempts_api + console_students_api + console_reports_api + console_exports_api)),
    re_path(r"^", include("catalogue.programmes.urls")),
    re_path(r"^", include("attempts.participants.urls")),
    re_path(r"^", include("catalogue.case_studies.urls")),
    re_path(r"^", include("students.imports.urls")),
    re_path(r"^", include("students.records.urls")),
    re_path(r"^", include("students.groups.urls")),
    re_path(r"^", include("students.cohorts.urls")),
    re_path(r"^", include("attempts.group_results.urls")),
    re_path(r"^", include("attempts.ingestion.urls")),
    re_path(r"^", include(webhooks_api)),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    re_path(r"^v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    re_path(r"^media/(?P<path>.*)$", AvatarFileApi.as_view()),
    path("", include("console.urls")),
]

handler500 = "config.health.server_error"
