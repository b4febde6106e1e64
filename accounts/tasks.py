"""The accounts app's tasks on the job queue (found by procrastinate's autodiscovery): the
daily pruning of each tenant's audit trail and events past their retention."""
from accounts.audit.services import audit_events_prune
from accounts.events.services import events_prune
from tenants.jobs import Backoff, daily_tenant_task


@daily_tenant_task(name="audit.prune", retry=Backoff(base=10, cap=600, max_runs=10))
def prune_audit_events():
    audit_events_prune()


@daily_tenant_task(name="events.prune", retry=Backoff(base=10, cap=600, max_runs=10))
def prune_events():
    events_prune()
