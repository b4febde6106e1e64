"""The one job queue: procrastinate, in the public schema, for every tenant's background work
(exports, webhook deliveries, pruning). Features declare tasks here; the queue's mechanics
are nobody else's.

Why procrastinate: its jobs are rows of the PostgreSQL the app already has (nothing else to
run, the embedded default included), a job deferred through Django's connection is written in
the caller's transaction (kept only if the change is: an outbox for free), workers are woken
by LISTEN/NOTIFY and can run on any number of machines, and it has retries, job locks
(jobs sharing a lock run one at a time, in order), queueing locks (at most one waiting job per
key), periodic tasks and worker heartbeats. pgqueuer has no Django integration and no
transactional defer through Django's connection; Celery and RQ need a broker.

Tenancy follows tenant-schemas-celery: a job carries its tenant's schema in its arguments
(`schema`), and `tenant_task` runs the body in that tenant (django-tenants' `tenant_context`).
`defer` queues a job for the current tenant in the current transaction.

Idle cost, per worker process and whatever the number of tenants: a look for due jobs every
JOB_POLL_SECONDS (scheduled retries; new jobs arrive by NOTIFY), a heartbeat every 10 s, a
look for abort requests every 30 s, and the minute's stalled-job check: about 0.4 queries a
second. Nothing walks the tenants on a timer but the daily maintenance fan-out.
"""
import contextlib
import functools
import logging
import random
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection, transaction
from django_tenants.utils import get_public_schema_name, get_tenant_model, tenant_context
from procrastinate import RetryDecision, exceptions, jobs, manager
from procrastinate.contrib.django import app
from procrastinate.retry import BaseRetryStrategy

log = logging.getLogger("tenants.jobs")

DEFAULT_QUEUE = "default"
MAINTENANCE_QUEUE = "maintenance"


class Backoff(BaseRetryStrategy):
    """Exponential backoff with full jitter: the n-th retry waits a random time up to
    min(cap, base × factor**n) seconds (at least `floor`), so failing jobs spread out instead of
    returning together. `max_runs`: runs in all, the first included (None: no limit)."""

    def __init__(self, *, base=2.0, factor=2.0, cap=3600.0, floor=1.0, max_runs=None, retry_exceptions=None):
        self.base, self.factor, self.cap, self.floor = base, factor, cap, floor
        self.max_runs = max_runs
        self.retry_exceptions = retry_exceptions

    def delay(self, attempts):
        ceiling = min(self.cap, self.base * self.factor ** attempts)
        return max(self.floor, random.uniform(ceiling / 2, ceiling))

    def get_retry_decision(self, *, exception: BaseException, job: jobs.Job) -> RetryDecision | None:
        if self.max_runs is not None and job.attempts + 1 >= self.max_runs:
            return None
        if self.retry_exceptions and not isinstance(exception, tuple(self.retry_exceptions)):
            return None
        return RetryDecision(retry_in={"seconds": round(self.delay(job.attempts), 3)})


class JobManager(manager.JobManager):
    """procrastinate's, except for a job put back in the queue (a retry after it failed, or a
    job found stalled after its worker lost the database or died) while another job under the
    same queueing lock already waits: the unique index on waiting jobs' queueing locks refuses
    it, and procrastinate would leave it running forever (a retry) or fail every start of the
    worker (a stalled job: the worker looks for them as it starts). The waiting job does the
    work, as a queueing lock means; this one is finished as failed, with a log line."""

    async def retry_job_by_id_async(self, job_id, retry_at, priority=None, queue=None, lock=None):
        try:
            await super().retry_job_by_id_async(job_id, retry_at, priority=priority, queue=queue, lock=lock)
        except exceptions.UniqueViolation as exc:
            if exc.constraint_name != manager.QUEUEING_LOCK_CONSTRAINT:
                raise
            log.warning("job %s: another job under its queueing lock (%s) waits and will do its work; not queued "
                        "again", job_id, exc.queueing_lock)
            await self.finish_job_by_id_async(job_id=job_id, status=jobs.Status.FAILED, delete_job=False)


