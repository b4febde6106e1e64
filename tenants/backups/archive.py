"""Writing and reading a tenant archive (the format is in tenants.backups)."""
import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from django.apps import apps
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from psycopg import sql

from tenants.provisioning.schemas import pg_dump, statements

FORMAT = "tenant-archive/1"
MANIFEST = "manifest.json"
PRE_DATA, POST_DATA = "pre-data.sql", "post-data.sql"
# Settings that decide how a row reads as text, so its checksum is the same on any server.
ROW_TEXT_SETTINGS = (
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "
    "SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'"
)
# A model's SCHEMA_COLUMNS says which of its columns hold its schema's name: "name" (the name
# itself), "file" (a storage name `<folder>/<schema>/…`, its file archived), "optional file"
# (the same, archived only when asked for).
NAME, FILE, OPTIONAL_FILE = "name", "file", "optional file"


class ArchiveError(Exception):
    """The archive cannot be read, or does not hold what its manifest says."""


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def schema_columns():
    """[(table, column, kind)] of every tenant model's SCHEMA_COLUMNS."""
    found = []
    for model in apps.get_models():
        for field_name, kind in getattr(model, "SCHEMA_COLUMNS", {}).items():
            found.append((model._meta.db_table, model._meta.get_field(field_name).column, kind))
    return sorted(found)


def own_connection(**overrides):
    """A psycopg connection of its own to this database (or another on its server)."""
    params = {
        key: value for key, value in connection.get_connection_params().items()
        if key not in ("context", "cursor_factory", "prepare_threshold")
    }
    return psycopg.connect(**{**params, **overrides})


def table_checksums(cursor, schema, tables):
    """{table: [rows, checksum]}: the count and md5 of the sorted md5s of the rows' text."""
    cursor.execute(ROW_TEXT_SETTINGS)
    sums = {}
    for table in tables:
        cursor.execute(
            "SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') "
            f"FROM (SELECT md5(t::text) AS h FROM {quote(schema)}.{quote(table)} AS t) AS rows"
        )
        count, checksum = cursor.fetchone()
        sums[table] = [count, checksum]
    return sums


def _tables(cursor, schema):
    """{table: [columns COPY reads and writes]} (generated columns are computed, not copied)."""
    cursor.execute(
        "SELECT c.relname, array_agg(a.attname ORDER BY a.attnum) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        "WHERE n.nspname = %s AND c.relkind = 'r' GROUP BY c.relname ORDER BY c.relname",
        [schema],
    )
    return dict(cursor.fetchall())


def _sequences(cursor, schema):
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'S' ORDER BY c.relname",
        [schema],
    )
    positions = {}
    for (name,) in cursor.fetchall():
        cursor.execute(f"SELECT last_value, is_called FROM {quote(schema)}.{quote(name)}")
        positions[name] = list(cursor.fetchone())
    return positions


def _file_names(cursor, schema, with_optional):
    names = []
    for table, column, kind in schema_columns():
        if kind == FILE or (kind == OPTIONAL_FILE and with_optional):
            cursor.execute(
                f"SELECT DISTINCT {quote(column)} FROM {quote(schema)}.{quote(table)} "
                f"WHERE {quote(column)} <> '' ORDER BY 1"
            )
            names += [row[0] for row in cursor.fetchall()]
    return names


