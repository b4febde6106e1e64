"""URLs served on the public host (platform admin only)."""
from django.contrib import admin
from django.http import HttpResponse
from django.urls import path
from django.utils.html import escape


def index(request):
    # The example address keeps the port this page was reached on (PORT, or a proxy's).
    port = request.get_port()
    example = "demo.localhost" + ("" if port in ("80", "443") else f":{port}")
    return HttpResponse(
        "<!doctype html><title>Student Operations Console</title><h1>Student Operations Console</h1>"
        f"<p>Open your university's address (for example <a href='{request.scheme}://{escape(example)}/'>"
        f"{escape(example)}</a>). Platform admins: <a href='/admin/'>/admin/</a> (an account made with "
        "<code>manage.py createsuperuser</code>).</p>"
    )


urlpatterns = [
    path("admin/", admin.site.urls),
    path("", index),
]

handler500 = "config.health.server_error"
