"""Request ids and the access log (SPEC §9).

Every response carries `X-Request-ID`: the client's own when it sends a sane one (1-128
letters, digits and `._:-`), else a new one. Every log record written while a request is
handled carries that id (`install_request_id_on_records`), so an error's traceback and the request's
access-log line can be matched. One access-log line per request on the `console.access`
logger: request id, tenant, user, method, path, status, duration. Never the query string,
headers or bodies: no password, token or personal search term reaches a log.

`LOG_FORMAT=json` writes one JSON object per line (`JsonFormatter`); the default is text.
"""
import contextvars
import json
import logging
import re
import time
import traceback
import uuid
from collections.abc import Callable

from django.utils.functional import empty

REQUEST_ID_HEADER = "X-Request-ID"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_logger = logging.getLogger("console.access")


def incoming_request_id(value):
    """The client's request id when it is sane, else a new one."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


def _tenant_label(request):
    tenant = getattr(request, "tenant", None)
    return getattr(tenant, "schema_name", None) or "-"


def _user_label(request):
    """The signed-in user's email, without ever querying for it: a user that was not loaded
    while handling the request (or could not be, the database being down) is logged as '-'."""
    user = request.__dict__.get("user")
    wrapped = user.__dict__.get("_wrapped", user) if user is not None else None  # SimpleLazyObject
    if wrapped is None or wrapped is empty:  # no user, or one never loaded
        return "-"
    if getattr(wrapped, "is_authenticated", False):
        return getattr(wrapped, "email", None) or str(wrapped.pk)
    return "-"


class RequestIdMiddleware:
    """Outermost middleware: the request id, and the access-log line once the response is known."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        request.id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = request_id_var.set(request.id)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request.id
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "tenant": _tenant_label(request),
                    "user": _user_label(request),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def install_request_id_on_records():
    """Every log record gets `request_id` (None outside a request) when it is made, whatever
    handler later writes it."""
    current = logging.getLogRecordFactory()
    if getattr(current, "adds_request_id", False):
        return
    logging.setLogRecordFactory(_RequestIdRecordFactory(current))


class _RequestIdRecordFactory:
    """The log record factory `install_request_id_on_records` puts in front of the current one."""

    adds_request_id = True

    def __init__(self, wrapped: Callable[..., logging.LogRecord]):
        self.wrapped = wrapped

    def __call__(self, *args, **kwargs) -> logging.LogRecord:
        record = self.wrapped(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record


_ACCESS_FIELDS = ("tenant", "user", "method", "path", "status", "duration_ms")


class TextFormatter(logging.Formatter):
    """Readable lines; access lines spell out their fields."""

    def format(self, record):
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        rid = getattr(record, "request_id", None) or "-"
        if record.name == access_logger.name:
            fields = " ".join(f"{name}={getattr(record, name, '-')}" for name in _ACCESS_FIELDS)
            line = f"{stamp} {record.levelname} access request_id={rid} {fields}"
        else:
            line = f"{stamp} {record.levelname} {record.name} request_id={rid} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None),
            "message": record.getMessage(),
        }
        if record.name == access_logger.name:
            entry.update({name: getattr(record, name, None) for name in _ACCESS_FIELDS})
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime
TextFormatter.converter = time.gmtime


class DatabaseAwayFilter(logging.Filter):
    """On the job queue's loggers: a record whose exception is the database being unreachable
    becomes one warning line, without its traceback (an outage is expected, and the server's log
    stays readable; the worker starts again by itself once the database is back)."""

    def filter(self, record):
        unreachable = _database_unreachable(record.exc_info[1] if record.exc_info else None)
        if unreachable is not None:
            record.msg = f"{record.getMessage().strip()} (the database is unreachable: {type(unreachable).__name__})"
            record.args = None
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _database_unreachable(exc):
    """The exception in `exc`'s chain (causes and contexts) that says the database could not be
    reached, or None."""
    import psycopg

    while exc is not None:
        if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, ConnectionError)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def logging_config(*, log_format, level):
    install_request_id_on_records()
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"()": "config.observability.TextFormatter"},
            "json": {"()": "config.observability.JsonFormatter"},
        },
        "filters": {
            "database_away": {"()": "config.observability.DatabaseAwayFilter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": formatter},
            "queue": {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["database_away"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # The access log is on whatever the root level; errors keep their own level.
            "console.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # Django's own 4xx/5xx line duplicates the access log; its 5xx tracebacks stay.
            "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
            "django.server": {"handlers": ["console"], "level": "ERROR", "propagate": False},
            # The job queue's worker: a database outage is one line, not a traceback.
            "procrastinate": {"handlers": ["queue"], "propagate": False},
            # The worker's pool retries in the background while the database is away, a line a try.
            "psycopg.pool": {"handlers": ["console"], "level": "ERROR", "propagate": False},
            # pysaml2 logs whole assertions (names, emails, groups) at ERROR; the SAML sign-in
            # logs its own one-line reason instead (console.auth.saml).
            "saml2": {"handlers": ["console"], "level": "CRITICAL", "propagate": False},
        },
    }
