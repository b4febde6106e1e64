"""The dashboard page: charts of the tenant's activity (console.dashboard.selectors)."""
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.permissions import USER_MANAGEMENT_VIEW
from config.replicas import lag_tolerant
from console.dashboard import selectors as dashboard_data
from console.pages import console_page


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_VIEW)
@lag_tolerant
def dashboard(request):
    data = dashboard_data.dashboard_figures(tzinfo=request.tenant.tzinfo)
    context = {"data": data, "charts": dashboard_data.dashboard_charts(data)}
    return render(request, "console/dashboard/index.html", context)
