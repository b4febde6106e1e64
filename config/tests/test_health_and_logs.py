"""Health checks, request ids and the access log, through the whole middleware stack."""
import json
import logging

import pytest
from django.db import connection

from config.observability import JsonFormatter, TextFormatter
from testing.clients import TenantAPIClient


@pytest.fixture
def public_client():
    return TenantAPIClient("localhost")


@pytest.mark.parametrize("host", ["test.localhost", "localhost", "nobody.localhost"])
@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz_answers_on_every_host_without_the_database(host, path, django_assert_num_queries):
    client = TenantAPIClient(host)
    with django_assert_num_queries(0):
        response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("host", ["test.localhost", "localhost", "nobody.localhost"])
def test_readyz_checks_the_database_and_public_migrations_in_one_query(host, django_assert_max_num_queries):
    client = TenantAPIClient(host)
    # The public schema's applied migrations (schema-qualified), and a SET search_path only
    # where the connection's schema changed since its last query.
    with django_assert_max_num_queries(2):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_503_while_a_public_migration_is_not_applied(public_client):
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM public.django_migrations WHERE app = 'tenants' AND name = '0001_initial'"
        )  # rolled back with the test
    response = public_client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "migrations": "1 not applied"}
    assert response["Retry-After"] == "5"


def test_health_endpoints_need_no_credentials_and_refuse_writes(public_client):
    assert public_client.get("/readyz/").status_code == 200
    # Only GET/HEAD are health checks; a POST falls through to the (public) site: no route.
    assert public_client.post("/healthz").status_code == 404


def test_every_response_carries_a_new_request_id(anon_client):
    first = anon_client.get("/v1/console/students")
    second = anon_client.get("/login/")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_client_request_id_is_kept(anon_client):
    response = anon_client.get("/v1/console/students", HTTP_X_REQUEST_ID="lb-7f3a:2026.11.25_0001")
    assert response["X-Request-ID"] == "lb-7f3a:2026.11.25_0001"


@pytest.mark.parametrize("sent", ["has space", "x" * 129, "semi;colon", "new\nline", "ünïcode"])
def test_an_insane_client_request_id_is_replaced(anon_client, sent):
    response = anon_client.get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert response["X-Request-ID"] != sent
    assert len(response["X-Request-ID"]) == 32


def _access_records(caplog):
    return [r for r in caplog.records if r.name == "console.access"]


def test_one_access_line_per_request_with_id_tenant_user_method_path_status_duration(
    caplog, operator_client, operator_user
):
    caplog.set_level(logging.INFO, logger="console.access")
    response = operator_client.get("/v1/console/students?search=zz", HTTP_X_REQUEST_ID="req-1")
    (record,) = _access_records(caplog)
    assert record.request_id == "req-1" == response["X-Request-ID"]
    assert (record.tenant, record.user, record.method, record.path, record.status) == (
        "test",
        operator_user.email,
        "GET",
        "/v1/console/students",
        200,
    )
    assert record.duration_ms >= 0


def test_console_pages_log_the_signed_in_user(caplog, host, viewer_user):
    client = TenantAPIClient(host)
    client.force_login(viewer_user)
    caplog.set_level(logging.INFO, logger="console.access")
    client.get("/students/")
    (record,) = _access_records(caplog)
    assert (record.user, record.status) == (viewer_user.email, 200)


def test_no_password_token_query_or_body_reaches_the_logs(caplog, anon_client, viewer_user, capsys):
    caplog.set_level(logging.DEBUG)
    viewer_user.set_password("s3cret-Passw0rd")
    viewer_user.save()
    issued = anon_client.post(
        "/v1/auth/token", {"email": viewer_user.email, "password": "s3cret-Passw0rd"}, format="json"
    ).json()["data"]["token"]
    anon_client.post("/v1/auth/token", {"email": viewer_user.email, "password": "wr0ng-Passw0rd"}, format="json")
    anon_client.get("/v1/console/students?search=private-term", HTTP_AUTHORIZATION=f"Bearer {issued}")
    anon_client.get("/v1/console/students", HTTP_AUTHORIZATION="Bearer not-a-real-token-value")
    formatted = "\n".join(TextFormatter().format(r) + JsonFormatter().format(r) for r in caplog.records)
    assert len(_access_records(caplog)) == 4
    for secret in ("s3cret-Passw0rd", "wr0ng-Passw0rd", issued, "not-a-real-token-value", "private-term"):
        assert secret not in formatted


def test_errors_are_logged_with_the_request_id_and_traceback(caplog, operator_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("console.students.apis.student_list_page", broken)
    caplog.set_level(logging.INFO)
    operator_client.raise_request_exception = False
    response = operator_client.get("/v1/console/students", HTTP_X_REQUEST_ID="req-err")
    assert response.status_code == 500
    assert response.json()["code"] == "SERVER_ERROR"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all(r.request_id == "req-err" for r in errors)
    assert any("RuntimeError: boom" in JsonFormatter().format(r) for r in errors)


def test_json_log_lines_are_one_object_each():
    record = logging.LogRecord("console.access", logging.INFO, __file__, 1, "%s %s %s", ("GET", "/x", 200), None)
    record.__dict__.update(tenant="test", user="a@b.c", method="GET", path="/x", status=200, duration_ms=1.5)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["logger"] == "console.access" and entry["status"] == 200 and entry["user"] == "a@b.c"
    assert entry["time"].endswith("Z")
