from django.urls import path, re_path

from config.ids import id_in_path
from console.webhooks import apis, views

_WEBHOOK = id_in_path("webhook_id")

api = [
    re_path(r"^webhooks/?$", apis.WebhookListApi.as_view(), name="webhooks"),
    re_path(rf"^webhooks/{_WEBHOOK}/?$", apis.WebhookDetailApi.as_view(), name="webhook"),
    re_path(rf"^webhooks/{_WEBHOOK}/rotate-secret/?$", apis.WebhookRotateSecretApi.as_view(), name="webhook-rotate-secret"),
    re_path(rf"^webhooks/{_WEBHOOK}/deliveries/?$", apis.WebhookDeliveriesApi.as_view(), name="webhook-deliveries"),
    re_path(
        rf"^webhooks/{_WEBHOOK}/deliveries/{id_in_path('delivery_id')}/replay/?$",
        apis.WebhookDeliveryReplayApi.as_view(), name="webhook-delivery-replay",
    ),
    re_path(rf"^webhooks/{_WEBHOOK}/replay/?$", apis.WebhookReplayApi.as_view(), name="webhook-replay"),
]

pages = [
    # GET lists the endpoints; POST registers one (its secret shown on the answer, once).
    path("webhooks/", views.webhooks_page, name="webhooks"),
    # GET: the endpoint and its delivery log; POST changes it (field `action`).
    path("webhooks/<id:webhook_id>/", views.webhook_page, name="webhook"),
]
