"""The webhooks API, for WEBHOOKS.can_manage (admins): GET/POST /v1/webhooks,
GET/PATCH/DELETE /v1/webhooks/{webhook_id}, POST …/{webhook_id}/rotate-secret,
GET …/{webhook_id}/deliveries, POST …/{webhook_id}/deliveries/{delivery_id}/replay and
POST …/{webhook_id}/replay."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from accounts.permissions import WEBHOOKS_MANAGE, HasPermission
from config.api import ok, page_of, paged, validated
from config.ids import check_id
from config.openapi import error_responses
from console.webhooks import selectors, services
from console.webhooks.serializers import (
    DeliveriesQuery,
    DeliveryPageEnvelope,
    DeliverySerializer,
    ReplayQueuedEnvelope,
    ReplayRangeSerializer,
    WebhookCreateSerializer,
    WebhookEnvelope,
    WebhookPageEnvelope,
    WebhookSerializer,
    WebhooksPageQuery,
    WebhookUpdateSerializer,
    WebhookWithSecretEnvelope,
    WebhookWithSecretSerializer,
)

TAG = "Webhooks"
DELIVERY_DESCRIPTION = (
    "Each event is POSTed as JSON (the feed's shape, GET /v1/events) with the Standard Webhooks headers "
    "`webhook-id` (the event's id, the same on every retry and replay), `webhook-timestamp` and "
    "`webhook-signature` (HMAC-SHA256 with the endpoint's secret; after a rotation, one signature per secret "
    "still valid, space-separated). Events go out in commit order, one at a time per endpoint, so the events "
    "of one student arrive in order; any 2xx answer within WEBHOOK_TIMEOUT_SECONDS (10) counts. Another "
    "status (a redirect too: none is followed), a time-out or a connection error is retried from the same "
    "event with exponential backoff and jitter; an endpoint still failing WEBHOOK_DISABLE_AFTER_HOURS (24) "
    "after its first failure is disabled, and the console tells its admins."
)


def _webhook_id(value):
    return check_id(value, field="webhook_id")


def _responses(success, *, not_found=True, conflict=None):
    """The operation's success and error responses; `not_found`: True for the endpoint's 404."""
    return {**success, **error_responses(
        not_found=selectors.MSG_WEBHOOK_NOT_FOUND if not_found is True else not_found, conflict=conflict
    )}


class _WebhooksApi(APIView):
    permission_classes = [HasPermission.of(WEBHOOKS_MANAGE)]


class WebhookListApi(_WebhooksApi):
    @extend_schema(tags=[TAG], summary="List webhook endpoints", operation_id="webhooks_list",
                   description="Requires WEBHOOKS.can_manage (admins). Newest first.",
                   parameters=[WebhooksPageQuery], responses=_responses({200: WebhookPageEnvelope}, not_found=None))
    def get(self, request):
        params = validated(WebhooksPageQuery, request.query_params)
        rows, paging = page_of(selectors.endpoint_list(), page=params["page"], per_page=params["per_page"])
        return paged(WebhookSerializer(rows, many=True).data, **paging)

    @extend_schema(tags=[TAG], summary="Register a webhook endpoint", operation_id="webhooks_create",
                   description=(
                       "Requires WEBHOOKS.can_manage. The answer holds the signing `secret`, in full this once. "
                       "The endpoint receives the events committed from now on. " + DELIVERY_DESCRIPTION
                   ),
                   request=WebhookCreateSerializer,
                   responses=_responses({201: WebhookWithSecretEnvelope}, not_found=None))
    def post(self, request):
        body = validated(WebhookCreateSerializer, request.data)
        endpoint = services.endpoint_create(
            url=body["url"], description=body.get("description", ""), event_types=body.get("event_types", []),
            enabled=body.get("enabled", True), user=request.user,
        )
        return ok(WebhookWithSecretSerializer(endpoint).data, status=201,
                  headers={"Location": f"/v1/webhooks/{endpoint.pk}"})


class WebhookDetailApi(_WebhooksApi):
    @extend_schema(tags=[TAG], summary="Retrieve a webhook endpoint", operation_id="webhooks_retrieve",
                   description="Requires WEBHOOKS.can_manage. The secret shows as its last characters only.",
                   responses=_responses({200: WebhookEnvelope}))
    def get(self, request, webhook_id):
        return ok(WebhookSerializer(selectors.access_endpoint(webhook_id=webhook_id)).data)

    @extend_schema(tags=[TAG], summary="Change a webhook endpoint", operation_id="webhooks_partial_update",
                   description=(
                       "Requires WEBHOOKS.can_manage. Only the fields sent change. `enabled: true` clears the "
                       "failure streak and delivers what is waiting at once (from where delivery stopped); "
                       "`enabled: false` stops deliveries. A new `url` starts a new streak."
                   ),
                   request=WebhookUpdateSerializer, responses=_responses({200: WebhookEnvelope}))
    def patch(self, request, webhook_id):
        webhook_id = _webhook_id(webhook_id)
        body = validated(WebhookUpdateSerializer, request.data)
        endpoint = services.endpoint_update(endpoint_id=webhook_id, **body)
        return ok(WebhookSerializer(endpoint).data)

    @extend_schema(tags=[TAG], summary="Delete a webhook endpoint", operation_id="webhooks_destroy",
                   description="Requires WEBHOOKS.can_manage. Its delivery log goes with it.",
                   responses=_responses({200: OpenApiResponse(description="Deleted; data is null.")}))
    def delete(self, request, webhook_id):
        services.endpoint_delete(endpoint_id=_webhook_id(webhook_id))
        return ok(None, message="Deleted.")


class WebhookRotateSecretApi(_WebhooksApi):
    @extend_schema(tags=[TAG], summary="Rotate a webhook endpoint's secret", operation_id="webhooks_rotate_secret",
                   description=(
                       "Requires WEBHOOKS.can_manage. The answer holds the new `secret`, in full this once. The "
                       "secret it replaces keeps signing too (a second signature in `webhook-signature`) until "
                       "`previous_secret_signs_until`, WEBHOOK_SECRET_OVERLAP_HOURS (24) from now, so receivers "
                       "can switch over; a secret rotated out before stops signing now."
                   ),
                   request=None, responses=_responses({200: WebhookWithSecretEnvelope}))
    def post(self, request, webhook_id):
        endpoint = services.endpoint_rotate_secret(endpoint_id=_webhook_id(webhook_id))
        return ok(WebhookWithSecretSerializer(endpoint).data)


class WebhookDeliveriesApi(_WebhooksApi):
    @extend_schema(tags=[TAG], summary="A webhook endpoint's delivery log", operation_id="webhooks_deliveries",
                   description=(
                       "Requires WEBHOOKS.can_manage. Every attempt, newest first: the event, the attempt's number, "
                       "the answer's status, latency and first 500 characters, and the outcome (delivered: a 2xx; "
                       "failed; refused: the address is private). Kept 30 days."
                   ),
                   parameters=[DeliveriesQuery], responses=_responses({200: DeliveryPageEnvelope}))
    def get(self, request, webhook_id):
        endpoint = selectors.access_endpoint(webhook_id=webhook_id)
        params = validated(DeliveriesQuery, request.query_params)
        deliveries = selectors.delivery_list(endpoint=endpoint, outcome=params.get("outcome"))
        rows, paging = page_of(deliveries, page=params["page"], per_page=params["per_page"])
        return paged(DeliverySerializer(rows, many=True).data, **paging)


class WebhookDeliveryReplayApi(_WebhooksApi):
    @extend_schema(tags=[TAG], summary="Send a delivery's event again", operation_id="webhooks_delivery_replay",
                   description=(
                       "Requires WEBHOOKS.can_manage. The event is queued to be sent again, with the same "
                       "`webhook-id`, beside the endpoint's own progress (which it does not change). 409 when the "
                       "endpoint is disabled or the event is no longer kept."
                   ),
                   request=None,
                   responses=_responses({202: ReplayQueuedEnvelope},
                                        not_found="No such webhook endpoint, or no such delivery of it.",
                                        conflict=services.MSG_REPLAY_ENDPOINT_DISABLED))
    def post(self, request, webhook_id, delivery_id):
        endpoint = selectors.access_endpoint(webhook_id=webhook_id)
        delivery = selectors.access_delivery(endpoint=endpoint, delivery_id=delivery_id)
        return ok({"events": services.delivery_replay(endpoint=endpoint, delivery=delivery)}, status=202)


class WebhookReplayApi(_WebhooksApi):
    @extend_schema(tags=[TAG], summary="Send a time range's events again", operation_id="webhooks_replay",
                   description=(
                       "Requires WEBHOOKS.can_manage. Every kept event of the endpoint's types that occurred between "
                       "`since` and `until` (default now) is queued to be sent again, in commit order, with the "
                       "same `webhook-id`s, beside the endpoint's own progress. 409 when the endpoint is disabled."
                   ),
                   request=ReplayRangeSerializer,
                   responses=_responses({202: ReplayQueuedEnvelope}, conflict=services.MSG_REPLAY_ENDPOINT_DISABLED))
    def post(self, request, webhook_id):
        endpoint = selectors.access_endpoint(webhook_id=webhook_id)
        body = validated(ReplayRangeSerializer, request.data)
        count = services.endpoint_replay_range(endpoint=endpoint, since=body["since"], until=body.get("until"))
        return ok({"events": count}, status=202)
