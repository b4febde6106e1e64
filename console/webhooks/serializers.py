"""Shapes of the webhooks API: an endpoint as written and as read (its secret only in the
answer that made it), a delivery attempt, and a replay's time range."""
from rest_framework import serializers

from accounts.events.types import EVENT_TYPES
from config.serializers import StrictSerializer, enveloped, page_query
from console.webhooks.models import WebhookDelivery
from console.webhooks.services import URL_MAX_LENGTH, URL_VALIDATOR

DESCRIPTION_MAX_LENGTH = 200
_TIME = serializers.DateTimeField()  # the API's date-time format (None stays None)
_TIMES = {"disabled_at", "secret_rotated_at", "previous_secret_signs_until", "failing_since", "next_attempt_at",
          "last_delivered_at", "created_at", "updated_at"}

WebhooksPageQuery = page_query(
    per_page_default=50, per_page_max=100, page_help="1-based page number.", per_page_help="Endpoints per page (1-100)."
)
DeliveriesPageQuery = page_query(
    per_page_default=50, per_page_max=100, page_help="1-based page number.",
    per_page_help="Delivery attempts per page (1-100).",
)


class DeliveriesQuery(DeliveriesPageQuery):
    outcome = serializers.ChoiceField(
        choices=WebhookDelivery.Outcome.values, required=False,
        help_text="Only attempts with this outcome: delivered, failed or refused (a private address).",
    )


def _url_field(**kwargs):
    return serializers.CharField(
        max_length=URL_MAX_LENGTH, trim_whitespace=False, validators=[URL_VALIDATOR],
        help_text=(
            "Where events are POSTed: https (http too where WEBHOOKS_ALLOW_PRIVATE is on), no credentials or "
            "fragment. An address that is, or resolves to, a private, loopback or link-local address is refused "
            "(at registration when written as such; at every delivery otherwise)."
        ),
        **kwargs,
    )


def _event_types_field(**kwargs):
    return serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)), max_length=len(EVENT_TYPES) * 2,
        help_text="The event types delivered (GET /v1/events documents each); empty or left out: every type.",
        **kwargs,
    )


class WebhookCreateSerializer(StrictSerializer):
    url = _url_field()
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False,
                                        help_text="What it is for; at most 200 characters.")
    event_types = _event_types_field(required=False)
    enabled = serializers.BooleanField(required=False, help_text="Default true.")


class WebhookUpdateSerializer(StrictSerializer):
    """PATCH: only what is sent changes. Enabling clears the failure streak and delivers what
    waits at once."""

    url = _url_field(required=False)
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False)
    event_types = _event_types_field(required=False)
    enabled = serializers.BooleanField(required=False)


class ReplayRangeSerializer(StrictSerializer):
    since = serializers.DateTimeField(help_text="Events that occurred at or after this ISO 8601 date-time.")
    until = serializers.DateTimeField(required=False, help_text="… and at or before this one (default: now).")


class WebhookSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField(), help_text="Empty: every type.")
    enabled = serializers.BooleanField()
    status = serializers.ChoiceField(
        choices=["enabled", "failing", "disabled"],
        help_text="failing: enabled, with deliveries failing and retried (see next_attempt_at).",
    )
    disabled_reason = serializers.CharField(allow_null=True, help_text="Why it is disabled (by whom, or the failures).")
    disabled_at = serializers.DateTimeField(allow_null=True)
    secret_hint = serializers.CharField(help_text="The secret's last characters; it is shown in full only once.")
    secret_rotated_at = serializers.DateTimeField(allow_null=True)
    previous_secret_signs_until = serializers.DateTimeField(
        allow_null=True, help_text="After a rotation, deliveries are signed with the previous secret too until then."
    )
    failing_since = serializers.DateTimeField(allow_null=True, help_text="The first failure of the current streak.")
    failures = serializers.IntegerField(help_text="Failed attempts in the current streak.")
    next_attempt_at = serializers.DateTimeField(allow_null=True, help_text="When the failing delivery is tried again.")
    last_error = serializers.CharField(allow_null=True)
    last_delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, endpoint):
        data = {
            "id": endpoint.pk,
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": list(endpoint.event_types),
            "enabled": endpoint.enabled,
            "status": endpoint.status,
            "disabled_reason": endpoint.disabled_reason or None,
            "disabled_at": endpoint.disabled_at,
            "secret_hint": endpoint.secret_hint,
            "secret_rotated_at": endpoint.secret_rotated_at,
            "previous_secret_signs_until": endpoint.previous_secret_until if endpoint.previous_secret else None,
            "failing_since": endpoint.failing_since,
            "failures": endpoint.failures,
            "next_attempt_at": endpoint.next_attempt_at,
            "last_error": endpoint.last_error or None,
            "last_delivered_at": endpoint.last_delivered_at,
            "created_at": endpoint.created_at,
            "updated_at": endpoint.updated_at,
        }
        return {k: _TIME.to_representation(v) if k in _TIMES else v for k, v in data.items()}


class WebhookWithSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_…), shown in this answer only: keep it now. Verify each delivery's "
        "webhook-signature with it (Standard Webhooks)."
    )

    def to_representation(self, endpoint):
        return {**super().to_representation(endpoint), "secret": endpoint.secret}


class DeliverySerializer(serializers.Serializer):
    id = serializers.CharField()
    event_id = serializers.CharField(help_text="The event's id, sent as webhook-id (the same on every attempt).")
    event_type = serializers.CharField()
    event_position = serializers.CharField(help_text="The event's position in the feed (GET /v1/events).")
    attempt = serializers.IntegerField(help_text="This event's attempt to this endpoint: 1, 2, …")
    replay = serializers.BooleanField(help_text="Sent again on an admin's request.")
    status_code = serializers.IntegerField(allow_null=True, help_text="The answer's status; null when none came.")
    latency_ms = serializers.IntegerField(allow_null=True)
    response_excerpt = serializers.CharField(help_text="The answer's first 500 characters.")
    outcome = serializers.ChoiceField(choices=WebhookDelivery.Outcome.values)
    error = serializers.CharField(allow_null=True, help_text="Why it failed or was refused.")
    created_at = serializers.DateTimeField()

    def to_representation(self, delivery):
        return {
            "id": delivery.pk,
            "event_id": delivery.event_id,
            "event_type": delivery.event_type,
            "event_position": str(delivery.event_position),
            "attempt": delivery.attempt,
            "replay": delivery.replay,
            "status_code": delivery.status_code,
            "latency_ms": delivery.latency_ms,
            "response_excerpt": delivery.response_excerpt,
            "outcome": delivery.outcome,
            "error": delivery.error or None,
            "created_at": _TIME.to_representation(delivery.created_at),
        }


class ReplayQueuedSerializer(serializers.Serializer):
    events = serializers.IntegerField(help_text="How many events are queued to be sent again.")


WebhookEnvelope = enveloped("WebhookEnvelope", WebhookSerializer)
WebhookWithSecretEnvelope = enveloped("WebhookWithSecretEnvelope", WebhookWithSecretSerializer)
WebhookPageEnvelope = enveloped("WebhookPage", WebhookSerializer, many=True, paged=True)
DeliveryPageEnvelope = enveloped("WebhookDeliveryPage", DeliverySerializer, many=True, paged=True)
ReplayQueuedEnvelope = enveloped("WebhookReplayEnvelope", ReplayQueuedSerializer)
