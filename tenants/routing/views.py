from django.http import HttpResponseNotFound

from config.errors import MSG_NO_TENANT, NOT_FOUND, error_json_response


def no_tenant(request):
    """An unknown host: the JSON envelope on API paths, a plain page elsewhere; never a 500."""
    if request.path.startswith("/v1/") or request.path == "/v1":
        return error_json_response(MSG_NO_TENANT, NOT_FOUND, 404)
    return HttpResponseNotFound(
        "<!doctype html><title>Not found</title><h1>Not found</h1><p>No university is served at this address.</p>",
        content_type="text/html; charset=utf-8",
    )