def _digest(source):
    digest = hashlib.sha256()
    for block in iter(lambda: source.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def sha256_of(path):
    with open(path, "rb") as source:
        return _digest(source)


def _checksums_in(snapshot, schema, tables):
    """table_checksums() on a connection of its own that reads the exported snapshot, so the
    server hashes rows on one core while the other COPYs them out."""
    with own_connection(autocommit=False) as conn, conn.cursor() as cursor:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        cursor.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        return table_checksums(cursor, schema, tables)


def write_archive(tenant, out_path, *, with_exports=False):
    """Write `tenant` to a new file `out_path` (refused when it exists). Returns the manifest."""
    schema = tenant.schema_name
    out_path = Path(out_path)
    if out_path.exists():
        raise ArchiveError(f"{out_path} exists; an archive is never written over another file.")
    with tempfile.TemporaryDirectory(prefix="tenant-backup-") as tmp, ThreadPoolExecutor(1) as pool:
        work = Path(tmp)
        (work / "data").mkdir()
        members = {}
        with own_connection(autocommit=False) as conn, conn.cursor() as cursor:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            cursor.execute("SELECT pg_export_snapshot(), now()")
            snapshot, taken_at = cursor.fetchone()
            tables = _tables(cursor, schema)
            checksums = pool.submit(_checksums_in, snapshot, schema, tables)
            for member, section in ((PRE_DATA, "pre-data"), (POST_DATA, "post-data")):
                text = pg_dump("--schema", schema, "--section", section, "--snapshot", snapshot)
                (work / member).write_text(statements(text))
            for table, columns in tables.items():
                column_list = ", ".join(quote(c) for c in columns)
                # Compressed as it arrives, while the server writes the next rows.
                with gzip.open(work / data_member(table), "wb", compresslevel=5) as sink, cursor.copy(
                    f"COPY {quote(schema)}.{quote(table)} ({column_list}) TO STDOUT"
                ) as copy:
                    for block in copy:
                        sink.write(block)
            sequences = _sequences(cursor, schema)
            cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations ORDER BY app, name")
            migrations = [list(row) for row in cursor.fetchall()]
            file_names = _file_names(cursor, schema, with_exports)
            sums = checksums.result()  # before the snapshot's transaction ends
        missing = []
        for name in file_names:
            target = work / "files" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with default_storage.open(name, "rb") as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
            except FileNotFoundError:
                missing.append(name)
                target.unlink(missing_ok=True)
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            members[str(path.relative_to(work))] = sha256_of(path)
        files = {
            name: {"size": (work / "files" / name).stat().st_size, "sha256": members[f"files/{name}"]}
            for name in file_names if name not in missing
        }
        manifest = {
            "format": FORMAT,
            "made_at": timezone.now().isoformat(),
            "snapshot_at": taken_at.isoformat(),
            "tenant": {
                "slug": tenant.slug, "schema": schema, "name": tenant.name, "time_zone": tenant.time_zone,
                "created_at": tenant.created_at.isoformat(),
                "domains": list(tenant.domains.order_by("-is_primary", "domain").values_list("domain", flat=True)),
            },
            "migrations": migrations,
            "tables": {table: {"columns": columns, "rows": sums[table][0], "checksum": sums[table][1]}
                       for table, columns in tables.items()},
            "sequences": sequences,
            "files": files,
            "files_missing": missing,
            "members": members,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        partial = out_path.with_name(f".{out_path.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            # A plain tar of members compressed one by one: a restore reads it front to back,
            # the definition first, then the rows in table order, then the files.
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
                tar.add(work / MANIFEST, arcname=MANIFEST)
                for member in sorted(members, key=lambda m: (m not in (PRE_DATA, POST_DATA), m)):
                    tar.add(work / member, arcname=member)
            os.link(partial, out_path)  # never over a file that appeared meanwhile
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def data_member(table):
    return f"data/{table}.copy.gz"


class Archive:
    """An archive opened for reading: its manifest, and its members checked against it."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.tar = tarfile.open(self.path, mode="r:")  # noqa: SIM115  # closed by close()
            self.manifest = json.loads(self._read(MANIFEST))
        except (OSError, tarfile.TarError, json.JSONDecodeError, KeyError) as exc:
            raise ArchiveError(f"{self.path} is not a tenant archive: {exc}") from None
        if self.manifest.get("format") != FORMAT:
            raise ArchiveError(f"{self.path}: unknown format {self.manifest.get('format')!r} (this release reads {FORMAT}).")

    def close(self):
        self.tar.close()

    def _read(self, name):
        source = self.tar.extractfile(name)
        if source is None:
            raise KeyError(name)
        return source.read()

    def verify(self):
        """Every member's sha256 against the manifest (reads the whole archive once)."""
        expected = self.manifest["members"]
        seen = set()
        for info in self.tar:
            if info.name == MANIFEST:
                continue
            if info.name not in expected or not info.isfile():
                raise ArchiveError(f"{self.path}: {info.name} is not in the manifest.")
            if _digest(self.tar.extractfile(info)) != expected[info.name]:
                raise ArchiveError(f"{self.path}: {info.name} is damaged (its checksum differs from the manifest's).")
            seen.add(info.name)
        if missing := sorted(set(expected) - seen):
            raise ArchiveError(f"{self.path}: {', '.join(missing[:5])} missing.")

    def text(self, name):
        return self._read(name).decode()

    @contextlib.contextmanager
    def open(self, name):
        source = self.tar.extractfile(name)
        if source is None:
            raise ArchiveError(f"{self.path}: {name} missing.")
        with source:
            yield source

    @contextlib.contextmanager
    def table_data(self, table):
        """A table's rows as COPY reads them, decompressed as they are read."""
        with self.open(data_member(table)) as source, gzip.GzipFile(fileobj=source, mode="rb") as rows:
            yield rows
