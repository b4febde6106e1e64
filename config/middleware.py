import logging
from urllib.parse import unquote_to_bytes

from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponseBadRequest
from django.template.loader import render_to_string

from config.errors import (
    bad_body_errors,
    database_unavailable,
    is_api_path,
    method_not_allowed_json,
    not_found_json,
    server_error_json,
    service_unavailable_json,
    validation_error_json,
    write_collision,
    write_collision_json,
)
from config.query import MAX_QUERY_STRING_BYTES, MSG_QUERY_TOO_LONG


class ApiErrorMiddleware:
    """Responses that Django itself produces on /v1/ paths (no route, 405 outside DRF,
    an unhandled exception) come back in the JSON envelope instead of HTML."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not is_api_path(request.path):
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/json") or response.streaming:
            return response
        if response.status_code == 404:
            return not_found_json()
        if response.status_code == 405:
            return method_not_allowed_json()
        return response

    def process_exception(self, request, exception):
        if not is_api_path(request.path):
            return None
        if database_unavailable(exception):
            return service_unavailable_json(request, exception)
        if write_collision(exception):
            return write_collision_json(request, exception)
        if isinstance(exception, SuspiciousOperation):  # a hostile or broken request: bad input
            return validation_error_json(bad_body_errors(exception))
        logging.getLogger("django.request").exception("Unhandled error on %s", request.path)
        response = server_error_json()
        response._has_been_logged = True  # with its traceback, just above
        return response


class QueryStringLimitMiddleware:
    """A query string over MAX_QUERY_STRING_BYTES (as sent) is refused before anything reads
    it: a 400 in the envelope naming `query` on /v1/, the console's 400 page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if len(request.META.get("QUERY_STRING", "")) <= MAX_QUERY_STRING_BYTES:
            return self.get_response(request)
        if is_api_path(request.path):
            return query_too_long_json()
        return HttpResponseBadRequest(render_to_string("console/400.html", {"message": MSG_QUERY_TOO_LONG}))


def query_too_long_json():
    return validation_error_json({"query": [MSG_QUERY_TOO_LONG]})


MSG_NUL = "Addresses and query strings may not contain NUL characters."


class RejectNulMiddleware:
    """A NUL character can be in no id, search or parameter the console's pages read, and
    PostgreSQL refuses it in text: a page address or query string carrying one is a 400 page
    before any view or database sees it. On /v1/ the serializers refuse it naming the
    parameter; bodies are checked by the forms and serializers, which refuse NUL in text."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path):
            return self.get_response(request)  # the API's serializers name the parameter themselves
        raw_query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or b"\x00" in unquote_to_bytes(raw_query.replace("+", " ")):
            return HttpResponseBadRequest(render_to_string("console/400.html", {"message": MSG_NUL}))
        return self.get_response(request)


PUBLIC_API_PATHS = ("/v1/schema", "/v1/docs")


class PrivateCacheMiddleware:
    """`Cache-Control: private, no-store` on every API answer (student data, tokens, errors
    that name ids) but the public schema and docs, and on every page for a signed-in user:
    neither a shared proxy nor the browser's disk keeps a copy. An answer that already says
    how to cache (health checks, static files) keeps its own header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        user = getattr(request, "user", None)
        api = is_api_path(request.path) and not request.path.startswith(PUBLIC_API_PATHS)
        if api or (user is not None and user.is_authenticated):
            response["Cache-Control"] = "private, no-store"
        return response
