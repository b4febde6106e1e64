"""The hot reads compiled once (config.compiled) run as prepared statements in session mode
(config.postgresql's PreparingCursor): parsed and planned once per connection, then executed
with each call's values. A statement prepared in one tenant reads the next tenant's tables once
the connection is on that tenant's path (PostgreSQL parses it again when search_path changes).
Behind a transaction pooler nothing is prepared."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.compiled import Slot, compiled_once, prepared_statements
from students.models import Student
from testing.factories import StudentFactory

PROBE = "SELECT %s::int + 1 AS prepared_probe"


@compiled_once(maxsize=1)
def _last_names():
    return Student.objects.filter(first_name=Slot("first")).order_by("pk").values_list("last_name", flat=False)


def _prepared(wrapper, fragment):
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{fragment}%"])
        return cursor.fetchone()[0]


@pytest.fixture
def two_tenants(tenant, other_tenant):
    StudentFactory(first_name="Same", last_name="Here")
    connection.set_tenant(other_tenant)
    StudentFactory(first_name="Same", last_name="There")
    connection.set_tenant(tenant)
    return tenant, other_tenant


def test_a_compiled_read_is_prepared_once_and_reads_each_tenants_own_rows(two_tenants):
    tenant, other = two_tenants
    for current, expected in ((tenant, "Here"), (other, "There"), (tenant, "Here"), (other, "There")):
        connection.set_tenant(current)
        assert _last_names()(first="Same") == [(expected,)]
    assert _last_names()(first="Nobody") == []
    # One statement, with its value as a parameter, served every call in both tenants; the
    # SET search_path sent before it on each change of tenant is not kept.
    assert _prepared(connection, '"students_student"."first_name" = $1') == 1
    assert _prepared(connection, "search_path") == 0


def test_a_prepared_statement_is_logged_with_its_values_in_place(two_tenants):
    with CaptureQueriesContext(connection) as queries:
        _last_names()(first="Same")
    [sql] = [query["sql"] for query in queries.captured_queries if not query["sql"].startswith("SET ")]
    assert "\"first_name\" = 'Same'" in sql and "$1" not in sql


def _probe(wrapper):
    with prepared_statements(wrapper), wrapper.cursor() as cursor:
        cursor.execute(PROBE, [41])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("pool_mode, prepared", [("session", 1), ("transaction", 0)])
def test_only_a_session_mode_connection_prepares(pool_mode, prepared):
    wrapper = connection.copy()
    wrapper.settings_dict["POOL_MODE"] = pool_mode
    try:
        assert _probe(wrapper) == 42 and _probe(wrapper) == 42
        assert _prepared(wrapper, "prepared_probe") == prepared
        with wrapper.cursor() as cursor:  # outside the block: as before, bound by the client
            cursor.execute(PROBE.replace("probe", "unprepared"), [1])
        assert _prepared(wrapper, "prepared_unprepared") == 0
    finally:
        wrapper.close()
