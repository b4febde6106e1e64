"""URLs served on a tenant's host."""
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.scim.urls import api as scim_tokens_api
from accounts.scim.urls import scim as scim_v2
from console.attempts.urls import api as console_attempts_api
from console.auth.sso import admin_login
from console.exports.urls import api as console_exports_api
from console.reports.urls import api as console_reports_api
from console.students.urls import api as console_students_api
from console.webhooks.urls import api as webhooks_api
from students.records.media import AvatarFileApi

# On a tenant's host the admin's own login would skip the sign-in limits, the SSO-only policy
# and the second factor: staff sign in on the console's page and come back.
admin.site.login = admin_login(admin.site.login)

api_v1 = [
    re_path(r"^auth/", include("accounts.tokens.urls")),
    re_path(r"^", include("accounts.audit.urls")),
    re_path(r"^", include("accounts.events.urls")),
    re_path(r"^", include("accounts.staff.urls")),
    re_path(r"^", include(scim_tokens_api)),
    re_path(r"^", include("accounts.identity.urls")),
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
    re_path(r"^", include("attempts.data_rights.urls")),
    re_path(r"^", include(webhooks_api)),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    re_path(r"^v1/", include(api_v1)),
    re_path(r"^scim/v2/", include(scim_v2)),  # SCIM 2.0 for identity providers (accounts/scim/)
    path("admin/", admin.site.urls),
    re_path(r"^media/(?P<path>.*)$", AvatarFileApi.as_view()),
    path("", include("console.urls")),
]

handler500 = "config.health.server_error"
