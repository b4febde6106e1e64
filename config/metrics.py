"""Prometheus metrics (prometheus-client), scraped at `GET /metrics` with
`Authorization: Bearer <METRICS_TOKEN>`.

- Requests: `http_requests_total{route, method, status}` and the latency histogram
  `http_request_duration_seconds{route, method}`, and the seconds each request spent in SQL,
  `http_request_database_seconds{route}` (every database alias, replicas included, timed by
  `execute_wrapper`). `route` is the URL pattern that answered (`v1/students/<id:user_id>`),
  `healthz`, `readyz`, `metrics` or `static` for what is answered before URL routing, else
  `unmatched`: never a path, id, tenant or student, so the set of series stays bounded. A
  streamed answer (the list's files) is measured until its last byte.
- The job queue, read at scrape time in one query: `queue_jobs_waiting{queue}` (due now),
  `queue_jobs_scheduled{queue}` (due later), `queue_jobs_running{queue}` and
  `queue_oldest_job_age_seconds{queue}` (how long the oldest due job has waited).
  `database_up` is 0 when the database could not be reached for the scrape; the queue's
  gauges are then left out and the scrape still answers.
- `webhook_deliveries_total{outcome}`, counted by the delivery tasks (`WEBHOOK_DELIVERIES`).

Several processes: the production server (config.serve) points `PROMETHEUS_MULTIPROC_DIR`
at a fresh directory before it forks its web workers and starts its job workers, so every
process writes its counts there and a scrape, whichever worker answers it, sums them all.
Without it (tests, `manage.py runserver`) the counts live in the one process.

`/metrics` is answered on every host before the tenant lookup (`MetricsEndpointMiddleware`).
Without `METRICS_TOKEN` it does not exist (404, as any unknown address); a missing or wrong
token is a 401 in the API's error envelope.
"""
import hmac
import os
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache

from django.apps import apps
from django.conf import settings
from django.db import connection, connections
from django.http import FileResponse, HttpResponse
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from config.errors import UNAUTHENTICATED, database_unavailable, error_json_response
from config.health import HEALTH_PATHS
from config.ids import ID_SEGMENT

METRICS_PATHS = ("/metrics", "/metrics/")
MSG_METRICS_TOKEN_REQUIRED = "The metrics are read with the metrics token: send Authorization: Bearer <token>."
# Decided when prometheus-client is imported (with this module): its counts are then kept in
# files under this directory, one set per process.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"  # any other method a client sends: it must not make a new series
# Seconds: most answers take milliseconds, a file of the list up to a minute or so.
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

REQUESTS = Counter("http_requests_total", "Requests answered, by URL pattern, method and status.", ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "Seconds to answer a request (a streamed answer: to its last part).",
    ["route", "method"],
    buckets=SECONDS_BUCKETS,
)
REQUEST_DATABASE_SECONDS = Histogram(
    "http_request_database_seconds", "Seconds a request spent executing SQL, all databases together.", ["route"],
    buckets=SECONDS_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, failed, refused).", ["outcome"]
)


# Routes ------------------------------------------------------------------------------------

_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")


@lru_cache(maxsize=1024)
def route_label(route):
    """A URL pattern as a label: `^v1/students/(?P<user_id>…)/?$` → `v1/students/<id:user_id>`
    (an id group written as the `<id:…>` converter writes it), `students/<id:user_id>/` as
    it is; the root is `/`."""
    label, position = [], 0
    for match in _NAMED_GROUP.finditer(route):
        if match.start() < position:  # a group inside a group already replaced
            continue
        end = _group_end(route, match.end())
        body = route[match.end():end]
        label.append(route[position:match.start()])
        label.append(f"<id:{match.group(1)}>" if body == ID_SEGMENT else f"<{match.group(1)}>")
        position = end + 1
    label.append(route[position:])
    text = "".join(label).removeprefix("^").removesuffix("$").removesuffix("/?")
    return text or "/"


def _group_end(pattern, start):
    """The index of the parenthesis closing the group whose body starts at `start`."""
    depth, index, in_class = 1, start, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return len(pattern)


def request_route(request):
    """The route label of an answered request."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route is not None:
        return route_label(match.route)
    if request.path in HEALTH_PATHS or request.path in METRICS_PATHS:
        return request.path.strip("/")
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return UNMATCHED


# Requests ----------------------------------------------------------------------------------


class _SqlTimer:
    """An execute wrapper adding up the seconds one request's statements take."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started

    @contextmanager
    def timing(self) -> Iterator[None]:
        """On every database alias of this thread (the primary and any replica a view reads)."""
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(self))
            yield


