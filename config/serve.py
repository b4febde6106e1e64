"""The production server: `python -m config.serve` (what `make run` starts).

gunicorn, chosen over granian because it is pure Python (nothing to compile or download on a
closed machine), has been the standard WSGI server for Django deployments for a decade, and
its pre-fork model gives what this app needs: several worker processes with a few threads
each (`gthread`, so a long export does not hold up other requests), a graceful stop on
SIGTERM that finishes requests in flight (up to `WEB_GRACEFUL_TIMEOUT`), and restarts of a
worker that dies.

This process is gunicorn's master. It loads Django once (so the workers fork with the app
ready and share its memory), attaches to the embedded PostgreSQL when `DATABASE_URL` is unset
and watches it (config.database: started again within a second or two when its process
dies; stopped when this process exits), then forks the workers. Static files are served by
whitenoise from `var/static` (collected by `make run`), compressed, with far-future caching.

Environment (read strictly, see config.env): `BIND` (default `127.0.0.1:$PORT`, `PORT`
default 8000), `WEB_CONCURRENCY` (worker processes; default 2 × CPUs + 1, at most 8),
`WEB_THREADS` (threads per worker, default 4), `WEB_TIMEOUT` (seconds a silent worker may
take before it is restarted, default 60), `WEB_GRACEFUL_TIMEOUT` (seconds to finish requests
in flight on SIGTERM, default 30), `WEB_KEEPALIVE` (seconds, default 5),
`FORWARDED_ALLOW_IPS` (proxies whose X-Forwarded-Proto is trusted, default 127.0.0.1),
`WEB_HEARTBEAT_DIR` (where each worker's heartbeat file lives, default /dev/shm: see below).

Heartbeats: a worker tells the master it is alive by changing its heartbeat file's time, on
every turn of its loop, so at least once a request. gunicorn's own documentation warns that on
a disk-backed filesystem that call can block the worker; here the disk is also the database's,
busy with its WAL and checkpoints. So the files go to /dev/shm (memory) where the machine has
it, as gunicorn recommends for containers; elsewhere to the system's temporary directory.
`WEB_HEARTBEAT_DIR` names another (a writable directory, checked at start-up).

Long addresses: gunicorn reads request lines up to 8,190 bytes (its most; the default is
4,094), so a query string over the app's limit (config.query.MAX_QUERY_STRING_BYTES, 8,000
bytes) reaches the app and is answered in the JSON envelope; a longer request line, which
gunicorn refuses itself, gets the same answer from the worker class below, not gunicorn's
HTML page.

Background jobs: once gunicorn is ready, this process also starts `JOB_WORKERS` (default 1)
`manage.py jobs_worker` processes (the job queue's workers, tenants.jobs) and stops them when
it stops; they exit by themselves if this process dies, and a job they leave running is
queued again once their heartbeat stops (tenants.tasks).

Metrics (config.metrics): before loading the app, this process makes a new, empty directory
for this run and names it in `PROMETHEUS_MULTIPROC_DIR`, so every web worker it forks and
every job worker it starts (they inherit the environment) writes its counts there, and a
scrape of `/metrics`, whichever worker answers it, sums them. A web worker that exits is
marked dead there (`child_exit`); the directory is removed when this process exits.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gunicorn.http.errors import LimitRequestLine
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker

from config.env import ConfigError, env_int, env_str

# The longest request line gunicorn can be told to read.
REQUEST_LINE_MAX_BYTES = 8190


class Worker(ThreadWorker):
    """gunicorn's gthread worker, except that a request line longer than it reads gets the
    answer the app gives a query string over its limit (config.middleware): a 400 in the JSON
    envelope naming `query`, rather than gunicorn's HTML 414 page."""

    def handle_error(self, req, client, addr, exc):
        if not isinstance(exc, LimitRequestLine):
            return super().handle_error(req, client, addr, exc)
        from config.middleware import query_too_long_json

        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        response = query_too_long_json()
        head = (
            f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
            "Connection: close\r\n"
            f"Content-Type: {response['Content-Type']}\r\n"
            "Cache-Control: no-store\r\n"
            f"Content-Length: {len(response.content)}\r\n\r\n"
        )
        try:
            write_nonblock(client, head.encode("latin-1") + response.content)
        except OSError:
            self.log.debug("Failed to send the answer to a request line too long.")


