"""Backing a tenant up, restoring it, and purging a deleted one (see tenants.backups)."""
import contextlib
import logging
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from tenants.backups.archive import (
    NAME,
    POST_DATA,
    PRE_DATA,
    Archive,
    ArchiveError,
    own_connection,
    quote,
    schema_columns,
    sha256_of,
    table_checksums,
    write_archive,
)
from tenants.jobs import tenant_jobs_forget
from tenants.models import Domain, PurgedTenant, Tenant
from tenants.provisioning.migrating import migrate_schemas, migration_graph, schemas_behind
from tenants.provisioning.schemas import pg_dump, statements
from tenants.provisioning.services import DOMAIN_RE, tenant_validate

log = logging.getLogger("tenants.backups")
# Restores of one slug take turns (pg_advisory_lock(key, hashtext(slug))).
_RESTORE_LOCK = 7_261_125


def tenant_backup(tenant, out_path, *, with_exports=False):
    """Write `tenant` to the archive `out_path` (a new file). Returns its manifest. Reads on
    connections of its own, so the caller's schema does not matter."""
    if tenant.schema_name == "public":
        raise ValidationError({"tenant": "The platform's own schema is not a tenant's data."})
    return write_archive(tenant, out_path, with_exports=with_exports)


def moved(name, old, new):
    """A storage name `<folder>/<old>/…` under `new`."""
    folder, schema, rest = name.split("/", 2)
    return f"{folder}/{new}/{rest}" if schema == old else name


