"""Background exports' jobs on the one queue (tenants.jobs)."""
from console.exports import services
from tenants.jobs import Backoff, daily_tenant_task, tenant_task


@tenant_task(name=services.RUN_TASK, pass_context=True, retry=Backoff(base=2, cap=60, max_runs=20))
def run(context, *, job_id):
    """Run the export `job_id`; a worker stopping (or the database away) runs it again later."""
    job = services.export_job_start(job_id, worker=f"{context.job.id}.{context.job.attempts}")
    if job is not None:
        services.export_job_run(job, worker=job.claimed_by, stopping=context.should_abort)


@tenant_task(name=services.EXPIRE_TASK, retry=Backoff(base=10, cap=600, max_runs=10))
def expire(*, job_id):
    services.export_jobs_prune(job_id=job_id)


@daily_tenant_task(name="exports.prune", retry=Backoff(base=10, cap=600, max_runs=10))
def prune():
    services.export_jobs_prune()
