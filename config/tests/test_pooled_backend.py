"""The backend's transaction-pooling mode (config/postgresql) on a real connection, and the
replica routing rules (config/replicas.py) that need no replica. PgBouncer itself, a real
replica and several app servers are in test_scale_out.py (`make scale-test`)."""
import psycopg
import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection
from django.test import RequestFactory

from config import replicas
from config.bulk_copy import copy_out
from config.database import parse_database_url
from config.postgresql.base import DatabaseWrapper
from students.models import Student
from testing.factories import StudentFactory


@pytest.fixture
def pooled(tenant):
    """A second connection to the test database in transaction-pooling mode, in the tenant."""
    wrapper = DatabaseWrapper({**connection.settings_dict, "POOL_MODE": "transaction"}, alias=DEFAULT_DB_ALIAS)  # a second connection, as a pooler client
    wrapper.set_tenant(tenant)
    yield wrapper
    wrapper.close()


def _search_path(wrapper):
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT (current_schemas(false))[1]")  # the first schema names are looked up in
        return cursor.fetchone()[0]


def test_the_pool_mode_comes_from_the_environment(monkeypatch):
    assert parse_database_url("postgresql://db/console")["POOL_MODE"] == "session"
    monkeypatch.setenv("DATABASE_POOL_MODE", "transaction")
    assert parse_database_url("postgresql://db/console")["POOL_MODE"] == "transaction"
    monkeypatch.setenv("DATABASE_POOL_MODE", "statement")
    with pytest.raises(Exception, match="DATABASE_POOL_MODE"):
        parse_database_url("postgresql://db/console")


def test_every_statement_carries_its_tenant_even_when_the_server_connection_has_another(pooled, tenant):
    assert _search_path(pooled) == tenant.schema_name
    # What a pooler hands over: a server connection whose session still has another tenant's path.
    pooled.connection.execute("SET search_path = public")
    assert _search_path(pooled) == tenant.schema_name


def test_results_row_counts_and_parameters_are_the_statements_own(pooled, committed_tenant):
    StudentFactory.create_batch(3, first_name="Pooled")
    with pooled.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM students_student WHERE first_name = %s AND %s LIKE '100%%'", ["Pooled", "100%"])
        assert cursor.fetchone() == (3,)
        cursor.execute("UPDATE students_student SET last_name = last_name WHERE first_name = %s", ["Pooled"])
        assert cursor.rowcount == 3
    assert pooled.schema_name == committed_tenant.schema_name


def test_iterators_stream_inside_a_transaction_and_fall_back_outside_one(pooled, committed_tenant):
    StudentFactory.create_batch(5)
    pooled.ensure_connection()
    pooled.set_autocommit(False)  # a transaction, as transaction.atomic() opens one
    try:
        pooled.connection.execute("SET LOCAL search_path = public")  # as a pooled connection might be
        with pooled.chunked_cursor() as cursor:  # a server-side cursor, path set inside the transaction
            assert isinstance(cursor.cursor, psycopg.ServerCursor)
            cursor.execute("SELECT user_id FROM students_student")
            assert len(cursor.fetchall()) == 5
    finally:
        pooled.rollback()
        pooled.set_autocommit(True)
    assert pooled.get_autocommit()
    with pooled.chunked_cursor() as cursor:  # autocommit: a WITH HOLD cursor would outlive its transaction
        assert not isinstance(cursor.cursor, psycopg.ServerCursor)
        cursor.execute("SELECT count(*) FROM students_student")
        assert cursor.fetchone() == (5,)


def test_copy_and_executemany_refuse_to_run_outside_a_transaction(pooled):
    with pooled.cursor() as cursor, pytest.raises(RuntimeError, match="transaction.atomic"):
        cursor.cursor.copy("COPY students_student (user_id) FROM STDIN")


def test_copy_out_reads_the_tenant_even_when_the_server_connection_has_another_path(pooled, committed_tenant):
    """The list's downloads stream COPY's output: inside their transaction the path is set first."""
    StudentFactory.create_batch(4, first_name="Copied")
    pooled.ensure_connection()
    pooled.set_autocommit(False)  # a transaction, as transaction.atomic() opens one
    try:
        pooled.connection.execute("SET LOCAL search_path = public")  # as a pooled connection might be
        rows = copy_out(pooled, "SELECT first_name FROM students_student WHERE first_name = %s", ["Copied"],
                        options="FORMAT csv")
        assert [bytes(row) for row in rows] == [b"Copied\n"] * 4
    finally:
        pooled.rollback()
        pooled.set_autocommit(True)
    with pytest.raises(RuntimeError, match="transaction.atomic"):  # autocommit: the path could not hold
        list(copy_out(pooled, "SELECT 1", [], options="FORMAT csv"))


def test_session_mode_is_django_tenants_unchanged(tenant):
    wrapper = DatabaseWrapper({**connection.settings_dict, "POOL_MODE": "session"}, alias=DEFAULT_DB_ALIAS)
    wrapper.set_tenant(tenant)
    try:
        assert _search_path(wrapper) == tenant.schema_name
        wrapper.connection.execute("SET search_path = public")
        # django-tenants sets the path once per connection and tenant: the session's state wins.
        assert _search_path(wrapper) == "public"
    finally:
        wrapper.close()


# Routing rules that need no replica --------------------------------------------------------


def _get(user=None, method="get"):
    request = getattr(RequestFactory(), method)("/")
    if user is not None:
        request.user = user
    return request


def test_without_replicas_every_read_goes_to_the_primary(operator_user):
    assert replicas.read_alias() is None  # outside a lag-tolerant block the router says nothing
    with replicas.lag_tolerant_reads(_get(operator_user)):
        assert replicas.read_alias() == DEFAULT_DB_ALIAS
        assert Student.objects.all().db == DEFAULT_DB_ALIAS
    assert replicas.read_alias() is None


def test_writes_and_migrations_never_go_to_a_replica():
    router = replicas.ReplicaRouter()
    assert router.db_for_write(Student) == DEFAULT_DB_ALIAS
    assert router.allow_migrate("replica_1", "students") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "students") is None  # django-tenants decides


def test_an_unsafe_method_never_opens_a_lag_tolerant_block(operator_user):
    with replicas.lag_tolerant_reads(_get(operator_user, "post")):
        assert replicas.read_alias() is None


def test_a_write_is_remembered_for_the_window_only_where_replicas_exist(operator_user, monkeypatch, settings):
    cache.clear()
    replicas.remember_write(operator_user)
    assert cache.get(replicas._wrote_key(operator_user)) is None  # no replica: nothing to remember
    monkeypatch.setattr(replicas, "replica_aliases", lambda: ["replica_1"])
    settings.READ_YOUR_WRITES_SECONDS = 30
    replicas.remember_write(operator_user)
    assert cache.get(replicas._wrote_key(operator_user)) == 1
    # The writer's lag-tolerant reads now stay on the primary.
    with replicas.lag_tolerant_reads(_get(operator_user)):
        assert replicas.read_alias() == DEFAULT_DB_ALIAS
    cache.clear()
