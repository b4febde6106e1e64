"""A tenant's schema made from the template is the schema migrations make; it is made in the
same transaction as the tenant's rows; the template follows the migrations on disk. These
tests commit (pg_dump reads on a connection of its own) and drop what they made."""
import re
import secrets

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from tenants.models import Domain, SchemaTemplate, Tenant
from tenants.provisioning import schemas, services
from tenants.provisioning.migrating import schemas_behind
from testing.concurrency import race, raised


@pytest.fixture
def made(committed_tenant):
    """Names of schemas a test makes; dropped afterwards with any tenant slugged schematest…"""
    connection.set_schema_to_public()
    names = []
    try:
        yield names
    finally:
        connection.set_schema_to_public()
        for tenant in Tenant.objects.filter(slug__startswith="schematest"):
            tenant.delete(force_drop=True)
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _dump(name):
    """pg_dump's text for a schema with its name taken out. A server that stamps each column
    with options of its own (pg_attver) gives every new column a new value: those lines go."""
    text = schemas.dump_schema(name)
    text = re.sub(rf'"?\b{name}\b"?', "SCHEMA", text)
    text = re.sub(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[.\d]*\+00'", "WHEN", text)  # migrations' applied times
    # The order migrations were applied in (and so their record ids) may differ between
    # two runs of the same plan: a migration record is compared by app, name and nothing else.
    text = re.sub(r"(?m)^\t\(\d+, ('[^']*', '[^']*'), WHEN\)[,;]$", r"\t(\1)", text)
    return sorted(line for line in text.splitlines() if line.strip() and "pg_attver" not in line)


def _name():
    return "schematest_" + secrets.token_hex(4)


def test_a_schema_from_the_template_is_the_one_migrations_make(made):
    migrated, copied, from_template = _name(), _name(), _name()
    made += [migrated, copied, from_template]
    schemas._migrate_new(migrated)
    # PostgreSQL writes some expressions differently once read back (an IN list in an index's
    # WHERE, on PostgreSQL 15), so the migrated schema is compared after one trip through
    # pg_dump, as the template itself has made.
    sql = schemas.dump_schema(migrated).replace(migrated, copied)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL check_function_bodies = false;\n" + sql)
    schemas.schema_create(from_template)
    assert _dump(from_template) == _dump(copied)
    assert schemas_behind([migrated, from_template]) == []
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{from_template}".accounts_role')
        assert cursor.fetchone()[0] > 0  # the rows migrations create came along


def test_a_template_is_kept_per_set_of_migrations(made, monkeypatch):
    schemas.template_sql("x")
    (kept,) = SchemaTemplate.objects.values_list("key", flat=True)
    assert kept == schemas.migrations_key()
    schemas.forget_template()
    monkeypatch.setattr(schemas, "migrations_key", lambda: "0" * 64)  # as if a migration landed
    try:
        name = _name()
        made.append(name)
        schemas.schema_create(name)
        # the release before keeps its template: both run side by side during a rollout
        assert set(SchemaTemplate.objects.values_list("key", flat=True)) == {kept, "0" * 64}
    finally:
        SchemaTemplate.objects.all().delete()
        monkeypatch.undo()
        schemas.forget_template()


def test_without_a_template_inside_a_transaction_the_schema_is_migrated(made, monkeypatch):
    schemas.forget_template()
    monkeypatch.setattr(schemas, "migrations_key", lambda: "1" * 64)  # no template for these
    name = _name()
    made.append(name)
    try:
        with transaction.atomic():
            assert schemas.template_sql(name) is None
            schemas.schema_create(name)
        assert schemas_behind([name]) == []
        assert not SchemaTemplate.objects.filter(key="1" * 64).exists()
    finally:
        monkeypatch.undo()
        schemas.forget_template()


def test_a_tenant_is_made_whole_or_not_at_all(made, monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("the domain could not be saved")

    monkeypatch.setattr(Domain.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        services.tenant_create(slug="schematest_whole", name="W", domain="schematest-whole.localhost")
    assert not Tenant.objects.filter(slug="schematest_whole").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'schematest_whole'")
        assert cursor.fetchone() is None


@pytest.mark.parametrize(
    "values, field",
    [
        ({"slug": "template_x"}, "slug"),
        ({"slug": "spare_x"}, "slug"),
        ({"slug": "Bad"}, "slug"),
        ({"domain": "not a host"}, "domain"),
        ({"domain": "UPPER.localhost"}, "domain"),
        ({"name": "  "}, "name"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ],
)
def test_a_tenant_s_values_are_checked_before_anything_is_made(db, values, field):
    connection.set_schema_to_public()
    good = {"slug": "schematest_v", "name": "V", "domain": "schematest-v.localhost", "time_zone": "UTC"}
    with pytest.raises(ValidationError) as caught:
        services.tenant_validate(**{**good, **values})
    assert list(caught.value.message_dict) == [field]


def test_tenants_made_at_once_with_one_slug_or_one_domain_give_one_tenant_each(made, tenant):
    schemas.template_sql("x")  # the template exists, as after any first creation
    same_slug = [lambda n=n: services.tenant_create(slug="schematest_race", name=f"R{n}", domain=f"schematest-r{n}.localhost")
                 for n in range(4)]
    same_domain = [lambda n=n: services.tenant_create(slug=f"schematest_d{n}", name="D", domain="schematest-d.localhost")
                   for n in range(4)]
    results = race(tenant, same_slug + same_domain)
    connection.set_schema_to_public()
    for group, field in ((results[:4], "slug"), (results[4:], "domain")):
        assert sum(isinstance(r, Tenant) for r in group) == 1, group
        assert all(list(r.message_dict) == [field] for r in raised(group)), group
    assert Tenant.objects.filter(slug__startswith="schematest_").count() == 2
    with connection.cursor() as cursor:  # the losers' schemas went with their transactions
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'schematest\\_%'")
        assert cursor.fetchone()[0] == 2
