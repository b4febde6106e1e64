"""/metrics: who may read it, what it counts (by route, never by path, id, tenant or student),
the queue's gauges, and the counts of several processes summed by the production server."""
import datetime as dt
import subprocess
import sys
import threading

import psycopg
import pytest
from django.db import OperationalError, connection
from django.urls import get_resolver
from django.urls.resolvers import URLResolver
from django.utils import timezone
from procrastinate.contrib.django import app as job_app
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from config.env import ConfigError, env_token
from config.metrics import MSG_METRICS_TOKEN_REQUIRED, WEBHOOK_DELIVERIES, route_label
from testing.clients import TenantAPIClient
from testing.factories import StudentFactory
from testing.live import BASE_DIR, LiveServer, ThrowawayCluster, app_env, manage

TOKEN = "metrics-test-token-0123456789"
STUDENT_ROUTE = "v1/students/<id:user_id>"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def _scrape(host="localhost"):
    response = TenantAPIClient(host).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return response.content.decode()


def _samples(text):
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def _value(text, name, **labels):
    """The sample's value, 0 when the scrape has none."""
    for sample in _samples(text):
        if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
            return sample.value
    return 0


# Who may read it ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["test.localhost", "localhost", "nobody.localhost"])
def test_metrics_does_not_exist_while_no_token_is_set(settings, host):
    settings.METRICS_TOKEN = None
    response = TenantAPIClient(host).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404
    assert b"http_requests_total" not in response.content


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer wrong-token-0123456789", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN]
)
def test_metrics_refuses_a_missing_or_wrong_token_in_the_envelope(metrics_token, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = TenantAPIClient("test.localhost").get("/metrics", **headers)
    assert response.status_code == 401
    assert response.json() == {
        "success": False, "data": None, "message": MSG_METRICS_TOKEN_REQUIRED, "code": "UNAUTHENTICATED", "errors": None,
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("host", ["test.localhost", "localhost", "nobody.localhost"])
@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
def test_metrics_answers_the_token_on_every_host_before_the_tenant_lookup(metrics_token, host, path):
    response = TenantAPIClient(host).get(path, HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "http_requests_total" in response.content.decode()


def test_metrics_speaks_openmetrics_to_a_scraper_that_asks(metrics_token):
    response = TenantAPIClient("localhost").get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.content.endswith(b"# EOF\n")


def test_a_metrics_token_must_be_long_and_fit_a_header(monkeypatch):
    for bad in ("short", "has a space in it 0123456789", "ünïcode-token-0123456789"):
        monkeypatch.setenv("METRICS_TOKEN", bad)
        with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 16"):
            env_token("METRICS_TOKEN", min_length=16)
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    assert env_token("METRICS_TOKEN", min_length=16) == TOKEN
    monkeypatch.delenv("METRICS_TOKEN")
    assert env_token("METRICS_TOKEN", min_length=16) is None


# Requests ----------------------------------------------------------------------------------


def test_a_request_is_counted_and_timed_by_its_route_not_its_path(metrics_token, operator_client):
    student = StudentFactory(first_name="Chidinma", last_name="Okafọr")
    labels = {"route": STUDENT_ROUTE, "method": "GET"}
    before = _scrape()
    assert operator_client.get(f"/v1/students/{student.user_id}").status_code == 200
    after = _scrape()
    assert _value(after, "http_requests_total", status="200", **labels) == _value(
        before, "http_requests_total", status="200", **labels
    ) + 1
    assert _value(after, "http_request_duration_seconds_count", **labels) == _value(
        before, "http_request_duration_seconds_count", **labels
    ) + 1
    assert student.user_id not in after
    assert "test.localhost" not in after and student.email not in after


def test_database_time_is_observed_per_request_by_route(metrics_token, operator_client):
    student = StudentFactory()
    before = _scrape()
    operator_client.get(f"/v1/students/{student.user_id}")
    after = _scrape()
    name = "http_request_database_seconds"
    assert _value(after, f"{name}_count", route=STUDENT_ROUTE) == _value(before, f"{name}_count", route=STUDENT_ROUTE) + 1
    assert _value(after, f"{name}_sum", route=STUDENT_ROUTE) > _value(before, f"{name}_sum", route=STUDENT_ROUTE)
    # Answered before the database is touched: observed, at nothing.
    assert _value(after, f"{name}_count", route="healthz") == _value(after, f"{name}_bucket", route="healthz", le="0.005")


def test_unrouted_paths_and_unknown_methods_share_fixed_labels(metrics_token, anon_client, viewer_client):
    before = _scrape()
    viewer_client.get("/v1/no-such-thing-4f2a9c")
    anon_client.generic("BREW", "/healthz")
    anon_client.get("/healthz")
    after = _scrape()
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert _value(after, "http_requests_total", **unmatched) == _value(before, "http_requests_total", **unmatched) + 1
    brew = {"route": "healthz", "method": "other", "status": "404"}
    assert _value(after, "http_requests_total", **brew) == _value(before, "http_requests_total", **brew) + 1
    healthz = {"route": "healthz", "method": "GET", "status": "200"}
    assert _value(after, "http_requests_total", **healthz) == _value(before, "http_requests_total", **healthz) + 1
    assert "no-such-thing-4f2a9c" not in after and "BREW" not in after


def test_a_streamed_answer_is_observed_when_its_last_byte_is_sent(metrics_token, operator_client):
    StudentFactory()
    labels = {"route": "v1/console/students/export", "method": "GET"}
    before = _value(_scrape(), "http_request_duration_seconds_count", **labels)
    response = operator_client.get("/v1/console/students/export?format=csv")
    assert response.streaming
    assert _value(_scrape(), "http_request_duration_seconds_count", **labels) == before
    b"".join(response.streaming_content)
    assert _value(_scrape(), "http_request_duration_seconds_count", **labels) == before + 1


def test_every_route_has_a_readable_label():
    def routes(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            route = resolver._join_route(prefix, str(pattern.pattern)) if prefix else str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from routes(pattern, route)
            else:
                yield route

    labels = {route_label(route) for route in routes(get_resolver())}
    assert {STUDENT_ROUTE, "v1/students", "v1/console/exports/<id:job_id>/file", "students/<id:user_id>/", "media/<path>"} <= labels
    assert not [label for label in labels if "(?P<" in label or label.startswith("^") or label.endswith("/?")]


# The queue ---------------------------------------------------------------------------------


def test_queue_gauges_count_waiting_scheduled_and_running_jobs_by_queue(metrics_token):
    now = timezone.now()
    job_app.configure_task("metrics.probe", queue="metrics-probe").defer()
    job_app.configure_task("metrics.probe", queue="metrics-probe", schedule_at=now - dt.timedelta(hours=1)).defer()
    job_app.configure_task("metrics.probe", queue="metrics-probe", schedule_at=now + dt.timedelta(hours=1)).defer()
    running = job_app.configure_task("metrics.probe", queue="metrics-probe").defer()
    finished = job_app.configure_task("metrics.probe", queue="metrics-probe").defer()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE public.procrastinate_jobs SET status = 'doing' WHERE id = %s", [running])
        cursor.execute("UPDATE public.procrastinate_jobs SET status = 'succeeded' WHERE id = %s", [finished])
    text = _scrape()
    assert _value(text, "database_up") == 1
    assert _value(text, "queue_jobs_waiting", queue="metrics-probe") == 2  # the due one and `waiting`
    assert _value(text, "queue_jobs_scheduled", queue="metrics-probe") == 1
    assert _value(text, "queue_jobs_running", queue="metrics-probe") == 1
    # now() is the test transaction's start, a moment before `now`.
    assert 3590 <= _value(text, "queue_oldest_job_age_seconds", queue="metrics-probe") < 3700


def test_declared_queues_are_reported_when_empty(metrics_token):
    queues = {task.queue for task in job_app.tasks.values()}
    assert queues
    text = _scrape()
    for queue in queues:
        assert ("queue_jobs_waiting", queue) in {(s.name, s.labels.get("queue")) for s in _samples(text)}


def test_the_scrape_answers_while_the_database_cannot_be_reached(metrics_token):
    def unreachable(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(unreachable):
        text = _scrape()
    assert _value(text, "database_up") == 0
    assert "queue_jobs_waiting" not in text
    assert "http_requests_total" in text


def test_webhook_deliveries_are_counted_by_outcome(metrics_token):
    before = _value(_scrape(), "webhook_deliveries_total", outcome="delivered")
    WEBHOOK_DELIVERIES.labels(outcome="delivered").inc()
    assert _value(_scrape(), "webhook_deliveries_total", outcome="delivered") == before + 1


# The production server ---------------------------------------------------------------------

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "metrics-test-password"


@pytest.fixture(scope="module")
def cluster():
    cluster = ThrowawayCluster()
    cluster.start()
    env = app_env(DATABASE_URL=cluster.socket_url())
    manage("prepare_demo", "--students", "3", "--email", EMAIL, "--password", PASSWORD, env=env)
    yield cluster
    cluster.discard()


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics-run")
    env = app_env(
        DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="3", WEB_THREADS="2", JOB_WORKERS="0",
        METRICS_TOKEN=TOKEN, TMPDIR=str(tmp),
    )
    server = LiveServer(env).start()
    server.metrics_parent = tmp
    yield server
    server.terminate()


def _metrics_dir(server):
    (path,) = server.metrics_parent.glob("student-console-metrics-*")
    return path


def _route_count_by_process(server, route):
    """{pid: requests counted for `route`} from each process's own file."""
    counts = {}
    for path in _metrics_dir(server).glob("counter_*.db"):
        total = sum(
            sample.value
            for metric in MultiProcessCollector.merge([str(path)], accumulate=False)
            for sample in metric.samples
            if sample.name == "http_requests_total" and sample.labels.get("route") == route
        )
        if total:
            counts[path.stem.removeprefix("counter_")] = total
    return counts


def _live_scrape(server):
    reply = server.get("/metrics", host="localhost", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status == 200, reply.body
    return reply.body.decode()


@pytest.mark.service
def test_one_scrape_sums_the_requests_of_every_worker_and_job_process(cluster, server):
    token = server.token(host=HOST, email=EMAIL, password=PASSWORD)
    with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
        schema = db.execute("SELECT schema_name FROM public.tenants_tenant WHERE slug = 'demo'").fetchone()[0]
        user_id = db.execute(f'SELECT user_id FROM "{schema}".students_student LIMIT 1').fetchone()[0]
    path, headers = f"/v1/students/{user_id}", {"Authorization": f"Bearer {token}"}

    sent, failures = 0, []

    def client():
        for _ in range(20):
            reply = server.get(path, host=HOST, headers=headers)  # a new connection each time
            if reply.status != 200:
                failures.append(reply.status)

    while sent < 480 and len(_route_count_by_process(server, STUDENT_ROUTE)) < 2:
        threads = [threading.Thread(target=client) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        sent += 120
    assert failures == []
    by_process = _route_count_by_process(server, STUDENT_ROUTE)
    assert len(by_process) >= 2, f"one worker answered all {sent} requests: {by_process}"
    assert sum(by_process.values()) == sent

    # A job worker's counts (another process with the server's environment) are summed too.
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from config.metrics import WEBHOOK_DELIVERIES; "
         "WEBHOOK_DELIVERIES.labels(outcome='delivered').inc(3)"],
        cwd=BASE_DIR, check=True,
        env={**server.env, "PROMETHEUS_MULTIPROC_DIR": str(_metrics_dir(server))},
    )

    for _ in range(3):  # whichever worker answers the scrape
        text = _live_scrape(server)
        assert _value(text, "http_requests_total", route=STUDENT_ROUTE, method="GET", status="200") == sent
        assert _value(text, "http_request_database_seconds_count", route=STUDENT_ROUTE) == sent
        assert _value(text, "webhook_deliveries_total", outcome="delivered") == 3
        assert _value(text, "database_up") == 1
        assert _value(text, "queue_jobs_waiting", queue="default") >= 0
        assert user_id not in text and HOST not in text


@pytest.mark.service
def test_the_live_scrape_answers_while_the_database_is_stopped(cluster, server):
    cluster.stop()
    try:
        text = _live_scrape(server)
        assert _value(text, "database_up") == 0
        assert "queue_jobs_waiting" not in text
        assert "http_requests_total" in text
    finally:
        cluster.start()
    assert _value(_live_scrape(server), "database_up") == 1


@pytest.mark.service
def test_the_server_removes_its_metrics_directory_when_it_stops(cluster, tmp_path):
    env = app_env(DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="1", JOB_WORKERS="0", METRICS_TOKEN=TOKEN,
                  TMPDIR=str(tmp_path))
    server = LiveServer(env).start()
    try:
        assert len(list(tmp_path.glob("student-console-metrics-*"))) == 1
    finally:
        server.terminate()
    assert list(tmp_path.glob("student-console-metrics-*")) == []

