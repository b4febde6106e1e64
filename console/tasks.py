"""The console's tasks on the job queue (found by procrastinate's autodiscovery)."""
from console.exports import tasks as export_tasks  # noqa: F401
from console.webhooks import tasks as webhook_tasks  # noqa: F401
