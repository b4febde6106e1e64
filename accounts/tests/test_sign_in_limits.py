"""Guessing is slow: failed sign-ins are limited per account and per client address over a
sliding window, on the token endpoint and the HTML login alike, and a client cannot reset its
budget by sending X-Forwarded-For."""
import logging

import pytest

from accounts.models import SignInFailures
from accounts.signin import services
from accounts.signin.services import MSG_BAD_CREDENTIALS
from console.auth.forms import MSG_INVALID_LOGIN
from testing.clients import TenantAPIClient

PASSWORD = "correct horse battery"
TOKEN = "/v1/auth/token"


@pytest.fixture
def limits(settings):
    settings.SIGN_IN_FAILURES_PER_ACCOUNT = 3
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 5
    settings.SIGN_IN_WINDOW_SECONDS = 900
    settings.TRUSTED_PROXY_COUNT = 0
    return settings


def _token(client, email, password, **headers):
    return client.post(TOKEN, {"email": email, "password": password}, format="json", **headers)


def test_token_endpoint_locks_an_account_after_its_failures_even_for_the_right_password(anon_client, viewer_user, limits):
    for _ in range(3):
        assert _token(anon_client, "viewer@uni.example", "wrong").status_code == 401
    response = _token(anon_client, "viewer@uni.example", PASSWORD)
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "RATE_LIMITED" and body["success"] is False
    assert body["message"].startswith("Too many failed sign-ins. Try again in ")
    assert 1 <= int(response["Retry-After"]) <= 900


# The window slides: 900 seconds before any moment, never a clock-aligned quarter hour.
BOUNDARY = 2_000_000 * 900.0  # a multiple of the window: where a fixed window would start


class Clock:
    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(BOUNDARY)
    monkeypatch.setattr(services, "time", clock)
    return clock


def _at(clock, moment, client, email, password):
    clock.now = moment
    return _token(client, email, password)


def test_failures_on_both_sides_of_a_clock_aligned_boundary_count_together(anon_client, viewer_user, limits, clock):
    # Budget 3: two failures just before the boundary, one just after, and the account is
    # refused, as any 900 seconds may hold only 3 failures.
    for moment in (BOUNDARY - 2, BOUNDARY - 1, BOUNDARY + 1):
        assert _at(clock, moment, anon_client, "viewer@uni.example", "wrong").status_code == 401
    response = _at(clock, BOUNDARY + 2, anon_client, "viewer@uni.example", PASSWORD)
    assert response.status_code == 429
    # Open again when the oldest of the three (BOUNDARY - 2) is 900 seconds old.
    assert int(response["Retry-After"]) == 896
    response = _at(clock, BOUNDARY + 897, anon_client, "viewer@uni.example", "wrong")
    assert response.status_code == 429 and int(response["Retry-After"]) == 1
    assert _at(clock, BOUNDARY + 898, anon_client, "viewer@uni.example", PASSWORD).status_code == 201


def test_the_address_limit_slides_too(anon_client, viewer_user, limits, clock):
    # Budget 5 per address: four accounts before the boundary, one after.
    for n, moment in enumerate((BOUNDARY - 40, BOUNDARY - 30, BOUNDARY - 20, BOUNDARY - 10, BOUNDARY + 10)):
        assert _at(clock, moment, anon_client, f"guess{n}@uni.example", "wrong").status_code == 401
    response = _at(clock, BOUNDARY + 20, anon_client, "viewer@uni.example", PASSWORD)
    assert response.status_code == 429 and int(response["Retry-After"]) == 900 - 40 - 20
    assert _at(clock, BOUNDARY + 860, anon_client, "viewer@uni.example", PASSWORD).status_code == 201


def test_a_failure_older_than_the_window_no_longer_counts(anon_client, viewer_user, limits, clock):
    start = BOUNDARY + 100
    for moment in (start, start + 10, start + 20):
        _at(clock, moment, anon_client, "viewer@uni.example", "wrong")
    response = _at(clock, start + 899, anon_client, "viewer@uni.example", PASSWORD)
    assert response.status_code == 429 and int(response["Retry-After"]) == 1
    # At start + 900 the first failure is out: two count, and one more fills the budget again,
    # until the second is out.
    assert _at(clock, start + 900, anon_client, "viewer@uni.example", "wrong").status_code == 401
    response = _at(clock, start + 900, anon_client, "viewer@uni.example", PASSWORD)
    assert response.status_code == 429 and int(response["Retry-After"]) == 10
    assert _at(clock, start + 910, anon_client, "viewer@uni.example", PASSWORD).status_code == 201


def test_failures_out_of_every_window_are_deleted_by_the_next_failure(anon_client, viewer_user, limits, clock):
    for moment in (BOUNDARY, BOUNDARY + 1):
        _at(clock, moment, anon_client, "viewer@uni.example", "wrong")
    assert SignInFailures.objects.count() == 4  # the account's and the address's
    _at(clock, BOUNDARY + 900, anon_client, "someone@uni.example", "wrong")
    assert sorted(SignInFailures.objects.values_list("failed_at", flat=True)) == [
        services._moment(BOUNDARY + 1)] * 2 + [services._moment(BOUNDARY + 900)] * 2


