"""A write that a read-only server refuses (SQLSTATE 25006) is an outage of the moment, as
during a failover when a connection reaches a standby not yet promoted or a primary being
demoted: 503 with Retry-After (the envelope on /v1/, the console's page elsewhere), never a
500. The refusals here are PostgreSQL's own, in a transaction set read-only."""
import json

import pytest
from django.db import InternalError, connection, transaction
from django.test import RequestFactory
from rest_framework.request import Request

from config.errors import (
    MSG_SERVICE_UNAVAILABLE,
    READ_ONLY_SQL_TRANSACTION,
    api_exception_handler,
    database_unavailable,
)
from config.health import server_error
from students.models import Cohort


@pytest.fixture
def read_only_refusal():
    """The error PostgreSQL gives a write in a read-only transaction (undone with its savepoint)."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL transaction_read_only = on")
            Cohort.objects.create(name="Refused")
    except InternalError as exc:
        return exc
    raise AssertionError("the write was not refused")


def test_a_read_only_refusal_counts_as_the_database_unavailable(read_only_refusal):
    assert read_only_refusal.__cause__.sqlstate == READ_ONLY_SQL_TRANSACTION
    assert database_unavailable(read_only_refusal)


def test_the_api_answers_503_with_retry_after(read_only_refusal):
    request = Request(RequestFactory().post("/v1/cohorts"))
    response = api_exception_handler(read_only_refusal, {"request": request, "view": None})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data["code"] == "SERVICE_UNAVAILABLE"
    assert response.data["message"] == MSG_SERVICE_UNAVAILABLE


@pytest.mark.parametrize("path", ["/v1/cohorts", "/cohorts/"])
def test_an_unhandled_refusal_is_a_503_too(read_only_refusal, path):
    try:
        raise read_only_refusal
    except InternalError:
        response = server_error(RequestFactory().post(path))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    if path.startswith("/v1/"):
        assert json.loads(response.content)["code"] == "SERVICE_UNAVAILABLE"


class _Undo(Exception):
    pass


def test_a_write_through_the_api_on_a_read_only_server_answers_503(admin_client):
    # Read-only in a savepoint of the test's transaction, undone before the test ends (its
    # teardown checks deferred constraints, which a read-only transaction would refuse).
    with pytest.raises(_Undo), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL transaction_read_only = on")
        response = admin_client.post("/v1/cohorts", {"name": "Class of 2031"}, format="json")
        raise _Undo
    assert not Cohort.objects.filter(name="Class of 2031").exists()
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"
