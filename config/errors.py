"""The one application error type and the API error envelope (SPEC §6).

Every error an API client sees has the shape
    {"success": false, "data": null, "message": str, "code": str, "errors": {...} | null}
The DRF exception handler below wraps DRF's own (so its rollback of the atomic request
still happens) and maps Django's ValidationError, Http404 and PermissionDenied too.
"""
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("console.errors")

MSG_VALIDATION = "The request is not valid; see errors for each field."
MSG_UNAUTHENTICATED = "Authentication credentials were not provided or are not valid."
MSG_PERMISSION_DENIED = "You do not have permission to perform this action."
MSG_NOT_FOUND = "The requested resource was not found."
MSG_METHOD_NOT_ALLOWED = "This method is not allowed on this resource."
MSG_CONFLICT = "The request conflicts with the current state of the resource."
MSG_RATE_LIMITED = "Too many requests; try again later."
MSG_UNSUPPORTED_MEDIA = "This content type is not supported here."
MSG_NOT_ACCEPTABLE = "The requested response format is not available."
MSG_PARSE_ERROR = "The request body could not be parsed."
MSG_SERVER_ERROR = "Something went wrong on our side; the error has been logged."
MSG_NO_TENANT = "No tenant is served at this host name."
MSG_BODY_TOO_BIG = "The request body is too large."
MSG_TOO_MANY_FIELDS = "The request has too many fields."
MSG_SERVICE_UNAVAILABLE = "The database is not reachable right now; try again in a few seconds."
MSG_TENANT_SUSPENDED = (
    "This university's console is suspended by the platform's operators; its data is kept. "
    "Ask your console administrator when it will be back."
)
MSG_WRITE_COLLISION = (
    "Another change to the same records was made at the same moment, so this one was not made; "
    "nothing changed. Try again."
)

VALIDATION_ERROR = "VALIDATION_ERROR"
UNAUTHENTICATED = "UNAUTHENTICATED"
PERMISSION_DENIED = "PERMISSION_DENIED"
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
CONFLICT = "CONFLICT"
EXPORT_LIMIT_EXCEEDED = "EXPORT_LIMIT_EXCEEDED"
CURSOR_EXPIRED = "CURSOR_EXPIRED"  # 410: a feed cursor from before what is still kept
RATE_LIMITED = "RATE_LIMITED"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
TENANT_SUSPENDED = "TENANT_SUSPENDED"  # 503: the tenant is suspended (tenants.routing.middleware)
SERVER_ERROR = "SERVER_ERROR"
LEGAL_HOLD = "LEGAL_HOLD"  # 409: a student under a legal hold cannot be erased
ALREADY_ERASED = "ALREADY_ERASED"  # 409: the student's personal data is already erased


