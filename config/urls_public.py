"""URLs served on the public host (platform admin only)."""
from django.contrib import admin
from django.http import HttpResponse
from django.urls import path


def index(request):
    return HttpResponse(
        "<!doctype html><title>Student Operations Console</title><h1>Student Operations Console</h1>"
        "<p>Open your university's address (for example <a href='http://demo.localhost:8000/'>"
        "demo.localhost:8000</a>). Platform admins: <a href='/admin/'>/admin/</a>.</p>"
    )


urlpatterns = [
    path("admin/", admin.site.urls),
    path("", index),
]

handler500 = "config.health.server_error"
