"""The console's only tables: its features' (console.exports' jobs, console.webhooks' endpoints and log)."""
from console.exports.models import ExportJob  # noqa: F401
from console.webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: F401
