"""The check of a kept connection before a request reuses it (config/postgresql/base.py
`is_usable`): no round trip while the connection is idle and healthy; a connection the server
ended is found broken and replaced. The restart of a real server is in test_service.py."""
import select
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connection

from config.postgresql.base import DatabaseWrapper


@pytest.fixture
def kept(tenant):
    """A second connection to the test database, as a request's would be between requests."""
    wrapper = DatabaseWrapper(dict(connection.settings_dict), alias=DEFAULT_DB_ALIAS)
    wrapper.set_tenant(tenant)
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _last_statement(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def test_an_idle_healthy_connection_is_usable_without_a_statement(kept):
    with kept.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = kept.connection.info.backend_pid
    assert kept.is_usable()
    assert _last_statement(pid) == "SELECT 'the last statement'"


def test_a_connection_the_server_ended_is_not_usable(kept):
    pid = kept.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while not select.select([kept.connection.pgconn.socket], [], [], 0.1)[0]:
        assert time.monotonic() < deadline, "the server did not end the connection"
    assert not kept.is_usable()
    kept.close()
    kept.ensure_connection()
    assert kept.is_usable() and kept.connection.info.backend_pid != pid


def test_outside_the_idle_state_the_server_is_asked(kept):
    kept.connection.execute("BEGIN")
    with kept.cursor() as cursor:
        cursor.execute("SELECT 'inside a transaction'")
    pid = kept.connection.info.backend_pid
    assert kept.is_usable()
    assert _last_statement(pid) == "SELECT 1"
    kept.connection.execute("ROLLBACK")