def _definition(archive, schema):
    """(pre-data, post-data) of the archive's schema, named `schema`. Under another name, they
    are loaded into a scratch database where PostgreSQL renames the schema, and dumped again."""
    old = archive.manifest["tenant"]["schema"]
    if old == schema:
        return archive.text(PRE_DATA), archive.text(POST_DATA)
    scratch = "tenant_restore_" + secrets.token_hex(6)
    with own_connection(autocommit=True) as admin:
        extensions = admin.execute(
            "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname <> 'plpgsql'"
        ).fetchall()
        admin.execute(f"CREATE DATABASE {quote(scratch)} TEMPLATE template0")
    try:
        with own_connection(dbname=scratch, autocommit=True) as conn:
            for extension, namespace in extensions:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(namespace)}")
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {quote(extension)} SCHEMA {quote(namespace)}")
            with conn.transaction():
                conn.execute("SET LOCAL check_function_bodies = false")
                conn.execute(archive.text(PRE_DATA).encode())
                conn.execute(archive.text(POST_DATA).encode())
                conn.execute(f"ALTER SCHEMA {quote(old)} RENAME TO {quote(schema)}")
        return tuple(
            statements(pg_dump("--schema", schema, "--section", section, dbname=scratch))
            for section in ("pre-data", "post-data")
        )
    finally:
        with own_connection(autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {quote(scratch)} WITH (FORCE)")


def _check_restorable(archive, *, slug, name, domains):
    manifest = archive.manifest
    tenant_validate(slug=slug, name=name, domain=domains[0], time_zone=manifest["tenant"]["time_zone"])
    errors = {}
    for domain in domains[1:]:
        if not DOMAIN_RE.match(domain) or Domain.objects.filter(domain=domain).exists() or domains.count(domain) > 1:
            errors["domain"] = [f"The domain {domain!r} is malformed, repeated or already in use."]
    newer = {tuple(m) for m in manifest["migrations"]} - set(migration_graph().disk_migrations)
    if newer:
        app, migration = sorted(newer)[0]
        errors["archive"] = [
            f"It was made by a newer release: its schema has migrations this one lacks ({app}.{migration} "
            f"and {len(newer) - 1} more). Restore it with that release or a later one."
        ]
    if errors:
        raise ValidationError(errors)


def _put_files(archive, old, new):
    """Copy the archive's files into the storage under the new schema's name; their names."""
    written = []
    try:
        for info in archive.tar:  # in archive order: one pass
            if not info.name.startswith("files/"):
                continue
            name = moved(info.name.removeprefix("files/"), old, new)
            if default_storage.exists(name):
                default_storage.delete(name)
            with archive.open(info.name) as source:
                saved = default_storage.save(name, File(source))
            written.append(saved)
            if saved != name:
                raise ArchiveError(f"The storage saved {name} as {saved}.")
    except BaseException:
        _delete_files(written)
        raise
    return written


def _delete_files(names):
    for name in names:
        default_storage.delete(name)


def _load_rows(cursor, archive, schema):
    manifest = archive.manifest
    for table, spec in manifest["tables"].items():
        columns = ", ".join(quote(c) for c in spec["columns"])
        with archive.table_data(table) as source, cursor.copy(
            f"COPY {quote(schema)}.{quote(table)} ({columns}) FROM STDIN"
        ) as copy:
            for block in iter(lambda: source.read(1 << 20), b""):
                copy.write(block)
    for sequence, (value, called) in manifest["sequences"].items():
        cursor.execute("SELECT setval(%s::regclass, %s, %s)", [f"{quote(schema)}.{quote(sequence)}", value, called])
    found = table_checksums(cursor, schema, manifest["tables"])
    differ = sorted(t for t, spec in manifest["tables"].items() if found[t] != [spec["rows"], spec["checksum"]])
    if differ:
        raise ArchiveError(f"Rows restored differ from the manifest's counts or checksums in: {', '.join(differ)}.")


def _rename_schema_columns(cursor, archive, old, new):
    """Columns holding the schema's name (a model's SCHEMA_COLUMNS) name the new one."""
    tables = archive.manifest["tables"]
    for table, column, kind in schema_columns():
        if column not in tables.get(table, {}).get("columns", ()):
            continue  # an archive from before that column: its migration fills it
        target, col = f"{quote(new)}.{quote(table)}", quote(column)
        if kind == NAME:
            cursor.execute(f"UPDATE {target} SET {col} = %s WHERE {col} = %s", [new, old])
        else:
            cursor.execute(
                f"UPDATE {target} SET {col} = split_part({col}, '/', 1) || '/' || %s || '/' "
                f"|| substr({col}, length(split_part({col}, '/', 1)) + length(%s) + 3) "
                f"WHERE split_part({col}, '/', 2) = %s",
                [new, old, old],
            )


def tenant_restore(path, *, slug, domains=(), name=None):
    """Make the tenant archived in `path` again, as `slug` (its schema) on `domains` (default:
    the archive's own), at the current migrations. Returns (tenant, manifest). The schema, its
    rows, the tenant and its domains are made in one transaction, after every table's count
    and checksum has matched the manifest; the files are copied first and removed again if
    that transaction fails."""
    archive = Archive(path)
    try:
        archive.verify()
        manifest = archive.manifest
        domains = list(domains) or list(manifest["tenant"]["domains"])
        name = name or manifest["tenant"]["name"]
        connection.set_schema_to_public()
        with _slug_lock(slug):
            tenant = _restore_locked(archive, slug=slug, name=name, domains=domains)
    finally:
        archive.close()
    connection.set_schema_to_public()
    if schemas_behind([slug]):  # an archive from an older release
        for outcome in migrate_schemas([slug], processes=1):
            if outcome.error:
                raise ArchiveError(f"Restored as {slug}, but migrating it failed: {outcome.error}")
    return tenant, manifest


@contextlib.contextmanager
def _slug_lock(slug):
    """Restores of one slug, one at a time, from their checks on: the second finds the slug
    taken, and never removes the files the first copied (they have the same names)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [_RESTORE_LOCK, slug])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [_RESTORE_LOCK, slug])


def _restore_locked(archive, *, slug, name, domains):
    manifest = archive.manifest
    old = manifest["tenant"]["schema"]
    _check_restorable(archive, slug=slug, name=name, domains=domains)  # no other restore of this slug runs now
    pre_data, post_data = _definition(archive, slug)
    files = _put_files(archive, old, slug)
    try:
        with transaction.atomic():
            with connection.cursor() as wrapper:
                cursor = wrapper.cursor  # psycopg's own, for COPY
                cursor.execute("SET LOCAL check_function_bodies = false")
                cursor.execute(pre_data.encode())
                _load_rows(cursor, archive, slug)
                _rename_schema_columns(cursor, archive, old, slug)
                cursor.execute(post_data.encode())
                cursor.execute("SET LOCAL check_function_bodies TO DEFAULT")
            tenant = Tenant(schema_name=slug, slug=slug, name=name, time_zone=manifest["tenant"]["time_zone"])
            tenant.auto_create_schema = False
            tenant.save(verbosity=0)
            Domain.objects.bulk_create(
                [Domain(domain=d, tenant=tenant, is_primary=i == 0) for i, d in enumerate(domains)]
            )
    except BaseException:
        _delete_files(files)
        raise
    return tenant


def final_backup_path(tenant, now):
    folder = Path(settings.TENANT_BACKUP_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{tenant.slug}-final-{now:%Y%m%dT%H%M%SZ}.tar"


def storage_files(prefix):
    """Every file under `prefix` in the default storage."""
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    found = [f"{prefix}/{f}" for f in files]
    for folder in folders:
        found += storage_files(f"{prefix}/{folder}")
    return found


def tenant_purge(tenant, *, now=None, early=False):
    """Purge a deleted tenant whose retention has run out by `now` (with `early`, whatever is
    left of it): a final backup (exports included) into TENANT_BACKUP_DIR, then its schema,
    rows, domains and files go, and a PurgedTenant row records it. Returns that row."""
    now = now or timezone.now()
    if tenant.delete_after is None:
        raise ValidationError({"tenant": f"{tenant.slug} is not deleted (tenant_delete first)."})
    if tenant.delete_after > now and not early:
        raise ValidationError({"tenant": f"{tenant.slug} is kept until {tenant.delete_after:%Y-%m-%d %H:%M} UTC."})
    path = final_backup_path(tenant, timezone.now())
    manifest = tenant_backup(tenant, path, with_exports=True)
    folders = {"avatars", "exports", "imports"} | {name.split("/", 1)[0] for name in manifest["files"]}
    with transaction.atomic():
        record = PurgedTenant.objects.create(
            slug=tenant.slug, name=tenant.name, schema_name=tenant.schema_name,
            domains=manifest["tenant"]["domains"], deletion_reason=tenant.deletion_reason,
            delete_requested_at=tenant.delete_requested_at, backup_path=str(path),
            backup_sha256=sha256_of(path), rows={t: spec["rows"] for t, spec in manifest["tables"].items()},
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {quote(tenant.schema_name)} CASCADE")
        Domain.objects.filter(tenant=tenant).delete()
        Tenant.objects.filter(pk=tenant.pk).delete()
        tenant_jobs_forget(tenant.schema_name)
    for folder in sorted(folders):
        _delete_files(storage_files(f"{folder}/{tenant.schema_name}"))
    log.warning("tenant %s purged; its final backup is %s", tenant.slug, path)
    return record


def tenants_purge_due(*, now=None):
    """Purge every tenant whose retention after deletion has run out. Returns the PurgedTenant
    rows; a tenant that fails is logged and left for the next run."""
    now = now or timezone.now()
    purged = []
    for tenant in Tenant.objects.filter(delete_after__lte=now).exclude(schema_name="public").order_by("delete_after"):
        try:
            purged.append(tenant_purge(tenant, now=now))
        except Exception:
            log.exception("purging tenant %s failed; it is tried again at the next run", tenant.slug)
    return purged
