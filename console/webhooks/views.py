"""The Webhooks pages, for WEBHOOKS.can_manage (admins): /webhooks/ lists the endpoints with
their status (enabled, failing and retried, or disabled and why) and registers new ones, the
signing secret shown on the answer, once; /webhooks/<id>/ shows one endpoint with its delivery
log and changes it (field `action`): its address, description and event types, disable or
enable, rotate the secret (the new one shown once), delete, and send again one delivery's event
or a time range's events. Through console.webhooks.services, the services behind /v1/webhooks,
so the rules, refusals and audit events are the same."""
import math

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import WEBHOOKS_MANAGE
from config.errors import AppError
from console.listing import ListRequest
from console.pages import (
    apply_service_errors,
    console_page,
    form_refused,
    not_found,
    plural,
    record_action_confirmation,
)
from console.webhooks import selectors, services
from console.webhooks.forms import ReplayRangeForm, WebhookForm

MSG_WEBHOOK_CREATED = "Registered the endpoint. Copy its signing secret now: it is not shown again."
MSG_WEBHOOK_SAVED = "Saved the endpoint."
MSG_WEBHOOK_ENABLED = "Enabled the endpoint: what waits for it is being delivered."
MSG_WEBHOOK_DISABLED = "Disabled the endpoint: its events wait until it is enabled again."
MSG_WEBHOOK_ROTATED = "A new signing secret is below; copy it now: it is not shown again."
MSG_WEBHOOK_DELETED = "Deleted the endpoint {url}."
MSG_REPLAY_QUEUED = "Queued {n} event{s} to be sent again."
MSG_CONFIRM_WEBHOOK_DELETE = "Delete the endpoint {url}?"
WEBHOOK_DELETE_CONSEQUENCES = (
    "No more events are sent to it, and the events waiting for it are dropped.",
    "Its delivery log goes with it; registering the address again starts afresh, with a new secret.",
)
ACTIONS = ("update", "enable", "disable", "rotate", "delete", "replay", "replay_range")
DELIVERIES_PAGE_SIZE = 25


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(WEBHOOKS_MANAGE)
def webhooks_page(request):
    """Queries: the endpoints (and, on POST, the registration's)."""
    if request.method != "POST":
        return _list(request, WebhookForm())
    form = WebhookForm(request.POST)
    if not form.is_valid():
        form_refused(request)
        return _list(request, form, status=400)
    try:
        endpoint = services.endpoint_create(
            url=form.cleaned_data["url"], description=form.cleaned_data["description"],
            event_types=form.cleaned_data["event_types"], user=request.user,
        )
    except AppError as error:
        apply_service_errors(form, error, {"__all__": "url"})
        form_refused(request)
        return _list(request, form, status=error.status_code)
    messages.success(request, MSG_WEBHOOK_CREATED)
    return _list(request, WebhookForm(), created=endpoint, status=201)


