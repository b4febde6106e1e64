"""The connection keeps its tenant's search_path between requests (config/postgresql/base.py):
`SET search_path` is sent when a connection changes tenants, not again for another request of
the same tenant, and again after anything that may have undone it (a rollback, a new
connection)."""
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from students.models import Student
from testing.factories import StudentFactory


def _statements(action):
    with CaptureQueriesContext(connection) as queries:
        result = action()
    return result, [query["sql"] for query in queries.captured_queries]


def _names():
    return sorted(Student.objects.values_list("first_name", flat=True))


@pytest.fixture
def two_tenants(tenant, other_tenant):
    StudentFactory(first_name="Here")
    connection.set_tenant(other_tenant)
    StudentFactory(first_name="There")
    connection.set_tenant(tenant)
    _names()  # the connection on the tenant's path, as after a request
    return tenant, other_tenant


def test_another_request_of_the_same_tenant_sends_no_set(two_tenants):
    tenant, _ = two_tenants
    connection.set_schema_to_public()  # the host lookup, with no statement
    connection.set_tenant(tenant)
    names, statements = _statements(_names)
    assert names == ["Here"]
    assert not any(sql.startswith("SET search_path") for sql in statements)


def test_changing_tenants_sets_the_path_each_time(two_tenants):
    tenant, other = two_tenants
    for current, expected in ((other, ["There"]), (tenant, ["Here"]), (other, ["There"])):
        connection.set_tenant(current)
        names, statements = _statements(_names)
        assert names == expected
        assert statements[0].startswith("SET search_path")


def test_a_rollback_forgets_the_path(two_tenants):
    tenant, _ = two_tenants

    def rolled_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            connection.set_tenant(tenant)
            _names()
            raise RuntimeError("rolled back")

    _, statements = _statements(rolled_back)
    rollback = next(n for n, sql in enumerate(statements) if sql.startswith("ROLLBACK TO SAVEPOINT"))
    # The path may have been set inside what was rolled back: the next statement sets it again.
    assert statements[rollback + 1].startswith("SET search_path")
    connection.set_tenant(tenant)
    names, statements = _statements(_names)
    assert names == ["Here"] and len(statements) == 1
