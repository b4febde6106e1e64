"""`migrate_schemas` over every tenant: one query finds the schemas behind, only those are
migrated, and a schema that fails is named while the others go on. These tests commit (the
migrations run in worker processes) and drop the tenants they made."""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Tenant
from tenants.provisioning.migrating import applied_migrations, schemas_behind
from tenants.provisioning.services import tenant_create


@pytest.fixture
def three(committed_tenant):
    connection.set_schema_to_public()
    slugs = ["migtest_a", "migtest_b", "migtest_c"]
    for slug in slugs:
        tenant_create(slug=slug, name=slug, domain=f"{slug.replace('_', '-')}.localhost")
    try:
        yield slugs
    finally:
        connection.set_schema_to_public()
        for tenant in Tenant.objects.filter(slug__startswith="migtest_"):
            tenant.delete(force_drop=True)


def _forget(schema, app, name):
    """Remove a migration's record, so the schema is behind by that migration."""
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])


def _behind(schema):
    """Forget the shared `tenants` app's migrations after its first (their operations run in
    the public schema only): the schema is behind by migrations that apply cleanly, one of
    which adds a model."""
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name <> %s', ["tenants", "0001_initial"])


def _run(capsys):
    connection.set_schema_to_public()
    try:
        call_command("migrate_schemas", tenant=True)
        error = None
    except CommandError as exc:
        error = str(exc)
    connection.set_schema_to_public()
    out, err = capsys.readouterr()
    return out, err, error


def test_with_nothing_to_apply_no_schema_is_visited(three, capsys):
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as queries:
        out, err, error = _run(capsys)
    assert error is None and not err
    total = Tenant.objects.exclude(schema_name="public").count()
    assert f"{total} of {total} tenant schemas up to date" in out
    assert "0 to migrate" in out
    # the tenants' list, the tables that record migrations, and one UNION ALL over them
    assert len(queries) <= 4, [q["sql"][:120] for q in queries.captured_queries]


def test_only_the_schemas_behind_are_migrated_and_a_failure_is_named(three, capsys):
    a, b, c = three
    _behind(b)
    with connection.cursor() as cursor:  # and, as before it, without that model's content type
        where = "app_label = 'tenants' AND model = 'schematemplate'"
        cursor.execute(f'DELETE FROM "{b}".auth_permission WHERE content_type_id IN '
                       f'(SELECT id FROM "{b}".django_content_type WHERE {where})')
        cursor.execute(f'DELETE FROM "{b}".django_content_type WHERE {where}')
    # behind by one whose tables are there (and the one after it): adding them fails
    for name in ("0008_scim", "0009_data_rights"):
        _forget(c, "accounts", name)
    assert schemas_behind(three) == [b, c]

    out, err, error = _run(capsys)
    total = Tenant.objects.exclude(schema_name="public").count()
    assert f"{total - 2} of {total} tenant schemas up to date" in out and "2 to migrate" in out
    assert f"[{c}] FAILED:" in err and "already exists" in err
    assert error == f"1 tenant schema(s) failed to migrate: {c}"
    assert ("tenants", "0002_schema_template") in applied_migrations([b])[b]
    with connection.cursor() as cursor:  # a plan that adds a model sends the post-migrate signal
        cursor.execute(f'SELECT count(*) FROM "{b}".auth_permission p JOIN "{b}".django_content_type t '
                       "ON t.id = p.content_type_id WHERE t.model = 'schematemplate'")
        assert cursor.fetchone()[0] == 4  # add, change, delete, view
    assert ("accounts", "0008_scim") not in applied_migrations([c])[c]  # reported, not skipped
    assert schemas_behind(three) == [c]

    _run(capsys)  # run again: still failing, still named
    assert schemas_behind(three) == [c]


def test_the_applied_migrations_of_many_schemas_are_read_in_one_query(three):
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as queries:
        applied = applied_migrations(three + ["no_such_schema"])
    sql = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(sql) == 2 and sql[1].count("UNION ALL") == 2
    assert applied["no_such_schema"] == frozenset()
    assert applied[three[0]] == applied[three[1]] and ("students", "0001_initial") in applied[three[0]]


def test_a_tenant_made_during_the_run_by_the_release_before_is_migrated_too(three, capsys, monkeypatch):
    from tenants.management.commands import migrate_schemas as command

    real, made = command.migrate_schemas, []

    def migrate_while_a_tenant_is_made(schemas, **kwargs):
        if not made:  # as the release before would make it: from its own template, behind
            tenant_create(slug="migtest_new", name="New", domain="migtest-new.localhost")
            _behind("migtest_new")
            made.append("migtest_new")
        return real(schemas, **kwargs)

    monkeypatch.setattr(command, "migrate_schemas", migrate_while_a_tenant_is_made)
    _behind(three[0])
    out, err, error = _run(capsys)
    assert error is None and made
    assert schemas_behind([*three, "migtest_new"]) == []
    assert "Migrated 2 tenant schemas" in out
