"""A connection's session settings (config.postgresql): JIT compilation off on every new
connection, except behind a transaction pooler, where a SET would stay on whichever server
connection it reached."""
import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _setting(wrapper, name):
    with wrapper.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def _server_default(name):
    """The setting as a connection that sets nothing sees it."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as raw:
        row = raw.execute(f"SHOW {name}").fetchone()
        assert row is not None
        return row[0]


def _new_connection(**settings):
    wrapper = connection.copy()
    wrapper.settings_dict.update(settings)
    return wrapper


def test_a_new_connection_runs_without_jit():
    if _server_default("jit") != "on":
        pytest.skip("this server has JIT off already: nothing to see")
    wrapper = _new_connection()
    try:
        assert _setting(wrapper, "jit") == "off"
    finally:
        wrapper.close()


def test_behind_a_transaction_pooler_the_server_keeps_its_own_setting():
    wrapper = _new_connection(POOL_MODE="transaction")
    try:
        assert _setting(wrapper, "jit") == _server_default("jit")
    finally:
        wrapper.close()
