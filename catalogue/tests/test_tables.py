"""The catalogue's tables carry its own names (catalogue 0002), and the SQL functions of the
apps above it, whose bodies name tables as text, name the tables that exist, as do the indexes
Django looks up by name: after migrating forward, and after migrating back before the rename."""
import re
import secrets
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalogue.models import CaseStudy, Programme

CATALOGUE_ORDERED = ["catalogue_programme", "catalogue_casestudy", "catalogue_casestudy_programmes"]
OLD_ORDERED = ["students_programme", "attempts_casestudy", "attempts_casestudy_programmes"]
CATALOGUE_TABLES = set(CATALOGUE_ORDERED)
OLD_TABLES = set(OLD_ORDERED)
BEFORE_THE_RENAME = [("catalogue", "0001_initial")]

# A project table or function is named after its app: <app label>_<name>.
_ROOT = Path(__file__).resolve().parents[2]
_PROJECT_APPS = sorted(c.label for c in apps.get_app_configs() if Path(c.path).parent == _ROOT)
_PROJECT_NAME = re.compile(r"\b(?:" + "|".join(_PROJECT_APPS) + r")_[a-z0-9_]+\b")


def _relations(schema):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = %s", [schema]
        )
        return {row[0] for row in cursor.fetchall()}


def _like_indexes(schema):
    """The pattern-matching indexes of text columns in the schema: {(table, name)}."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = %s AND indexname LIKE '%%\\_like'", [schema]
        )
        return set(cursor.fetchall())


def _like_indexes_django_derives(tables):
    """The names Django gives (and later looks up) the `_like` indexes of the catalogue's text
    columns, under these table names (programme, case study, case study programmes)."""
    columns = ["code", "case_study_id", "casestudy_id"]
    editor = connection.schema_editor()
    return {(table, editor._create_index_name(table, [column], suffix="_like")) for table, column in zip(tables, columns, strict=True)}


def _columns(schema):
    """The names of the columns of the schema's tables (`attempts_used` looks like a table's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = %s AND a.attnum > 0",
            [schema],
        )
        return {row[0] for row in cursor.fetchall()}


def _unknown_names_in_functions(schema):
    """Project names in the bodies of the schema's functions that name neither a relation,
    nor a column of one, nor a function of the schema: {function: names}."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE nspname = %s",
            [schema],
        )
        functions = cursor.fetchall()
    known = _relations(schema) | _columns(schema) | {name for name, _ in functions}
    unknown = {name: set(_PROJECT_NAME.findall(body)) - known for name, body in functions}
    return {name: names for name, names in unknown.items() if names}


def _fire_the_triggers(schema, programme, case_study, case_study_programmes):
    """Write each table so that every trigger on it runs its function (which fails if its body
    names a table that is not there)."""
    connection.set_schema(schema, include_public=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {programme} (code, name, is_active, created_at, updated_at) "
                "VALUES ('TRG', 'Trigger', true, now(), now()) RETURNING id"
            )
            [programme_id] = cursor.fetchone()
            cursor.execute(f"UPDATE {programme} SET name = 'Renamed' WHERE id = %s", [programme_id])
            cursor.execute(
                f"INSERT INTO {case_study} (case_study_id, title, is_active, max_attempts, grading_method, created_at, "
                "updated_at) VALUES ('trg', 'Trigger', true, 2, 'highest', now(), now())"
            )
            cursor.execute(
                f"INSERT INTO {case_study_programmes} (casestudy_id, programme_id) VALUES ('trg', %s)", [programme_id]
            )
            cursor.execute(f"UPDATE {case_study} SET is_active = false WHERE case_study_id = 'trg'")
            cursor.execute(f"DELETE FROM {case_study_programmes}")
            cursor.execute(f"DELETE FROM {case_study}")
            cursor.execute(f"DELETE FROM {programme}")
    finally:
        connection.set_schema_to_public()


def test_the_catalogue_models_use_the_catalogue_tables():
    tables = {Programme._meta.db_table, CaseStudy._meta.db_table, CaseStudy.programmes.through._meta.db_table}
    assert tables == CATALOGUE_TABLES


def test_every_function_of_a_tenant_schema_names_tables_that_exist(tenant):
    assert _relations(tenant.schema_name) >= CATALOGUE_TABLES
    assert _relations(tenant.schema_name) & OLD_TABLES == set()
    assert _unknown_names_in_functions(tenant.schema_name) == {}


def test_the_like_indexes_have_the_names_django_looks_them_up_by(tenant):
    assert _like_indexes_django_derives(CATALOGUE_ORDERED) <= _like_indexes(tenant.schema_name)


@pytest.fixture
def scratch_schema(committed_tenant):
    """A schema of its own with every tenant migration applied (real commits), dropped after."""
    name = f"scratch_{secrets.token_hex(4)}"
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
    try:
        call_command("migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=0)
        yield name
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{name}" CASCADE')


def _migrate(schema, targets):
    connection.set_schema(schema, include_public=False)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(targets or executor.loader.graph.leaf_nodes())
    finally:
        connection.set_schema_to_public()


def test_the_rename_migrates_back_and_forward_with_the_functions(scratch_schema):
    assert _relations(scratch_schema) >= CATALOGUE_TABLES

    _migrate(scratch_schema, BEFORE_THE_RENAME)
    assert _relations(scratch_schema) >= OLD_TABLES
    assert _relations(scratch_schema) & CATALOGUE_TABLES == set()
    assert _unknown_names_in_functions(scratch_schema) == {}
    assert _like_indexes_django_derives(OLD_ORDERED) <= _like_indexes(scratch_schema)
    _fire_the_triggers(scratch_schema, *OLD_ORDERED)

    _migrate(scratch_schema, None)
    assert _relations(scratch_schema) >= CATALOGUE_TABLES
    assert _relations(scratch_schema) & OLD_TABLES == set()
    assert _unknown_names_in_functions(scratch_schema) == {}
    assert _like_indexes_django_derives(CATALOGUE_ORDERED) <= _like_indexes(scratch_schema)
    _fire_the_triggers(scratch_schema, *CATALOGUE_ORDERED)
