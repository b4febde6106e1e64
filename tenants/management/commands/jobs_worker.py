"""Run the job queue's worker (tenants.jobs): every tenant's background jobs, woken by
LISTEN/NOTIFY, until SIGTERM or SIGINT (running jobs get JOB_SHUTDOWN_SECONDS to finish, then
are told to stop and go back to the queue). `make run` starts JOB_WORKERS of them beside the
server (config.serve); run more on any machine that reaches the database."""
import asyncio
import contextlib
import logging
import os
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from procrastinate import PsycopgConnector, exceptions
from procrastinate.contrib.django import utils

from tenants import jobs as tenant_jobs

log = logging.getLogger("tenants.jobs")
RESTART_SECONDS = (1, 2, 5, 10)  # waits before starting again after the database went away


def worker_connector():
    """The worker's own pool, on the database Django uses. Its connections are in autocommit:
    each of the queue's statements is one function call, so psycopg's BEGIN/COMMIT around each
    would only double an idle worker's round trips."""
    return PsycopgConnector(kwargs=utils.connector_params(), configure=_autocommit, min_size=1, max_size=4)


async def _autocommit(connection):
    await connection.set_autocommit(True)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--parent-pid", type=int, default=None, help="Exit when this process is gone.")
        parser.add_argument("--queue", action="append", dest="queues", help="Only these queues (repeatable).")
        parser.add_argument("--concurrency", type=int, default=None, help="Jobs run at once (default JOB_CONCURRENCY).")
        parser.add_argument("--no-wait", action="store_false", dest="wait", help="Run what is due, then exit.")

    def handle(self, *args, parent_pid=None, queues=None, concurrency=None, wait=True, **options):
        asyncio.run(self._run(parent_pid=parent_pid, queues=queues, concurrency=concurrency, wait=wait))

    async def _run(self, *, parent_pid, queues, concurrency, wait):
        """Run the worker until SIGTERM or SIGINT (or the parent's end). When it stops by itself
        (the database went away under it), start it again once the database answers, with one
        log line per outage and no traceback."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        running = {}

        def stop():
            stopping.set()
            if (worker := running.get("worker")) is not None:
                worker.cancel()  # procrastinate's graceful stop: running jobs get JOB_SHUTDOWN_SECONDS

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        watcher = asyncio.create_task(_watch_parent(parent_pid, stop)) if parent_pid else None
        failures = 0
        try:
            while not stopping.is_set():
                started = time.monotonic()
                try:
                    await self._run_once(running, stopping, queues=queues, concurrency=concurrency, wait=wait)
                    error = "it stopped"
                except (exceptions.ConnectorException, OSError) as exc:
                    error = type(exc.__cause__ or exc).__name__
                if stopping.is_set() or not wait:
                    return
                failures = 0 if time.monotonic() - started > 60 else failures + 1
                delay = RESTART_SECONDS[min(failures, len(RESTART_SECONDS) - 1)]
                log.warning("job worker: the database could not be used (%s); starting again in %s s", error, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=delay)
        finally:
            if watcher:
                watcher.cancel()

    async def _run_once(self, running, stopping, *, queues, concurrency, wait):
        # A worker app with its own pool and a LISTEN connection; the global app keeps Django's
        # connection, so a job deferring another does it in its own transaction.
        worker_app = tenant_jobs.worker_app(worker_connector())
        async with worker_app.open_async():
            from tenants.tasks import requeue_stalled

            await requeue_stalled(worker_app)  # what a worker that died left running
            running["worker"] = asyncio.create_task(worker_app.run_worker_async(
                queues=queues,
                concurrency=concurrency or settings.JOB_CONCURRENCY,
                wait=wait,
                fetch_job_polling_interval=settings.JOB_POLL_SECONDS,
                abort_job_polling_interval=30,
                # Beats well within the time after which a worker counts as dead.
                update_heartbeat_interval=min(10.0, settings.JOB_STALLED_SECONDS / 3),
                stalled_worker_timeout=settings.JOB_STALLED_SECONDS,
                shutdown_graceful_timeout=settings.JOB_SHUTDOWN_SECONDS,
                install_signal_handlers=False,  # ours (above) tell a stop from an outage
                listen_notify=True,
            ))
            if stopping.is_set():  # asked to stop while starting
                running["worker"].cancel()
            try:
                await running["worker"]
            except asyncio.CancelledError:
                pass
            finally:
                running.pop("worker", None)


async def _watch_parent(parent_pid, stop):
    """Stop the worker when the process that started it is gone (even killed outright)."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(1)
    stop()
