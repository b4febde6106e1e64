"""Webhooks (console.webhooks): the API for admins, the deliveries (signed per Standard
Webhooks, in order per endpoint, retried with backoff, disabled after a day of failures), the
delivery log and replays, and the refusal of private targets (SSRF).

These tests run in the test's rolled-back transaction: `number()` gives events their positions
as a commit would, and the queue's jobs run in this process (testing.jobs). A receiver runs in
a thread of this process on 127.0.0.1 (WEBHOOKS_ALLOW_PRIVATE is on in the test settings; the
SSRF tests turn it off). A real worker and receiver, each its own process: test_webhooks_live.py."""
import datetime as dt
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from accounts.events import types
from accounts.events.services import event_record
from accounts.models import AuditEvent
from config.errors import MSG_PERMISSION_DENIED
from config.metrics import WEBHOOK_DELIVERIES
from console.webhooks import delivery, selectors, services
from console.webhooks.models import WebhookDelivery, WebhookEndpoint
from testing.jobs import queued_jobs, run_jobs

API = "/v1/webhooks"


# Helpers -----------------------------------------------------------------------------------


def number():
    """Give the transaction's events their positions now, as its commit would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS event_position IMMEDIATE")
        cursor.execute("SET CONSTRAINTS event_position DEFERRED")


def write_events(n, *, students=("stu-a",), type=types.STUDENT_UPDATED, start=0):
    """n student.updated events (first_name counting up per student), numbered."""
    for i in range(start, start + n):
        student = students[i % len(students)]
        event_record(type=type, subject_type="student", subject_id=student, student_id=student,
                     data={"first_name": [f"n{i}", f"n{i + 1}"]})
    number()


class Receiver:
    """An HTTP receiver in a thread: records every request; answers `status` (or each of
    `statuses` in turn, then `status`)."""

    def __init__(self):
        self.requests = []
        self.status = 204
        self.statuses = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
                if receiver.delay:
                    time.sleep(receiver.delay)
                answer = b"thanks" if status != 204 else b""
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def events(self):
        return [json.loads(r["body"]) for r in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def endpoint_for(receiver, **fields):
    return services.endpoint_create(url=fields.pop("url", receiver.url), **fields)


def deliver(endpoint, **kwargs):
    return services.endpoint_deliver(endpoint_id=endpoint.pk, **kwargs)


def counted(outcome):
    return WEBHOOK_DELIVERIES.labels(outcome)._value.get()


# The API: who may use it --------------------------------------------------------------------


def test_admins_register_list_read_change_and_delete_endpoints(admin_client):
    created = admin_client.post(API, {"url": "https://hooks.example.com/sis", "description": "SIS",
                                      "event_types": ["student.archived", "student.updated"]}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()["data"]
    webhook_id = body["id"]
    assert created["Location"] == f"/v1/webhooks/{webhook_id}"
    assert body["secret"].startswith("whsec_") and body["secret_hint"] == f"whsec_…{body['secret'][-4:]}"
    assert body["event_types"] == ["student.archived", "student.updated"] and body["status"] == "enabled"

    listed = admin_client.get(API).json()
    assert [row["id"] for row in listed["data"]] == [webhook_id] and listed["total"] == 1
    read = admin_client.get(f"{API}/{webhook_id}").json()["data"]
    assert "secret" not in read and "secret" not in listed["data"][0]
    assert read["secret_hint"] == body["secret_hint"]

    changed = admin_client.patch(f"{API}/{webhook_id}", {"enabled": False, "event_types": []}, format="json")
    assert changed.status_code == 200
    data = changed.json()["data"]
    assert data["status"] == "disabled" and data["event_types"] == []
    assert data["disabled_reason"] == "Disabled by admin@uni.example."

    assert admin_client.delete(f"{API}/{webhook_id}").status_code == 200
    assert admin_client.get(f"{API}/{webhook_id}").status_code == 404
    actions = list(AuditEvent.objects.filter(target_type="webhook").order_by("id").values_list("action", flat=True))
    assert actions == ["webhook.create", "webhook.update", "webhook.delete"]


@pytest.mark.parametrize("client_name", ["operator_client", "viewer_client", "ingest_client"])
def test_staff_without_webhooks_can_manage_are_refused(request, client_name, admin_user):
    endpoint = services.endpoint_create(url="https://hooks.example.com/x")
    client = request.getfixturevalue(client_name)
    for response in (
        client.get(API),
        client.post(API, {"url": "https://hooks.example.com/y"}, format="json"),
        client.get(f"{API}/{endpoint.pk}"),
        client.patch(f"{API}/{endpoint.pk}", {"enabled": False}, format="json"),
        client.post(f"{API}/{endpoint.pk}/rotate-secret"),
        client.get(f"{API}/{endpoint.pk}/deliveries"),
        client.post(f"{API}/{endpoint.pk}/replay", {"since": "2026-01-01T00:00:00Z"}, format="json"),
        client.delete(f"{API}/{endpoint.pk}"),
    ):
        assert response.status_code == 403 and response.json()["message"] == MSG_PERMISSION_DENIED
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).enabled


def test_anonymous_callers_are_refused(anon_client):
    assert anon_client.get(API).status_code == 401


def test_another_tenants_endpoints_are_invisible(admin_client, other_tenant_client):
    endpoint = services.endpoint_create(url="https://hooks.example.com/ours")
    assert other_tenant_client.get(API).json()["data"] == []
    assert other_tenant_client.get(f"{API}/{endpoint.pk}").status_code == 404
    assert other_tenant_client.delete(f"{API}/{endpoint.pk}").status_code == 404
    assert admin_client.get(f"{API}/{endpoint.pk}").status_code == 200


# The API: what it refuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "url"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"url": "https://hooks.example.com/x#part"}, "url"),
        ({"url": "https://hooks.example.com:99999/x"}, "url"),
        ({"url": "https://[::1::2]/x"}, "url"),
        ({"url": " https://hooks.example.com/x"}, "url"),
        ({"url": "https://hooks.example.com/x", "event_types": ["student.exploded"]}, "event_types"),
        ({"url": "https://hooks.example.com/x", "enabled": "yes"}, "enabled"),
        ({"url": "https://hooks.example.com/x", "secret": "whsec_mine"}, "secret"),
        ({"url": "https://hooks.example.com/x", "description": "x" * 201}, "description"),
    ],
)
def test_bad_registrations_are_400s_naming_the_field(admin_client, body, field):
    response = admin_client.post(API, body, format="json")
    assert response.status_code == 400, response.json()
    assert [name.split(".")[0] for name in response.json()["errors"]] == [field]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x", "https://127.1/x", "https://2130706433/x", "https://10.1.2.3/x",
        "https://192.168.0.10/x", "https://172.16.0.1/x", "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/x", "https://100.64.0.1/x", "https://224.0.0.1/x", "https://[::1]/x",
        "https://[fe80::1]/x", "https://[fc00::1]/x", "https://[::ffff:127.0.0.1]/x", "https://[::ffff:10.0.0.1]/x",
        "https://[64:ff9b::a00:1]/x", "https://[::]/x", "https://localhost/x", "https://api.localhost/x",
    ],
)
def test_private_literal_addresses_are_refused_at_registration(admin_client, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = admin_client.post(API, {"url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"url": [services.MSG_URL_PRIVATE]}


def test_plain_http_is_refused_unless_private_targets_are_allowed(admin_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = admin_client.post(API, {"url": "http://hooks.example.com/x"}, format="json")
    assert response.json()["errors"] == {"url": [services.MSG_URL_NOT_HTTPS]}
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert admin_client.post(API, {"url": "http://127.0.0.1:9/x"}, format="json").status_code == 201


def test_public_addresses_are_accepted_when_private_ones_are_refused(admin_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    for url in ("https://hooks.example.com/x?tenant=1", "https://93.184.216.34:8443/", "https://[2606:4700::1111]/h"):
        assert admin_client.post(API, {"url": url}, format="json").status_code == 201, url


def test_malformed_ids_are_400s_and_unknown_ones_404s(admin_client):
    assert list(admin_client.get(f"{API}/-bad id").json()["errors"]) == ["webhook_id"]
    assert admin_client.get(f"{API}/000000000000000000000000").status_code == 404
    endpoint = services.endpoint_create(url="https://hooks.example.com/x")
    assert admin_client.post(f"{API}/{endpoint.pk}/deliveries/nope/replay").status_code == 404


def test_a_replay_range_must_not_end_before_it_starts(admin_client):
    endpoint = services.endpoint_create(url="https://hooks.example.com/x")
    response = admin_client.post(f"{API}/{endpoint.pk}/replay",
                                 {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"since": [services.MSG_REPLAY_SINCE_AFTER_UNTIL]}


def test_the_endpoint_list_costs_the_same_whatever_its_length(admin_client, django_assert_num_queries):
    for i in range(3):
        services.endpoint_create(url=f"https://hooks.example.com/{i}")
    admin_client.get(API)
    # The token (with user and roles), the count, the page.
    with django_assert_num_queries(3):
        assert len(admin_client.get(API).json()["data"]) == 3
    for i in range(5):
        services.endpoint_create(url=f"https://hooks.example.com/more{i}")
    with django_assert_num_queries(3):
        assert len(admin_client.get(API).json()["data"]) == 8


# Secrets ----------------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_never_audited(admin_client):
    created = admin_client.post(API, {"url": "https://hooks.example.com/x"}, format="json").json()["data"]
    secret = created["secret"]
    rotated = admin_client.post(f"{API}/{created['id']}/rotate-secret").json()["data"]
    assert rotated["secret"] != secret and rotated["previous_secret_signs_until"]
    assert "secret" not in admin_client.get(f"{API}/{created['id']}").json()["data"]
    audited = json.dumps(list(AuditEvent.objects.values("changes", "detail")))
    assert secret not in audited and rotated["secret"] not in audited
    assert secret[6:20] not in audited


def test_during_the_overlap_deliveries_carry_a_signature_for_each_secret(receiver):
    endpoint = endpoint_for(receiver)
    old = endpoint.secret
    services.endpoint_rotate_secret(endpoint_id=endpoint.pk)
    new = WebhookEndpoint.objects.get(pk=endpoint.pk).secret
    write_events(1)
    assert deliver(endpoint) == 1
    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(request["body"], request["headers"])["type"] == "student.updated"
    assert Webhook(new).verify(request["body"], request["headers"])["type"] == "student.updated"

    # After the overlap only the new secret signs.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_until=timezone.now() - dt.timedelta(seconds=1))
    write_events(1, start=1)
    assert deliver(endpoint) == 1
    request = receiver.requests[1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(request["body"], request["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request["body"], request["headers"])


# Delivering ---------------------------------------------------------------------------------


def test_events_committed_after_registration_are_delivered_in_order_signed_through_the_queue(receiver):
    write_events(2, start=100)  # before the endpoint: not its business
    endpoint = endpoint_for(receiver)
    write_events(9, students=("stu-a", "stu-b", "stu-c"))
    assert [name for _, name, _, _ in queued_jobs(services.DISPATCH_TASK)] == [services.DISPATCH_TASK]
    run_jobs(services.DISPATCH_TASK)
    [(_, _, args, _)] = queued_jobs(services.DELIVER_TASK)
    assert args == {"schema": connection.schema_name, "endpoint_id": endpoint.pk}
    before = counted("delivered")
    run_jobs(services.DELIVER_TASK)
    received = receiver.events()
    assert [e["data"]["first_name"][1] for e in received] == [f"n{i + 1}" for i in range(9)]
    positions = [int(e["position"]) for e in received]
    assert positions == sorted(positions)
    for request in receiver.requests:
        payload = Webhook(endpoint.secret).verify(request["body"], request["headers"])
        assert request["headers"]["webhook-id"] == payload["id"]
        assert request["headers"]["Content-Type"] == "application/json"
    endpoint.refresh_from_db()
    assert endpoint.cursor == positions[-1] and endpoint.last_delivered_at
    log = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("event_position"))
    assert [d.outcome for d in log] == ["delivered"] * 9 and {d.status_code for d in log} == {204}
    assert all(d.attempt == 1 and d.latency_ms is not None for d in log)
    assert counted("delivered") - before == 9


def test_only_the_endpoints_event_types_go_out_and_the_cursor_passes_the_rest(receiver):
    endpoint = endpoint_for(receiver, event_types=[types.STUDENT_ARCHIVED])
    write_events(3)
    event_record(type=types.STUDENT_ARCHIVED, subject_type="student", subject_id="stu-z", student_id="stu-z",
                 data={"archived": [False, True]})
    write_events(2, start=3)
    assert deliver(endpoint) == 1
    assert [e["type"] for e in receiver.events()] == ["student.archived"]
    endpoint.refresh_from_db()
    assert endpoint.cursor == selectors.last_position()


def test_a_failure_stops_the_endpoint_and_the_retry_resumes_from_the_same_event(receiver):
    endpoint = endpoint_for(receiver)
    write_events(4)
    receiver.statuses = [204, 500]
    assert deliver(endpoint) == 1
    endpoint.refresh_from_db()
    assert endpoint.failing_since and endpoint.failures == 1 and endpoint.last_error == "Answered 500."
    assert endpoint.next_attempt_at > timezone.now()
    [(_, _, args, scheduled_at)] = queued_jobs(services.WAKE_TASK)
    assert args["endpoint_id"] == endpoint.pk and scheduled_at == endpoint.next_attempt_at
    # Not due yet: a run now delivers nothing.
    assert deliver(endpoint) == 0 and len(receiver.requests) == 2
    # Due: the same event again (same webhook-id), then the rest, in order.
    assert deliver(endpoint, now=endpoint.next_attempt_at) == 3
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert ids[1] == ids[2] and len(set(ids)) == 4
    log = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("created_at", "id"))
    assert [(d.attempt, d.outcome) for d in log] == [(1, "delivered"), (1, "failed"), (2, "delivered"),
                                                     (1, "delivered"), (1, "delivered")]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.failures == 0 and endpoint.next_attempt_at is None


def test_retries_back_off_exponentially_with_jitter(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    for failures, ceiling in ((1, 10), (2, 20), (3, 40), (9, 2560), (12, 3600), (30, 3600)):
        delays = [services.retry_delay(failures) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_the_wake_up_queues_the_endpoints_locked_run(receiver):
    endpoint = endpoint_for(receiver)
    services.webhooks_wake(endpoint_id=endpoint.pk)
    [(job_id, _, args, _)] = queued_jobs(services.DELIVER_TASK)
    with connection.cursor() as cursor:
        cursor.execute("SELECT lock, queueing_lock FROM public.procrastinate_jobs WHERE id = %s", [job_id])
        lock, queueing_lock = cursor.fetchone()
    assert lock == f"webhook:{connection.schema_name}:{endpoint.pk}"
    assert queueing_lock == f"webhooks.deliver:{connection.schema_name}:{endpoint.pk}"
    services.webhooks_wake(endpoint_id=endpoint.pk)  # one waiting at most
    assert len(queued_jobs(services.DELIVER_TASK)) == 1


@pytest.mark.parametrize("status", [302, 301, 307, 404, 500, 503])
def test_redirects_are_not_followed_and_every_non_2xx_is_a_failure(receiver, status):
    endpoint = endpoint_for(receiver)
    write_events(1)
    receiver.status = status
    assert deliver(endpoint) == 0
    assert len(receiver.requests) == 1 and receiver.requests[0]["path"] == "/hooks"
    [attempt] = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert attempt.outcome == "failed" and attempt.status_code == status and attempt.response_excerpt == "thanks"


def test_a_receiver_too_slow_to_answer_is_a_failure(receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay = 1.5
    endpoint = endpoint_for(receiver)
    write_events(1)
    assert deliver(endpoint) == 0
    [attempt] = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert attempt.outcome == "failed" and attempt.error == delivery.MSG_TIMED_OUT.format(seconds=1)


def test_a_connection_refused_is_a_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = services.endpoint_create(url=f"http://127.0.0.1:{port}/x")
    write_events(1)
    assert deliver(endpoint) == 0
    [attempt] = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert attempt.outcome == "failed" and "ConnectionRefused" in attempt.error and attempt.status_code is None


def test_an_endpoint_failing_for_the_window_is_disabled_and_its_admins_told(receiver, console_as, admin_user,
                                                                            operator_user, settings,
                                                                            django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 3600
    endpoint = endpoint_for(receiver)
    write_events(2)
    receiver.status = 500
    start = timezone.now()
    deliver(endpoint, now=start)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == start and endpoint.enabled
    # Retries never go past the window's end: the last one is at its end.
    later = start + dt.timedelta(hours=23, minutes=59)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(next_attempt_at=later)
    deliver(endpoint, now=later)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.next_attempt_at == start + dt.timedelta(hours=24)
    deliver(endpoint, now=endpoint.next_attempt_at)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_by_failures
    assert endpoint.disabled_reason == "Disabled after failing for 24 hours; the last attempt: Answered 500."
    assert AuditEvent.objects.filter(action="webhook.disable", target_id=endpoint.pk).exists()
    assert endpoint.cursor == 0 or endpoint.cursor < selectors.last_position()  # what waits stays waiting
    # A disabled endpoint gets nothing.
    assert deliver(endpoint) == 0
    selectors.forget_notice()
    page = console_as(admin_user).get("/students/").content.decode()
    assert "Webhook deliveries stopped" in page and endpoint.url in page
    assert "Webhook deliveries stopped" not in console_as(operator_user).get("/students/").content.decode()
    # Enabled again, it delivers what waited, from where it stopped.
    receiver.status = 204
    with django_capture_on_commit_callbacks(execute=True):
        services.endpoint_update(endpoint_id=endpoint.pk, enabled=True)
    run_jobs(services.DELIVER_TASK)
    assert [e["data"]["first_name"][1] for e in receiver.events()][-2:] == ["n1", "n2"]
    assert "Webhook deliveries stopped" not in console_as(admin_user).get("/students/").content.decode()


def test_the_notice_costs_one_query_when_cold_and_none_once_cached(console_as, admin_user, operator_user,
                                                                  django_assert_num_queries):
    client = console_as(admin_user)
    client.get("/cohorts/")  # warm the session
    selectors.forget_notice()
    # Session, staff user with roles (one statement); the cohorts (as test_cohorts_page pins
    # it); the disabled endpoints, once.
    with django_assert_num_queries(4):
        client.get("/cohorts/")
    with django_assert_num_queries(3):
        client.get("/cohorts/")
    selectors.forget_notice()
    operator = console_as(operator_user)
    operator.get("/cohorts/")
    with django_assert_num_queries(3):  # not an admin: never read
        operator.get("/cohorts/")


def test_the_dispatcher_skips_disabled_endpoints_and_those_waiting_for_a_retry(receiver):
    due = endpoint_for(receiver)
    off = endpoint_for(receiver, enabled=False)
    waiting = endpoint_for(receiver)
    WebhookEndpoint.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    write_events(1)
    assert services.webhooks_dispatch() == 1
    assert [args["endpoint_id"] for _, _, args, _ in queued_jobs(services.DELIVER_TASK)] == [due.pk]
    assert off.pk and waiting.pk


def test_the_dispatcher_waits_for_transactions_in_progress_when_it_started(django_db_blocker):
    """A transaction on another connection, with an id (it wrote), is waited for until it ends;
    one that outlasts the bound is given up on."""
    import psycopg
    from django.conf import settings as django_settings

    db = django_settings.DATABASES["default"]
    params = {"dbname": connection.settings_dict["NAME"], "user": db["USER"], "password": db.get("PASSWORD") or None,
              "host": db.get("HOST") or None, "port": db.get("PORT") or None}
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as other:
        other.execute("SELECT pg_current_xact_id()")  # the transaction has an id, as a writer's
        committer = threading.Timer(0.4, other.commit)
        committer.start()
        started = time.monotonic()
        assert services.wait_for_transactions_in_progress(timeout=5)
        assert 0.35 <= time.monotonic() - started < 4
        committer.join()
        other.execute("SELECT pg_current_xact_id()")
        started = time.monotonic()
        assert not services.wait_for_transactions_in_progress(timeout=0.3)
        assert time.monotonic() - started < 2
        other.rollback()


def test_a_run_reads_events_in_batches_and_flushes_the_log(receiver, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 7)
    monkeypatch.setattr(services, "FLUSH_EVERY", 3)
    endpoint = endpoint_for(receiver)
    write_events(20, students=("a", "b"))
    assert deliver(endpoint) == 20
    assert WebhookDelivery.objects.filter(endpoint=endpoint, outcome="delivered").count() == 20
    assert [e["data"]["first_name"][1] for e in receiver.events()] == [f"n{i + 1}" for i in range(20)]


# The delivery log and replays -------------------------------------------------------------


def test_the_log_lists_each_attempt_and_a_delivery_can_be_replayed(admin_client, receiver):
    endpoint = endpoint_for(receiver)
    write_events(2)
    deliver(endpoint)
    log = admin_client.get(f"{API}/{endpoint.pk}/deliveries").json()
    assert log["total"] == 2
    newest = log["data"][0]
    assert set(newest) == {"id", "event_id", "event_type", "event_position", "attempt", "replay", "status_code",
                           "latency_ms", "response_excerpt", "outcome", "error", "created_at"}
    assert newest["outcome"] == "delivered" and newest["status_code"] == 204 and newest["attempt"] == 1
    replayed = admin_client.post(f"{API}/{endpoint.pk}/deliveries/{newest['id']}/replay")
    assert replayed.status_code == 202 and replayed.json()["data"] == {"events": 1}
    [(job_id, _, _, _)] = queued_jobs(services.REPLAY_TASK)
    with connection.cursor() as cursor:
        cursor.execute("SELECT lock FROM public.procrastinate_jobs WHERE id = %s", [job_id])
        assert cursor.fetchone()[0] == services.endpoint_lock(endpoint.pk)  # never beside the endpoint's run
    run_jobs(services.REPLAY_TASK)
    assert receiver.requests[-1]["headers"]["webhook-id"] == newest["event_id"]
    again = admin_client.get(f"{API}/{endpoint.pk}/deliveries").json()["data"][0]
    assert again["replay"] is True and again["attempt"] == 2 and again["event_id"] == newest["event_id"]
    failed_only = admin_client.get(f"{API}/{endpoint.pk}/deliveries", {"outcome": "failed"}).json()
    assert failed_only["total"] == 0
    assert AuditEvent.objects.filter(action="webhook.replay", target_id=endpoint.pk).count() == 1
    endpoint.refresh_from_db()
    assert endpoint.cursor == selectors.last_position()  # a replay does not move the endpoint's own progress


def test_a_time_range_is_replayed_in_order(admin_client, receiver):
    endpoint = endpoint_for(receiver, event_types=[types.STUDENT_UPDATED])
    write_events(5, students=("a", "b"))
    deliver(endpoint)
    since = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    response = admin_client.post(f"{API}/{endpoint.pk}/replay", {"since": since}, format="json")
    assert response.status_code == 202 and response.json()["data"] == {"events": 5}
    run_jobs(services.REPLAY_TASK)
    assert [r["headers"]["webhook-id"] for r in receiver.requests[5:]] == [
        r["headers"]["webhook-id"] for r in receiver.requests[:5]
    ]
    long_ago = {"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"}
    response = admin_client.post(f"{API}/{endpoint.pk}/replay", long_ago, format="json")
    assert response.json()["data"] == {"events": 0}


def test_a_failing_replay_is_retried_later_from_where_it_stopped(receiver):
    endpoint = endpoint_for(receiver)
    write_events(3)
    deliver(endpoint)
    receiver.statuses = [204, 503]
    services.endpoint_replay_range(endpoint=endpoint, since=timezone.now() - dt.timedelta(minutes=5))
    run_jobs(services.REPLAY_TASK)
    [(_, _, args, _)] = queued_jobs(services.WAKE_TASK)
    assert args["replay"]["failures"] == 1 and args["replay"]["after"] > 0
    run_jobs(services.WAKE_TASK)
    run_jobs(services.REPLAY_TASK)
    replayed = [r["headers"]["webhook-id"] for r in receiver.requests[3:]]
    firsts = [r["headers"]["webhook-id"] for r in receiver.requests[:3]]
    assert replayed == [firsts[0], firsts[1], firsts[1], firsts[2]]


def test_a_disabled_endpoint_is_not_replayed_to(admin_client, receiver):
    endpoint = endpoint_for(receiver)
    write_events(1)
    deliver(endpoint)
    services.endpoint_update(endpoint_id=endpoint.pk, enabled=False)
    response = admin_client.post(f"{API}/{endpoint.pk}/replay", {"since": "2026-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 409 and response.json()["message"] == services.MSG_REPLAY_ENDPOINT_DISABLED


# SSRF: checked when connecting -----------------------------------------------------------------


@pytest.mark.parametrize(
    "address, forbidden",
    [
        ("127.0.0.1", True), ("10.0.0.1", True), ("172.31.255.255", True), ("192.168.1.1", True),
        ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.251", True),
        ("255.255.255.255", True), ("192.0.2.1", True), ("::1", True), ("::", True), ("fe80::1", True),
        ("fc00::1", True), ("ff02::1", True), ("::ffff:127.0.0.1", True), ("::ffff:169.254.169.254", True),
        ("64:ff9b::7f00:1", True), ("2002:7f00:1::", True), ("2001:db8::1", True),
        ("93.184.216.34", False), ("8.8.8.8", False), ("2606:4700:4700::1111", False), ("::ffff:8.8.8.8", False),
    ],
)
def test_private_and_reserved_addresses_are_forbidden(address, forbidden):
    import ipaddress

    assert delivery.forbidden_address(ipaddress.ip_address(address)) is forbidden


def _resolving(monkeypatch, name, address):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == name:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(delivery.socket, "getaddrinfo", getaddrinfo)


def test_a_name_resolving_to_a_private_address_is_refused_when_connecting(monkeypatch, settings, receiver):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    endpoint = services.endpoint_create(url=f"https://hooks.example.com:{receiver.port}/hooks")  # passes registration
    _resolving(monkeypatch, "hooks.example.com", "127.0.0.1")
    write_events(1)
    before = counted("refused")
    assert deliver(endpoint) == 0
    assert receiver.requests == []  # never connected
    [attempt] = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert attempt.outcome == "refused" and attempt.status_code is None
    assert attempt.error == delivery.MSG_PRIVATE_ADDRESS.format(host="hooks.example.com", address="127.0.0.1")
    assert counted("refused") - before == 1
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None  # retried like any failure, and disabled after the window


@pytest.mark.parametrize("url", ["https://localhost:{port}/", "https://[::1]:{port}/", "https://127.0.0.1:{port}/",
                                 "https://[::ffff:127.0.0.1]:{port}/"])
def test_loopback_targets_are_refused_before_any_connection(receiver, url):
    with delivery.Sender(url.format(port=receiver.port), timeout=2, allow_private=False) as sender:
        result = sender.send(msg_id="msg_1", body=b"{}", secrets=[services.new_secret()])
    assert result.outcome == "refused" and "private or reserved" in result.error
    assert receiver.requests == []


def test_plain_http_is_refused_when_private_targets_are_not_allowed(receiver):
    with delivery.Sender(receiver.url, timeout=2, allow_private=False) as sender:
        result = sender.send(msg_id="msg_1", body=b"{}", secrets=[services.new_secret()])
    assert result.outcome == "refused" and result.error == delivery.MSG_PLAIN_HTTP


def test_the_checked_address_is_connected_to_with_the_original_host_header(monkeypatch, receiver):
    _resolving(monkeypatch, "hooks.example.test", "127.0.0.1")
    with delivery.Sender(f"http://hooks.example.test:{receiver.port}/in?x=1", timeout=2, allow_private=True) as sender:
        result = sender.send(msg_id="msg_1", body=b"{}", secrets=[services.new_secret()])
    assert result.delivered
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.example.test:{receiver.port}"
    assert receiver.requests[0]["path"] == "/in?x=1"


def test_one_connection_serves_a_run_and_a_closed_one_is_reopened(receiver):
    with delivery.Sender(receiver.url, timeout=2, allow_private=True) as sender:
        secret = services.new_secret()
        assert sender.send(msg_id="a", body=b"{}", secrets=[secret]).delivered
        first = sender.connection.sock
        assert sender.send(msg_id="b", body=b"{}", secrets=[secret]).delivered
        assert sender.connection.sock is first
        first.close()  # as if the receiver had dropped the idle connection
        sender.connection.sock = None
        assert sender.send(msg_id="c", body=b"{}", secrets=[secret]).delivered
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == ["a", "b", "c"]
