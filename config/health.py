"""Health checks and what the app answers while the database is unreachable (SPEC §9).

- `GET /healthz`: the process is alive; touches nothing else. `GET /readyz`: the database
  answers and the public schema has every migration on disk applied (one small query; no
  per-tenant scan); 503 otherwise. Both on every host (tenant, public or unknown), before the
  tenant lookup, unauthenticated, JSON, `Cache-Control: no-store`.
- While the database is unreachable every request answers 503 with `Retry-After`: the
  `SERVICE_UNAVAILABLE` envelope on `/v1/`, a console-styled page elsewhere. That covers the
  tenant lookup (`TenantMiddleware`), authentication and views (the DRF exception handler in
  config.errors, and `server_error` for everything Django itself catches). Nothing needs a
  restart when the database returns: connections are checked at the start of each request
  (`CONN_HEALTH_CHECKS`) and a broken one is replaced.
"""
import sys

from django.db import connection
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template.loader import render_to_string
from django_tenants.middleware.main import TenantMainMiddleware

from config.errors import (
    RETRY_AFTER_SECONDS,
    database_unavailable,
    is_api_path,
    log_database_unavailable,
    log_write_collision,
    server_error_json,
    service_unavailable_json,
    write_collision,
    write_collision_json,
)

HEALTH_PATHS = {"/healthz": "live", "/healthz/": "live", "/readyz": "ready", "/readyz/": "ready"}

_migrations_on_disk = None


def migrations_on_disk():
    """{(app, name)} of every migration in the code, read once per process."""
    global _migrations_on_disk
    if _migrations_on_disk is None:
        from django.db.migrations.loader import MigrationLoader

        _migrations_on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return _migrations_on_disk


def readiness():
    """(ready, checks): the database answers and the public schema is fully migrated."""
    try:
        with connection.cursor() as cursor:  # schema-qualified: whatever the search_path
            cursor.execute("SELECT app, name FROM public.django_migrations")
            applied = set(cursor.fetchall())
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        connection.close()  # a fresh connection next time
        return False, {"database": "unreachable", "migrations": "unknown"}
    missing = migrations_on_disk() - applied
    if missing:
        return False, {"database": "ok", "migrations": f"{len(missing)} not applied"}
    return True, {"database": "ok", "migrations": "ok"}


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


class HealthMiddleware:
    """Answers /healthz and /readyz before anything else runs (first after the request id)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        kind = HEALTH_PATHS.get(request.path)
        if kind is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if kind == "live":
            return _no_store(JsonResponse({"status": "ok"}))
        ready, checks = readiness()
        response = JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)
        if not ready:
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return _no_store(response)


def service_unavailable(request, exc):
    """The 503 for a request the database could not serve: envelope on /v1/, a page elsewhere.
    The page is rendered without the request context: nothing on it may touch the database."""
    if is_api_path(request.path):
        return service_unavailable_json(request, exc)
    response = HttpResponse(render_to_string("console/503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return log_database_unavailable(request, exc, response)


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' host → tenant lookup, answering 503 instead of failing when the
    database cannot be reached."""

    def process_request(self, request):
        try:
            return super().process_request(request)
        except Exception as exc:
            if database_unavailable(exc):
                return service_unavailable(request, exc)
            raise


def server_error(request):
    """handler500 for both URL confs: a database outage is a 503, anything else a 500 (the
    envelope on /v1/, a plain page elsewhere)."""
    exc = sys.exc_info()[1]
    if database_unavailable(exc):
        return service_unavailable(request, exc)
    if write_collision(exc):
        if is_api_path(request.path):
            return write_collision_json(request, exc)
        log_write_collision(request, exc)
        return HttpResponse(render_to_string("console/409.html"), status=409)
    if is_api_path(request.path):
        return server_error_json()
    return HttpResponseServerError(render_to_string("500.html"))