class AppError(Exception):
    """An error with a code, an HTTP status, a human sentence and optional field errors."""

    def __init__(self, message, *, code=VALIDATION_ERROR, status_code=400, errors=None, retry_after=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.errors = errors
        self.retry_after = retry_after  # seconds, sent as Retry-After

    @classmethod
    def validation(cls, errors, message=MSG_VALIDATION):
        """A 400 naming the fields: errors is {field: message or [messages]}."""
        normalised = {
            field: (msgs if isinstance(msgs, (list, tuple)) else [msgs]) for field, msgs in errors.items()
        }
        return cls(message, code=VALIDATION_ERROR, status_code=400, errors=normalised)

    @classmethod
    def not_found(cls, message=MSG_NOT_FOUND):
        return cls(message, code=NOT_FOUND, status_code=404)

    @classmethod
    def conflict(cls, message=MSG_CONFLICT, errors=None):
        return cls(message, code=CONFLICT, status_code=409, errors=errors)


class BulkRefused(AppError):
    """A bulk action that changed nothing. `refused` is {id: reason} in the order the ids were
    given; `errors` renders it for the API as `<field>[<first index>]: "<id>: <reason>"` (a
    malformed id gets `bad_id_reason` alone: it is not worth repeating)."""

    def __init__(self, message, refused, first_index, *, field="user_ids", bad_id_reason=None):
        self.refused = refused
        self.first_index = first_index
        errors = {
            f"{field}[{first_index[key]}]": [reason if reason == bad_id_reason else f"{key}: {reason}"]
            for key, reason in refused.items()
        }
        super().__init__(message, errors=errors)


RETRY_AFTER_SECONDS = 5


def is_api_path(path):
    return path == "/v1" or path.startswith("/v1/")


def write_collision(exc):
    """True when PostgreSQL undid this transaction because it met another one (a deadlock, a
    serialization failure, a lock it could not wait for): the database is fine and nothing
    was written, so it is a 409 to try again, neither a 503 nor a 500."""
    from django.db import OperationalError

    # SQLSTATE class 40 (transaction rollback: serialization failure, deadlock) and 55P03.
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return isinstance(exc, OperationalError) and (sqlstate.startswith("40") or sqlstate == "55P03")


def log_write_collision(request, exc):
    logger.warning("Write collision on %s %s: %s", request.method, request.path, type(exc.__cause__).__name__)


def write_collision_json(request, exc):
    log_write_collision(request, exc)
    return error_json_response(MSG_WRITE_COLLISION, CONFLICT, 409)


# SQLSTATE 25006: a write refused by a server in read-only mode. During a failover a connection
# may reach a standby not yet promoted, or a primary being demoted: the next try reaches the
# new primary, so it is an outage for the moment, not a fault of the request.
READ_ONLY_SQL_TRANSACTION = "25006"


def database_unavailable(exc):
    """True for errors that mean the database cannot serve us right now (gone, restarting,
    connection broken, query cancelled, read-only during a failover): the request may succeed
    if retried, so it is a 503, not a 500. Constraint and programming errors are not among
    them, nor write collisions."""
    from django.db import DatabaseError, InterfaceError, OperationalError

    if isinstance(exc, DatabaseError) and getattr(exc.__cause__, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION:
        return True
    return isinstance(exc, (OperationalError, InterfaceError)) and not write_collision(exc)


def log_database_unavailable(request, exc, response):
    """One warning line per refused request (not a traceback each: an outage would flood the
    log), and Django told not to log the response again."""
    logger.warning("Database unavailable for %s %s: %s", request.method, request.path, type(exc).__name__)
    response._has_been_logged = True
    return response


def service_unavailable_json(request, exc):
    response = error_json_response(MSG_SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE, 503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return log_database_unavailable(request, exc, response)


def bad_body_errors(exc):
    """{"body": [message]} when `exc` is Django refusing a request body (too large, too many
    fields or files): bad input, never a 500. None for anything else."""
    if isinstance(exc, RequestDataTooBig):  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        return {"body": [MSG_BODY_TOO_BIG]}
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):  # over DATA_UPLOAD_MAX_NUMBER_FIELDS/FILES
        return {"body": [MSG_TOO_MANY_FIELDS]}
    return None


def envelope(message, code, errors=None):
    return {"success": False, "data": None, "message": message, "code": code, "errors": errors}


def error_json_response(message, code, status_code, errors=None):
    """For places outside DRF (middleware, Django's handler404/500 on API paths)."""
    return JsonResponse(envelope(message, code, errors), status=status_code)


# The envelopes that places outside DRF answer with, so each message is said here only.


def validation_error_json(errors):
    """The 400 naming each field, as DRF's handler below answers it: errors is {field: [messages]}."""
    return error_json_response(MSG_VALIDATION, VALIDATION_ERROR, 400, errors)


def not_found_json():
    return error_json_response(MSG_NOT_FOUND, NOT_FOUND, 404)


def method_not_allowed_json():
    return error_json_response(MSG_METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED, 405)


def server_error_json():
    return error_json_response(MSG_SERVER_ERROR, SERVER_ERROR, 500)


_DRF_CODES = {
    drf_exceptions.NotAuthenticated: (UNAUTHENTICATED, MSG_UNAUTHENTICATED),
    drf_exceptions.AuthenticationFailed: (UNAUTHENTICATED, MSG_UNAUTHENTICATED),
    drf_exceptions.PermissionDenied: (PERMISSION_DENIED, MSG_PERMISSION_DENIED),
    drf_exceptions.NotFound: (NOT_FOUND, MSG_NOT_FOUND),
    drf_exceptions.MethodNotAllowed: (METHOD_NOT_ALLOWED, MSG_METHOD_NOT_ALLOWED),
    drf_exceptions.Throttled: (RATE_LIMITED, MSG_RATE_LIMITED),
    drf_exceptions.UnsupportedMediaType: (VALIDATION_ERROR, MSG_UNSUPPORTED_MEDIA),
    drf_exceptions.NotAcceptable: (VALIDATION_ERROR, MSG_NOT_ACCEPTABLE),
    drf_exceptions.ParseError: (VALIDATION_ERROR, MSG_PARSE_ERROR),
}


def field_errors(detail):
    """DRF's ValidationError detail as {field: [messages]}; non-field errors under 'non_field_errors'."""
    if isinstance(detail, dict):
        result = {}
        for field, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in field_errors(value).items():
                    result[f"{field}.{sub}"] = msgs
            elif isinstance(value, list):
                flat = []
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        for sub, msgs in field_errors(item).items():
                            result[f"{field}[{index}].{sub}"] = msgs
                    else:
                        flat.append(str(item))
                if flat:
                    result[field] = flat
            else:
                result[field] = [str(value)]
        return result
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def api_exception_handler(exc, context):
    if write_collision(exc):
        drf_exception_handler(drf_exceptions.APIException(), context)  # roll back, as for AppError
        log_write_collision(context["request"], exc)
        return Response(envelope(MSG_WRITE_COLLISION, CONFLICT), status=409)
    if database_unavailable(exc):
        drf_exception_handler(drf_exceptions.APIException(), context)  # roll back, as for AppError
        response = Response(
            envelope(MSG_SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        return log_database_unavailable(context["request"], exc, response)
    if isinstance(exc, AppError):
        # Let DRF's handler run for its side effect (rolling back ATOMIC_REQUESTS).
        drf_exception_handler(drf_exceptions.APIException(), context)
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response(envelope(exc.message, exc.code, exc.errors), status=exc.status_code, headers=headers)
    body_errors = bad_body_errors(exc)
    if body_errors:
        exc = drf_exceptions.ValidationError(body_errors)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = drf_exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling logs it

    if isinstance(exc, drf_exceptions.ValidationError):
        body = envelope(MSG_VALIDATION, VALIDATION_ERROR, field_errors(exc.detail))
        response.data = body
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response

    code, message = SERVER_ERROR, MSG_SERVER_ERROR
    for exc_type, (mapped_code, mapped_message) in _DRF_CODES.items():
        if isinstance(exc, exc_type):
            code, message = mapped_code, mapped_message
            break
    else:
        if 400 <= response.status_code < 500:
            code, message = VALIDATION_ERROR, str(getattr(exc, "detail", MSG_VALIDATION))
    if isinstance(exc, drf_exceptions.Throttled) and exc.wait:
        message = f"{MSG_RATE_LIMITED} Retry in {int(exc.wait)} s."
    response.data = envelope(message, code)
    return response
