"""A transaction PostgreSQL undoes because it met another (a deadlock here, really made by two
connections locking two rows in opposite orders) is a 409 to try again, in the envelope on
/v1/ and as a page elsewhere: neither the 503 of a database outage nor a 500."""
import json
import threading

import pytest
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory
from rest_framework.request import Request

from config.errors import MSG_WRITE_COLLISION, api_exception_handler, database_unavailable, write_collision
from config.health import server_error
from students.models import Cohort
from testing.factories import CohortFactory


@pytest.fixture
def deadlock(committed_tenant):
    """The OperationalError PostgreSQL gave the transaction it chose to undo."""
    first, second = CohortFactory(name="First"), CohortFactory(name="Second")
    barrier = threading.Barrier(2)
    errors = []

    def lock(order):
        try:
            connection.set_tenant(committed_tenant)
            with transaction.atomic():
                Cohort.objects.select_for_update().get(pk=order[0].pk)
                barrier.wait(timeout=30)
                Cohort.objects.select_for_update().get(pk=order[1].pk)
        except OperationalError as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=lock, args=(order,)) for order in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(errors) == 1
    return errors[0]


def test_a_deadlock_is_a_write_collision_not_an_outage(deadlock):
    assert write_collision(deadlock)
    assert not database_unavailable(deadlock)


def test_the_api_answers_409_in_the_envelope(deadlock):
    request = Request(RequestFactory().post("/v1/cohorts"))
    response = api_exception_handler(deadlock, {"request": request, "view": None})
    assert response.status_code == 409
    assert response.data == {
        "success": False, "data": None, "message": MSG_WRITE_COLLISION, "code": "CONFLICT", "errors": None,
    }


@pytest.mark.parametrize("path", ["/v1/cohorts", "/cohorts/"])
def test_an_unhandled_collision_is_a_409_too(deadlock, path):
    try:
        raise deadlock
    except OperationalError:
        response = server_error(RequestFactory().post(path))
    assert response.status_code == 409
    if path.startswith("/v1/"):
        assert json.loads(response.content)["code"] == "CONFLICT"
    else:
        assert b"Someone changed the same records at the same moment" in response.content
