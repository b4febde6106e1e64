"""The queue's own upkeep, scheduled by the queue (procrastinate's periodic tasks), not cron:
every JOB_STALLED_CHECK_SECONDS (and when a worker starts), jobs whose worker died (no
heartbeat for JOB_STALLED_SECONDS) go back to the queue; every night, finished jobs older than JOB_KEEP_HOURS are deleted, each tenant's
daily tasks (pruning; tenants.jobs.daily_tenant_task) are queued, and deleted tenants past their
retention are purged (a final backup each; tenants.backups)."""
import logging

from django.conf import settings
from procrastinate.contrib.django import app

from tenants.backups.services import tenants_purge_due
from tenants.jobs import MAINTENANCE_QUEUE, daily_fan_out, fresh_connections

log = logging.getLogger("tenants.jobs")


async def requeue_stalled(job_app):
    """Queue again the jobs left running by workers whose heartbeat stopped (killed, machine
    lost), and forget those workers. Returns how many jobs."""
    manager = job_app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOB_STALLED_SECONDS))
    for job in stalled:
        log.warning("job %s (%s) was left running by a worker that stopped beating; queued again", job.id, job.task_name)
        await manager.retry_job(job)
    await manager.prune_stalled_workers(seconds_since_heartbeat=settings.JOB_STALLED_SECONDS)
    return len(stalled)


_EVERY = settings.JOB_STALLED_CHECK_SECONDS


@app.periodic(cron="* * * * *" if _EVERY == 60 else f"* * * * * */{_EVERY}", periodic_id="retry_stalled")
@app.task(name="jobs.retry_stalled", queue=MAINTENANCE_QUEUE, pass_context=True)
async def retry_stalled_jobs(context, timestamp):
    await requeue_stalled(context.app)


@app.periodic(cron="23 3 * * *", periodic_id="remove_old_jobs")
@app.task(name="jobs.remove_old", queue=MAINTENANCE_QUEUE, pass_context=True)
async def remove_old_jobs(context, timestamp):
    await context.app.job_manager.delete_old_jobs(
        nb_hours=settings.JOB_KEEP_HOURS, include_failed=True, include_cancelled=True, include_aborted=True
    )


@app.periodic(cron="7 2 * * *", periodic_id="daily")
@app.task(name="jobs.daily", queue=MAINTENANCE_QUEUE)
def daily(timestamp):
    with fresh_connections():
        queued = daily_fan_out()
    log.info("daily maintenance: %s tenant jobs queued", queued)


@app.periodic(cron="41 2 * * *", periodic_id="purge_tenants")
@app.task(name="tenants.purge", queue=MAINTENANCE_QUEUE)
def purge_tenants(timestamp):
    """Deleted tenants whose retention has run out: a final backup each, then purged."""
    with fresh_connections():
        purged = tenants_purge_due()
    if purged:
        log.warning("tenants purged: %s", ", ".join(record.slug for record in purged))