def _list(request, form, *, created=None, status=200):
    context = {
        "endpoints": list(selectors.endpoint_list()),
        "form": form,
        "created": created,
        "allow_private": settings.WEBHOOKS_ALLOW_PRIVATE,
    }
    return render(request, "console/webhooks/list.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(WEBHOOKS_MANAGE)
def webhook_page(request, webhook_id):
    """Queries: the endpoint, the log's count and page (and, on POST, the change's). GET
    `?delete`: the confirmation of deleting it; only its POST deletes."""
    try:
        endpoint = selectors.access_endpoint(webhook_id=webhook_id)
    except AppError as error:
        return not_found(request, error.message)
    if request.method != "POST":
        return _confirm_delete(request, endpoint) if "delete" in request.GET else _detail(request, endpoint)
    action = request.POST.get("action")
    if action not in ACTIONS:
        action = "update"
    return _ACTIONS[action](request, endpoint)


def _update(request, endpoint):
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_update(endpoint_id=endpoint.pk, **form.cleaned_data)
        except AppError as error:
            if error.status_code == 404:
                return not_found(request, error.message)
            apply_service_errors(form, error, {"__all__": "url"})
        else:
            messages.success(request, MSG_WEBHOOK_SAVED)
            return redirect("console:webhook", webhook_id=endpoint.pk)
    form_refused(request)
    return _detail(request, endpoint, form=form, status=400)


def _switch(enabled, message):
    def act(request, endpoint):
        try:
            services.endpoint_update(endpoint_id=endpoint.pk, enabled=enabled)
        except AppError as error:
            return not_found(request, error.message)
        messages.success(request, message)
        return redirect("console:webhook", webhook_id=endpoint.pk)

    return act


def _rotate(request, endpoint):
    try:
        endpoint = services.endpoint_rotate_secret(endpoint_id=endpoint.pk)
    except AppError as error:
        return not_found(request, error.message)
    messages.success(request, MSG_WEBHOOK_ROTATED)
    return _detail(request, endpoint, rotated=True)


def _confirm_delete(request, endpoint):
    return record_action_confirmation(
        request,
        record_url=reverse("console:webhook", args=[endpoint.pk]),
        record_name=endpoint.url,
        parent=("Webhooks", reverse("console:webhooks")),
        action="delete",
        title="Delete the endpoint",
        question=MSG_CONFIRM_WEBHOOK_DELETE.format(url=endpoint.url),
        consequences=WEBHOOK_DELETE_CONSEQUENCES,
        button="Delete the endpoint",
    )


def _delete(request, endpoint):
    try:
        services.endpoint_delete(endpoint_id=endpoint.pk)
    except AppError as error:
        return not_found(request, error.message)
    messages.success(request, MSG_WEBHOOK_DELETED.format(url=endpoint.url))
    return redirect("console:webhooks")


def _replay(request, endpoint):
    try:
        delivery = selectors.access_delivery(endpoint=endpoint, delivery_id=request.POST.get("delivery", ""))
        n = services.delivery_replay(endpoint=endpoint, delivery=delivery)
    except AppError as error:
        messages.error(request, error.message)
        return redirect("console:webhook", webhook_id=endpoint.pk)
    messages.success(request, MSG_REPLAY_QUEUED.format(n=n, s=plural(n)))
    return redirect("console:webhook", webhook_id=endpoint.pk)


def _replay_range(request, endpoint):
    form = ReplayRangeForm(request.POST)
    if form.is_valid():
        try:
            n = services.endpoint_replay_range(
                endpoint=endpoint, since=form.cleaned_data["since"], until=form.cleaned_data["until"]
            )
        except AppError as error:
            apply_service_errors(form, error, {"__all__": "since"})
        else:
            messages.success(request, MSG_REPLAY_QUEUED.format(n=n, s=plural(n)))
            return redirect("console:webhook", webhook_id=endpoint.pk)
    form_refused(request)
    return _detail(request, endpoint, range_form=form, status=400)


_ACTIONS = {
    "update": _update,
    "enable": _switch(True, MSG_WEBHOOK_ENABLED),
    "disable": _switch(False, MSG_WEBHOOK_DISABLED),
    "rotate": _rotate,
    "delete": _delete,
    "replay": _replay,
    "replay_range": _replay_range,
}


def _detail(request, endpoint, *, form=None, range_form=None, rotated=False, status=200):
    paging = ListRequest(request.GET, request.tenant.tzinfo)
    paging.page_size = DELIVERIES_PAGE_SIZE
    deliveries = selectors.delivery_list(endpoint=endpoint)
    total = deliveries.count()
    paging.clamp(total)
    rows = list(deliveries[paging.skip : paging.skip + paging.page_size]) if total else []
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    context = {
        "endpoint": endpoint,
        "form": form or WebhookForm(initial=initial),
        "range_form": range_form or ReplayRangeForm(),
        "rotated": rotated,
        "deliveries": rows,
        "total": total,
        "paging": paging,
        "pages": paging.page_links(total),
        "total_pages": max(1, math.ceil(total / paging.page_size)),
        "allow_private": settings.WEBHOOKS_ALLOW_PRIVATE,
    }
    return render(request, "console/webhooks/detail.html", context, status=status)