def server_options():
    cpus = os.cpu_count() or 1
    port = env_int("PORT", 8000, minimum=1, maximum=65535)
    return {
        "bind": env_str("BIND", f"127.0.0.1:{port}"),
        "workers": env_int("WEB_CONCURRENCY", min(2 * cpus + 1, 8), minimum=1, maximum=64),
        "worker_class": Worker,
        "limit_request_line": REQUEST_LINE_MAX_BYTES,
        "threads": env_int("WEB_THREADS", 4, minimum=1, maximum=64),
        "timeout": env_int("WEB_TIMEOUT", 60, minimum=1),
        "graceful_timeout": env_int("WEB_GRACEFUL_TIMEOUT", 30, minimum=0),
        "keepalive": env_int("WEB_KEEPALIVE", 5, minimum=0),
        "forwarded_allow_ips": env_str("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "accesslog": None,  # the app writes its own access log (config.observability)
        "errorlog": "-",
        "loglevel": "info",
        "control_socket_disable": True,
        "worker_tmp_dir": heartbeat_directory(),
        "proc_name": "student-console",
    }


def heartbeat_directory():
    """Where the workers' heartbeat files go (gunicorn's `worker_tmp_dir`; None: the system's
    temporary directory)."""
    configured = env_str("WEB_HEARTBEAT_DIR")
    if configured is None:
        return "/dev/shm" if writable_directory("/dev/shm") else None
    if not writable_directory(configured):
        raise ConfigError(f"WEB_HEARTBEAT_DIR must be a writable directory, got {configured!r}")
    return configured


def writable_directory(path):
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def jobs_worker():
    """A job queue worker (tenants.jobs) as a child of this process: it exits when this process
    does (--parent-pid), even if this one is killed outright."""
    manage = str(Path(__file__).resolve().parent.parent / "manage.py")
    return subprocess.Popen([sys.executable, manage, "jobs_worker", "--parent-pid", str(os.getpid())])


def metrics_directory():
    """A new directory for this run's metrics, named in the environment before anything
    imports prometheus-client (which reads it once), removed when this process exits (not when
    a forked worker does)."""
    path = tempfile.mkdtemp(prefix="student-console-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    owner = os.getpid()

    def remove():
        if os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)
    return path


def web_worker_exited(arbiter, worker):
    """gunicorn's child_exit hook: the worker's live values no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def preload():
    """What a worker would otherwise load on its first request, loaded here in the master,
    before the fork, so that every worker starts with it (and shares its memory): the URLconfs
    of a tenant's host and of the public host, with every view module they import (pysaml2
    among them, which builds its XML schemas when imported), and their reverse lookups. Without
    this, each worker's first request took about a second more, after every restart."""
    from django.conf import settings
    from django.urls import get_resolver

    for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
        resolver = get_resolver(urlconf)
        resolver.url_patterns  # noqa: B018 (imports the URLconf and its views)
        resolver._populate()  # the reverse lookups: what `reverse` and `{% url %}` read


def main():
    metrics_directory()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()  # attaches to the embedded PostgreSQL (if used) in this, the master process

    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    from config import database, health

    application = get_wsgi_application()
    preload()
    health.migrations_on_disk()  # read once here, shared by every worker
    connections.close_all()  # no connection may be shared across the fork
    database.watch_embedded()

    workers = []

    def start_jobs_workers(arbiter):
        # Beside gunicorn, not inside it: a long export must not count as a silent web worker.
        for _ in range(settings.JOB_WORKERS):
            workers.append(jobs_worker())

    def stop_jobs_workers(arbiter):
        for process in workers:
            process.terminate()  # SIGTERM: running jobs finish, or go back to the queue
        for process in workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    class Server(BaseApplication):
        def load_config(self):
            for key, value in server_options().items():
                self.cfg.set(key, value)
            self.cfg.set("when_ready", start_jobs_workers)
            self.cfg.set("on_exit", stop_jobs_workers)
            self.cfg.set("child_exit", web_worker_exited)

        def load(self):
            return application

    Server().run()


if __name__ == "__main__":
    main()
