"""Webhook deliveries' jobs on the one queue (tenants.jobs); what each does: console.webhooks.services."""
from console.webhooks import services
from tenants.jobs import Backoff, daily_tenant_task, tenant_task

# A job that raises (the database away) runs again soon; a receiver's failures are not raised:
# the services schedule their own retries, by the endpoint's backoff.
_AGAIN = Backoff(base=2, cap=60, max_runs=10)


@tenant_task(name=services.DISPATCH_TASK, retry=_AGAIN)
def dispatch():
    services.webhooks_dispatch()


@tenant_task(name=services.DELIVER_TASK, retry=_AGAIN)
def deliver(*, endpoint_id):
    services.endpoint_deliver(endpoint_id=endpoint_id)


@tenant_task(name=services.REPLAY_TASK, retry=_AGAIN)
def replay(*, endpoint_id, event_ids=None, since=None, until=None, after=0, failures=0):
    services.endpoint_replay(
        endpoint_id=endpoint_id, event_ids=event_ids, since=since, until=until, after=after, failures=failures
    )


@tenant_task(name=services.WAKE_TASK, retry=_AGAIN)
def wake(*, endpoint_id, replay=None):
    services.webhooks_wake(endpoint_id=endpoint_id, replay=replay)


@daily_tenant_task(name="webhooks.prune", retry=Backoff(base=10, cap=600, max_runs=10))
def prune():
    services.deliveries_prune()