def worker_app(connector):
    """The queue's app on a worker's own connector, with the JobManager above."""
    job_app = app.with_connector(connector)
    job_app.job_manager = JobManager(job_app.connector)
    return job_app


def _close_old_connections():
    if not connection.in_atomic_block:  # (a test running jobs inside its transaction keeps it)
        close_old_connections()


@contextlib.contextmanager
def fresh_connections():
    """Around a job's body in a worker thread: a stale or broken connection is not reused, and
    the one it leaves is closed if it has outlived its age."""
    _close_old_connections()
    try:
        yield
    finally:
        _close_old_connections()


def _tenant(schema):
    return get_tenant_model().objects.filter(schema_name=schema).first()


def tenant_task(*, name: str, queue: str = DEFAULT_QUEUE, retry: Any = None, pass_context: bool = False, **options):
    """Declare a task run in one tenant: the job's `schema` argument chooses the tenant and the
    body runs inside it, given the job's other arguments (and the job context first, with
    `pass_context`). A job for a tenant deleted since is dropped with a log line."""

    def decorate(func: Callable[..., Any]):
        @functools.wraps(func)
        def run(context, *, schema: str, **kwargs):
            with fresh_connections():
                tenant = _tenant(schema)
                if tenant is None:
                    log.warning("job %s (%s): tenant %s is gone; dropped", context.job.id, name, schema)
                    return None
                with tenant_context(tenant):
                    return func(context, **kwargs) if pass_context else func(**kwargs)

        return app.task(name=name, queue=queue, retry=retry, pass_context=True, **options)(run)

    return decorate


def _waiting(queueing_lock):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM public.procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo' LIMIT 1",
            [queueing_lock],
        )
        return cursor.fetchone() is not None


def defer(task_name: str, *, lock=None, queueing_lock=None, schedule_at=None, schedule_in=None, **kwargs):
    """Queue the task `task_name` for the current tenant, in the current transaction (the job
    exists only if the transaction commits; workers see it, and are woken, at commit). Returns
    the job's id, or None when `queueing_lock` is given and a job under it is already waiting
    (that one will do). Jobs with the same `lock` run one at a time, in the order queued."""
    schema = connection.schema_name
    if schema == get_public_schema_name():
        raise RuntimeError(f"{task_name}: a tenant's job needs a tenant (the connection is on the public schema)")
    if queueing_lock is not None and _waiting(queueing_lock):
        return None
    configured = app.configure_task(
        task_name, lock=lock, queueing_lock=queueing_lock, schedule_at=schedule_at, schedule_in=schedule_in
    )
    try:
        with transaction.atomic():  # a savepoint: losing the race for the queueing lock keeps the caller's transaction
            return configured.defer(schema=schema, **kwargs)
    except exceptions.AlreadyEnqueued:
        return None


def tenant_jobs_forget(schema):
    """Delete the jobs waiting for `schema` (a tenant being purged), in the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM public.procrastinate_jobs WHERE status = 'todo' AND args->>'schema' = %s", [schema]
        )
        return cursor.rowcount


# Daily per-tenant work (pruning): features register a tenant task here; the queue's daily
# maintenance job (tenants.tasks) queues each of them once per tenant.
DAILY_TENANT_TASKS: list[str] = []


def daily_tenant_task(*, name: str, **options):
    """`tenant_task`, also queued once a day for every tenant."""

    def decorate(func):
        task = tenant_task(name=name, queue=MAINTENANCE_QUEUE, **options)(func)
        DAILY_TENANT_TASKS.append(name)
        return task

    return decorate


def daily_fan_out():
    """Queue every daily task once for every tenant (one query for the tenants, one insert per
    job). Returns how many jobs were queued."""
    schemas = list(
        get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).values_list("schema_name", flat=True)
    )
    queued = 0
    for name in DAILY_TENANT_TASKS:
        app.configure_task(name).batch_defer(*({"schema": schema} for schema in schemas))
        queued += len(schemas)
    return queued
