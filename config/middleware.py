import logging

from config.errors import (
    METHOD_NOT_ALLOWED,
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    MSG_SERVER_ERROR,
    NOT_FOUND,
    SERVER_ERROR,
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
        logging.getLogger("django.request").exception("Unhandled error on %s", request.path)
        response = error_json_response(MSG_SERVER_ERROR, SERVER_ERROR, 500)
        response._has_been_logged = True  # with its traceback, just above
        return response
