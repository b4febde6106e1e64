"""The one job queue (tenants.jobs): jobs carry their tenant, are written in the caller's
transaction, run inside their tenant, back off with jitter, and the daily maintenance queues
each tenant's daily tasks once."""
import asyncio

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context
from procrastinate import exceptions, jobs
from procrastinate import manager as procrastinate_manager
from procrastinate.contrib.django import app

from tenants import jobs as tenant_jobs
from testing.jobs import queued_jobs, run_jobs


def _job(attempts):
    return jobs.Job(id=1, queue="default", lock=None, queueing_lock=None, task_name="x", attempts=attempts)


def test_a_job_carries_the_current_tenants_schema_and_is_kept_only_if_the_transaction_is():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        tenant_jobs.defer("exports.prune")
        assert len(queued_jobs("exports.prune")) == 1
        raise Boom
    assert queued_jobs("exports.prune") == []
    tenant_jobs.defer("exports.prune")
    [(_, name, args, _)] = queued_jobs("exports.prune")
    assert args == {"schema": connection.schema_name}


def test_a_queueing_lock_keeps_one_waiting_job():
    first = tenant_jobs.defer("exports.prune", queueing_lock="prune:test")
    assert first is not None
    assert tenant_jobs.defer("exports.prune", queueing_lock="prune:test") is None
    assert len(queued_jobs("exports.prune")) == 1


def test_a_job_needs_a_tenant():
    with schema_context("public"), pytest.raises(RuntimeError, match="needs a tenant"):
        tenant_jobs.defer("exports.prune")


def test_a_tenant_task_runs_inside_its_tenant_and_one_for_a_gone_tenant_is_dropped(other_tenant):
    seen = []

    @tenant_jobs.tenant_task(name="test.where")
    def where():
        seen.append(connection.schema_name)

    try:
        app.configure_task("test.where").defer(schema=other_tenant.schema_name)
        app.configure_task("test.where").defer(schema="no_such_tenant")
        assert run_jobs("test.where") == 2
        assert seen == [other_tenant.schema_name]
        assert connection.schema_name == "test"  # and the caller's tenant is back
    finally:
        app.tasks.pop("test.where", None)


def test_backoff_grows_exponentially_with_jitter_and_stops_after_max_runs():
    backoff = tenant_jobs.Backoff(base=2, factor=2, cap=60, max_runs=5)
    delays = [[backoff.get_retry_decision(exception=OSError(), job=_job(n)) for _ in range(50)] for n in range(4)]
    for n, decisions in enumerate(delays):
        seconds = [(d.retry_at - d.retry_at.now(d.retry_at.tzinfo)).total_seconds() for d in decisions]
        ceiling = min(60, 2 * 2 ** n)
        assert all(ceiling / 2 - 1 <= s <= ceiling + 0.5 for s in seconds), (n, seconds)
        assert len({round(s, 2) for s in seconds}) > 10  # jittered, not all the same
    assert backoff.get_retry_decision(exception=OSError(), job=_job(4)) is None  # the fifth run was the last


def test_the_daily_fan_out_queues_each_daily_task_once_per_tenant(other_tenant):
    from tenants.models import Tenant

    tenants = Tenant.objects.exclude(schema_name="public").count()
    queued = tenant_jobs.daily_fan_out()
    assert queued == tenants * len(tenant_jobs.DAILY_TENANT_TASKS)
    for name in ("audit.prune", "events.prune", "exports.prune"):
        assert name in tenant_jobs.DAILY_TENANT_TASKS
        schemas = sorted(args["schema"] for _, _, args, _ in queued_jobs(name))
        assert schemas == sorted(Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    assert run_jobs() == queued  # and each runs in its tenant without error


def test_every_periodic_task_is_scheduled_by_the_queue():
    periodic = {task.name for task in (p.task for p in app.periodic_registry.periodic_tasks.values())}
    assert periodic == {"jobs.retry_stalled", "jobs.remove_old", "jobs.daily", "tenants.purge"}


def test_a_job_put_back_while_another_waits_under_its_queueing_lock_is_finished_not_stuck():
    """After an outage a job that was running (a tenant's webhook dispatcher, say) is put back
    in the queue (a retry, or found stalled when the worker starts again) while another job
    under its queueing lock already waits. procrastinate's own manager fails there (the unique
    index of waiting jobs' locks), which left the job running forever or stopped every start of
    the worker; the queue's manager finishes it as failed, and the waiting one does the work."""
    from tenants.management.commands.jobs_worker import worker_connector

    lock = f"test-put-back:{connection.schema_name}"

    def job():
        return jobs.Job(id=None, queue="test-put-back", lock=None, queueing_lock=lock, task_name="exports.prune",
                        task_kwargs={"schema": connection.schema_name})

    async def scenario():
        job_app = tenant_jobs.worker_app(worker_connector())
        async with job_app.open_async():
            manager_ = job_app.job_manager
            running = await manager_.defer_job_async(job())
            ids = [running.id]
            try:
                await job_app.connector.execute_query_async(
                    "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %(id)s", id=running.id)
                waiting = await manager_.defer_job_async(job())
                ids.append(waiting.id)
                with pytest.raises(exceptions.UniqueViolation):
                    await procrastinate_manager.JobManager(job_app.connector).retry_job(running)
                await manager_.retry_job(running)
                return [await manager_.get_job_status_async(job_id) for job_id in ids]
            finally:
                await job_app.connector.execute_query_async(
                    "DELETE FROM procrastinate_jobs WHERE id = ANY(%(ids)s)", ids=ids)

    assert asyncio.run(scenario()) == [jobs.Status.FAILED, jobs.Status.TODO]