def test_a_new_x_forwarded_for_does_not_buy_a_new_budget(anon_client, viewer_user, limits):
    for n in range(3):
        _token(anon_client, "viewer@uni.example", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert _token(anon_client, "viewer@uni.example", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
    # Nor does it for the address limit: other accounts from the same connection run out too.
    for n in range(2):
        _token(anon_client, f"someone{n}@uni.example", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert _token(anon_client, "admin@uni.example", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(anon_client, viewer_user, limits):
    limits.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        _token(anon_client, f"guess{n}@uni.example", "wrong", HTTP_X_FORWARDED_FOR=f"spoofed, 203.0.113.{n % 2}")
    # 203.0.113.0 has 3 failures, 203.0.113.1 two: neither has reached 5.
    assert _token(anon_client, "other@uni.example", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 401
    assert SignInFailures.objects.filter(key="address:203.0.113.0").count() == 3


def test_unknown_accounts_answer_and_lock_exactly_like_real_ones(anon_client, viewer_user, limits):
    unknown = [_token(anon_client, "nobody@uni.example", "wrong") for _ in range(4)]
    known = [TenantAPIClient(anon_client.defaults["HTTP_HOST"], REMOTE_ADDR="192.0.2.9") for _ in range(1)][0]
    real = [_token(known, "viewer@uni.example", "wrong") for _ in range(4)]
    assert [r.status_code for r in unknown] == [r.status_code for r in real] == [401, 401, 401, 429]
    assert unknown[0].json() == real[0].json() == {
        "success": False, "data": None, "message": MSG_BAD_CREDENTIALS, "code": "UNAUTHENTICATED", "errors": None,
    }


def test_the_account_is_the_normalised_email(anon_client, viewer_user, limits):
    for email in ("viewer@uni.example", " VIEWER@uni.example", "Viewer@Uni.Example "):
        _token(anon_client, email, "wrong")
    assert _token(anon_client, "viewer@uni.example", PASSWORD).status_code == 429


def test_a_success_is_not_counted_and_other_accounts_keep_their_budget(anon_client, viewer_user, operator_user, limits):
    for _ in range(2):
        _token(anon_client, "viewer@uni.example", "wrong")
    assert _token(anon_client, "viewer@uni.example", PASSWORD).status_code == 201
    assert _token(anon_client, "operator@uni.example", PASSWORD).status_code == 201


def test_html_login_shares_the_limit_and_says_so_on_the_form(host, viewer_user, limits):
    client = TenantAPIClient(host)
    for _ in range(2):
        response = client.post("/login/", {"username": "viewer@uni.example", "password": "wrong"})
        assert response.status_code == 200
        assert MSG_INVALID_LOGIN in response.content.decode()
    _token(client, "viewer@uni.example", "wrong")  # the API and the form count together
    response = client.post("/login/", {"username": "viewer@uni.example", "password": PASSWORD})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 900
    html = response.content.decode()
    minutes = -(-int(response["Retry-After"]) // 60)
    assert f"Too many failed sign-ins. Try again in {minutes} minute" in html
    assert "_auth_user_id" not in client.session


def test_html_login_of_an_unknown_account_says_the_same_as_a_wrong_password(host, viewer_user, limits):
    client = TenantAPIClient(host)
    unknown = client.post("/login/", {"username": "nobody@uni.example", "password": "wrong"})
    wrong = client.post("/login/", {"username": "viewer@uni.example", "password": "wrong"})
    assert unknown.context["form"].non_field_errors() == wrong.context["form"].non_field_errors() == [MSG_INVALID_LOGIN]


def test_failed_sign_ins_are_logged_with_the_request_id(anon_client, viewer_user, limits, caplog):
    with caplog.at_level(logging.WARNING, logger="console.signin"):
        response = _token(anon_client, "viewer@uni.example", "wrong")
    [record] = [r for r in caplog.records if r.name == "console.signin"]
    assert "sign-in failed" in record.getMessage() and "127.0.0.1" in record.getMessage()
    assert record.request_id == response["X-Request-ID"]
    assert "wrong" not in record.getMessage() and "viewer@uni.example" not in record.getMessage()


def test_failures_are_committed_where_every_app_process_reads_them(committed_tenant, limits):
    """The counts are rows in the tenant's schema, written outside any request transaction:
    a failed request still leaves its failure behind for the next process to read."""
    from django.db import connection

    from testing.factories import StaffUserFactory
    from testing.tenancy import TEST_TENANT

    StaffUserFactory(email="shared@uni.example")
    client = TenantAPIClient(TEST_TENANT["domain"])
    assert _token(client, "shared@uni.example", "wrong").status_code == 401
    connection.close()  # a fresh connection, as another process would have
    connection.set_tenant(committed_tenant)
    assert SignInFailures.objects.filter(key__startswith="account:").count() == 1