class RequestMetricsMiddleware:
    """Counts and times every request (second in MIDDLEWARE, just inside the request id, so
    nothing answers before it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        timer = _SqlTimer()
        try:
            with timer.timing():
                response = self.get_response(request)
        except Exception:
            _observe(request, 500, started, timer)
            raise
        if response.streaming and not response.is_async and not isinstance(response, FileResponse):
            # Rows are read as the answer streams: count and time it when it ends.
            response.streaming_content = _MeasuredStream(response.streaming_content, request, response, started, timer)
        else:
            _observe(request, response.status_code, started, timer)
        return response


class _MeasuredStream:
    """A streamed answer's content, observed once: when it ends, or when the server closes it
    (the client went away, or it was never read)."""

    def __init__(self, content, request, response, started, timer):
        self.content = iter(content)
        self.observation = (request, response, started, timer)
        self.observed = False

    def __iter__(self):
        return self

    def __next__(self):
        timer = self.observation[3]
        try:
            with timer.timing():
                return next(self.content)
        except StopIteration:
            self.close()
            raise

    def close(self):
        if not self.observed:
            self.observed = True
            request, response, started, timer = self.observation
            _observe(request, response.status_code, started, timer)


def _observe(request, status, started, timer):
    route = request_route(request)
    method = request.method if request.method in METHODS else OTHER_METHOD
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)
    REQUEST_DATABASE_SECONDS.labels(route).observe(timer.seconds)


# The job queue -----------------------------------------------------------------------------

# A job waits from its creation (its `deferred` event: procrastinate_jobs has no creation
# time) or, when it was scheduled or retried, from its `scheduled_at`. Only waiting and
# running jobs are read (an index covers them), never the finished ones.
QUEUE_SQL = """
    SELECT queue_name, waiting, scheduled, running,
           extract(epoch FROM now() - least(
               oldest_due,
               (SELECT min(event.at) FROM public.procrastinate_events AS event
                WHERE event.job_id = oldest_unscheduled AND event.type = 'deferred')
           ))
    FROM (
        SELECT queue_name,
               count(*) FILTER (WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())) AS waiting,
               count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()) AS scheduled,
               count(*) FILTER (WHERE status = 'doing') AS running,
               min(scheduled_at) FILTER (WHERE status = 'todo' AND scheduled_at <= now()) AS oldest_due,
               min(id) FILTER (WHERE status = 'todo' AND scheduled_at IS NULL) AS oldest_unscheduled
        FROM public.procrastinate_jobs
        WHERE status IN ('todo', 'doing')
        GROUP BY queue_name
    ) AS queues
"""
QUEUE_APP = "procrastinate.contrib.django"


def known_queues():
    """The queues the declared tasks use: each is reported, at 0 when it holds no job."""
    if not apps.is_installed(QUEUE_APP):
        return set()
    from procrastinate.contrib.django import app

    return {task.queue for task in app.tasks.values()}


class DatabaseCollector:
    """`database_up` and the queue's gauges, read when scraped."""

    def collect(self):
        up = GaugeMetricFamily("database_up", "1 when the database answered this scrape, 0 when it could not be reached.")
        try:
            rows = self._queue_rows()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        if rows is None:  # the queue's tables are not migrated yet
            return
        gauges = {
            "waiting": GaugeMetricFamily("queue_jobs_waiting", "Jobs due to run and not started, by queue.", labels=["queue"]),
            "scheduled": GaugeMetricFamily("queue_jobs_scheduled", "Jobs waiting for a later time, by queue.", labels=["queue"]),
            "running": GaugeMetricFamily("queue_jobs_running", "Jobs being run by a worker, by queue.", labels=["queue"]),
            "age": GaugeMetricFamily(
                "queue_oldest_job_age_seconds", "Seconds the oldest job due to run has waited (0: none), by queue.",
                labels=["queue"],
            ),
        }
        by_queue = {queue: (0, 0, 0, None) for queue in known_queues()}
        by_queue.update({row[0]: row[1:] for row in rows})
        for queue, (waiting, scheduled, running, age) in sorted(by_queue.items()):
            gauges["waiting"].add_metric([queue], waiting)
            gauges["scheduled"].add_metric([queue], scheduled)
            gauges["running"].add_metric([queue], running)
            gauges["age"].add_metric([queue], max(float(age or 0), 0.0))
        yield from gauges.values()

    _queue_tables = False  # once seen, they stay

    def _queue_rows(self):
        with connection.cursor() as cursor:
            if not DatabaseCollector._queue_tables:
                cursor.execute("SELECT to_regclass('public.procrastinate_jobs') IS NOT NULL")
                if not cursor.fetchone()[0]:
                    return None
                DatabaseCollector._queue_tables = True
            cursor.execute(QUEUE_SQL)
            return cursor.fetchall()


# The endpoint ------------------------------------------------------------------------------


class _Scrape:
    """What one scrape reads: every process's counts (or this process's), then the database."""

    def __init__(self, *collectors: Collector):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def scrape(accept):
    """(body, content type): every metric, in the format the scraper's Accept header asks for
    (Prometheus' text format unless it asks for OpenMetrics)."""
    encode, content_type = choose_encoder(accept)
    counts: Collector = MultiProcessCollector(None) if MULTIPROCESS else REGISTRY
    return encode(_Scrape(counts, DatabaseCollector())), content_type


def authorised(request, token):
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class MetricsEndpointMiddleware:
    """Answers `GET /metrics` before the tenant lookup, on every host, to a Bearer token equal
    to METRICS_TOKEN; without the setting the address does not exist."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = settings.METRICS_TOKEN
        if not token or request.path not in METRICS_PATHS or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if authorised(request, token):
            body, content_type = scrape(request.headers.get("Accept", ""))
            response = HttpResponse(body, content_type=content_type)
        else:
            response = error_json_response(MSG_METRICS_TOKEN_REQUIRED, UNAUTHENTICATED, 401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Cache-Control"] = "no-store"
        return response
