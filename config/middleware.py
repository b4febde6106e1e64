import logging
from urllib.parse import unquote_to_bytes

from django.http import HttpResponseBadRequest
from django.template.loader import render_to_string

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent

from config.errors import (
    METHOD_NOT_ALLOWED,
    MSG_BODY_TOO_BIG,
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    MSG_SERVER_ERROR,
    MSG_TOO_MANY_FIELDS,
    MSG_VALIDATION,
    NOT_FOUND,
    SERVER_ERROR,
    VALIDATION_ERROR,
    database_unavailable,
    error_json_response,
    is_api_path,
    service_unavailable_json,
)


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
            return error_json_response(MSG_NOT_FOUND, NOT_FOUND, 404)
        if response.status_code == 405:
            return error_json_response(MSG_METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED, 405)
        return response

    def process_exception(self, request, exception):
        if not is_api_path(request.path):
            return None
        if database_unavailable(exception):
            return service_unavailable_json(request, exception)
        if isinstance(exception, SuspiciousOperation):  # a hostile or broken request: bad input
            if isinstance(exception, RequestDataTooBig):
                errors = {"body": [MSG_BODY_TOO_BIG]}
            elif isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
                errors = {"body": [MSG_TOO_MANY_FIELDS]}
            else:
                errors = None
            return error_json_response(MSG_VALIDATION, VALIDATION_ERROR, 400, errors)
        logging.getLogger("django.request").exception("Unhandled error on %s", request.path)
        response = error_json_response(MSG_SERVER_ERROR, SERVER_ERROR, 500)
        response._has_been_logged = True  # with its traceback, just above
        return response


MSG_NUL = "Addresses and query strings may not contain NUL characters."


class RejectNulMiddleware:
    """A NUL character can be in no id, search or parameter this product reads, and PostgreSQL
    refuses it in text: a path or query string carrying one is a 400 (the envelope on /v1/,
    a page elsewhere) before any view or database sees it. Bodies are checked by the forms
    and serializers, which refuse NUL in text fields."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw_query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or b"\x00" in unquote_to_bytes(raw_query.replace("+", " ")):
            field = "path" if "\x00" in request.path else "query"
            if is_api_path(request.path):
                return error_json_response(MSG_VALIDATION, VALIDATION_ERROR, 400, {field: [MSG_NUL]})
            return HttpResponseBadRequest(render_to_string("console/400.html", {"message": MSG_NUL}))
        return self.get_response(request)
