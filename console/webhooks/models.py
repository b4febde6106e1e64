"""Webhook endpoints a tenant's admins register, and the log of every delivery attempt.

An endpoint follows the tenant's events (accounts.events) with its own cursor: the position of
the last event it has been given (or skipped, being of a type it does not want). Deliveries go
out in position order, one at a time per endpoint; a failure stops the endpoint until its retry
(`next_attempt_at`), and an endpoint failing for WEBHOOK_DISABLE_AFTER_HOURS is disabled.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone

from config.ids import new_object_id


class WebhookEndpoint(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=new_object_id)
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = models.JSONField(default=list)  # accounts.events.types names; empty: every type
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Disabled by the deliveries failing for too long (not by an admin): the console says so to admins.
    disabled_by_failures = models.BooleanField(default=False)
    # The signing secret (whsec_ + base64), needed in full to sign, so kept as is; shown once.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True, default="")  # still signs until:
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    cursor = models.BigIntegerField(default=0)  # the position of the last event handled
    failing_since = models.DateTimeField(null=True, blank=True)  # the first failure of the current streak
    failures = models.PositiveIntegerField(default=0)  # failed attempts in the current streak
    failing_event_id = models.CharField(max_length=24, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The console's notice: the endpoints disabled because they kept failing.
            models.Index(fields=["disabled_at"], name="webhook_disabled_by_failures",
                         condition=models.Q(disabled_by_failures=True)),
        ]

    def __str__(self):
        return f"{self.url} ({self.status})"

    @property
    def status(self):
        """enabled, failing (enabled, retrying) or disabled."""
        if not self.enabled:
            return "disabled"
        return "failing" if self.failing_since else "enabled"

    @property
    def secret_hint(self):
        """The secret as shown after its creation: its prefix and last four characters."""
        return f"whsec_…{self.secret[-4:]}" if self.secret else ""

    def secrets_signing(self, now=None):
        """The secrets that sign a delivery now: the current one, and the previous one while it
        overlaps (after a rotation)."""
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one endpoint."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered"  # a 2xx answer
        FAILED = "failed"  # another status, a time-out, a connection error, a redirect
        REFUSED = "refused"  # the target is a private address (SSRF), never connected to

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=24)  # the webhook-id
    event_type = models.CharField(max_length=64)
    event_position = models.BigIntegerField()
    attempt = models.PositiveIntegerField(default=1)  # of this event to this endpoint
    replay = models.BooleanField(default=False)  # asked for again by an admin
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True, default="")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhookdelivery_log"),
            models.Index(fields=["created_at"], name="webhookdelivery_age"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}: {self.outcome}"
