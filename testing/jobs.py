"""Run the job queue's waiting jobs in the test's own process and transaction: the rows
`tenants.jobs.defer` wrote (visible inside the test's transaction), each given to its task's
function as a worker would, then marked succeeded. A task that raises leaves its job failed
and the exception raised, unless `raise_errors=False`."""
import dataclasses
import json
from collections.abc import Callable

from django.db import connection
from procrastinate.contrib.django import app


@dataclasses.dataclass
class _Job:
    id: int
    attempts: int
    task_name: str


@dataclasses.dataclass
class _Context:
    """What a task given its job context reads of it."""

    job: _Job
    should_abort: Callable[[], bool]


def commit_time_triggers():
    """Run what a commit would run first, without committing: the deferred triggers (the change
    feed's numbering, which also queues the webhook dispatcher)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def queued_jobs(task_name=None):
    """[(id, task_name, args, scheduled_at)] of the waiting jobs, oldest first, once the
    commit-time triggers have run."""
    commit_time_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, task_name, args, scheduled_at FROM public.procrastinate_jobs WHERE status = 'todo'"
            + (" AND task_name = %s" if task_name else "")
            + " ORDER BY id",
            [task_name] if task_name else [],
        )
        return [(id_, name, json.loads(args) if isinstance(args, str) else args, at) for id_, name, args, at in cursor.fetchall()]


def run_jobs(task_name=None, *, raise_errors=True, should_abort=lambda: False):
    """Run every waiting job (of `task_name`), including those they queue; returns how many ran."""
    ran = 0
    while jobs := queued_jobs(task_name):
        for job_id, name, args, _ in jobs:
            task = app.tasks[name]
            context = _Context(job=_Job(id=job_id, attempts=0, task_name=name), should_abort=should_abort)
            try:
                task.func(context, **args) if task.pass_context else task.func(**args)
            except Exception:
                _mark(job_id, "failed")
                if raise_errors:
                    raise
            else:
                _mark(job_id, "succeeded")
            ran += 1
    return ran


def _mark(job_id, status):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE public.procrastinate_jobs SET status = %s WHERE id = %s", [status, job_id])
