"""The console's Webhooks pages (console.webhooks.views): for admins only; register (the secret
shown once), change, disable and enable, rotate, delete, the delivery log with its replay
buttons; refusals beside their fields; the nav link for admins."""
import datetime as dt
import re

import pytest
from django.utils import timezone
from django.utils.html import escape

from accounts.events import types
from accounts.models import AuditEvent
from console.pages import MSG_FIX_ERRORS
from console.webhooks import services, views
from console.webhooks.models import WebhookDelivery, WebhookEndpoint
from testing.jobs import queued_jobs

PAGE = "/webhooks/"


def _page(endpoint):
    return f"/webhooks/{endpoint.pk}/"


@pytest.fixture
def endpoint():
    return services.endpoint_create(url="https://hooks.example.com/sis", description="The SIS")


def _log(endpoint, n=3, outcome="delivered"):
    for i in range(n):
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=f"{i:024x}", event_type="student.updated", event_position=i + 1,
            outcome=outcome, status_code=204 if outcome == "delivered" else 500, latency_ms=12,
            error="" if outcome == "delivered" else "Answered 500.", response_excerpt="",
        )


def test_admins_see_the_page_and_the_nav_link_others_neither(console_as, admin_user, operator_user, viewer_user,
                                                             endpoint):
    page = console_as(admin_user).get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200 and endpoint.url in html and 'href="/webhooks/"' in html
    assert console_as(admin_user).get(_page(endpoint)).status_code == 200
    for user in (operator_user, viewer_user):
        client = console_as(user)
        assert client.get(PAGE).status_code == 403
        assert client.get(_page(endpoint)).status_code == 403
        assert client.post(_page(endpoint), {"action": "delete"}).status_code == 403
        assert 'href="/webhooks/"' not in client.get("/students/").content.decode()
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert console_as().get(PAGE).status_code == 302  # to the sign-in page


def test_registering_shows_the_secret_once(console_as, admin_user):
    client = console_as(admin_user)
    response = client.post(PAGE, {"url": "https://hooks.example.com/new", "description": "BI",
                                  "event_types": [types.STUDENT_CREATED, types.STUDENT_ARCHIVED]})
    assert response.status_code == 201
    created = WebhookEndpoint.objects.get(url="https://hooks.example.com/new")
    html = response.content.decode()
    assert created.secret in html and views.MSG_WEBHOOK_CREATED in html
    assert created.event_types == [types.STUDENT_ARCHIVED, types.STUDENT_CREATED] and created.description == "BI"
    assert created.secret not in client.get(PAGE).content.decode()
    assert created.secret not in client.get(_page(created)).content.decode()
    assert created.secret_hint in client.get(_page(created)).content.decode()


def test_a_refused_registration_says_why_beside_the_address_and_keeps_the_input(console_as, admin_user, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client = console_as(admin_user)
    response = client.post(PAGE, {"url": "https://10.0.0.5/hook", "description": "kept"})
    html = response.content.decode()
    assert response.status_code == 400 and MSG_FIX_ERRORS in html
    assert services.MSG_URL_PRIVATE in html and 'value="kept"' in html and 'value="https://10.0.0.5/hook"' in html
    response = client.post(PAGE, {"url": "not a url"})
    assert response.status_code == 400 and services.MSG_URL_SHAPE in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_changing_types_disabling_enabling_rotating_and_deleting(console_as, admin_user, endpoint):
    client = console_as(admin_user)
    response = client.post(_page(endpoint), {"action": "update", "url": endpoint.url, "description": "SIS",
                                             "event_types": [types.STUDENT_ARCHIVED]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == [types.STUDENT_ARCHIVED] and endpoint.description == "SIS"

    client.post(_page(endpoint), {"action": "disable"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "Disabled by admin@uni.example."
    html = client.get(_page(endpoint)).content.decode()
    assert "Disabled by admin@uni.example." in html and ">Enable<" in html
    client.post(_page(endpoint), {"action": "enable"})
    endpoint.refresh_from_db()
    assert endpoint.enabled and queued_jobs(services.DELIVER_TASK)

    old = endpoint.secret
    response = client.post(_page(endpoint), {"action": "rotate"})
    endpoint.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 200 and endpoint.secret in html and old not in html
    assert endpoint.previous_secret == old

    response = client.post(_page(endpoint), {"action": "delete"})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert list(AuditEvent.objects.filter(target_id=endpoint.pk).order_by("id").values_list("action", flat=True)) == [
        "webhook.create", "webhook.update", "webhook.update", "webhook.update", "webhook.rotate_secret",
        "webhook.delete",
    ]


def test_the_log_offers_replay_of_each_delivery_and_of_a_period(console_as, admin_user, endpoint):
    _log(endpoint, 2)
    client = console_as(admin_user)
    html = client.get(_page(endpoint)).content.decode()
    assert html.count('name="action" value="replay"') == 2 and "Send again" in html
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    # The event itself is gone (no event rows here): the page says so.
    response = client.post(_page(endpoint), {"action": "replay", "delivery": delivery.pk}, follow=True)
    assert services.MSG_EVENT_NOT_KEPT in response.content.decode()
    since = timezone.localtime(timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(_page(endpoint), {"action": "replay_range", "since": since}, follow=True)
    assert views.MSG_REPLAY_QUEUED.format(n=0, s="s") in response.content.decode()
    until = timezone.localtime(timezone.now() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(_page(endpoint), {"action": "replay_range", "since": since, "until": until})
    assert response.status_code == 400 and services.MSG_REPLAY_SINCE_AFTER_UNTIL in response.content.decode()


def test_a_failing_endpoint_says_since_when_and_what_went_wrong(console_as, admin_user, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now(), failures=3, last_error="Answered 503.",
        next_attempt_at=timezone.now() + dt.timedelta(minutes=4),
    )
    html = console_as(admin_user).get(_page(endpoint)).content.decode()
    assert "Failing since" in html and "Answered 503." in html and "3 attempts" in html


def test_unknown_or_malformed_endpoints_are_404_pages(console_as, admin_user):
    client = console_as(admin_user)
    assert client.get("/webhooks/000000000000000000000000/").status_code == 404
    assert client.get("/webhooks/bad%20id/").status_code == 404


@pytest.mark.parametrize("n", [2, 30])
def test_the_endpoint_page_costs_the_same_whatever_the_log(console_as, admin_user, endpoint,
                                                           django_assert_num_queries, n):
    _log(endpoint, n, outcome="failed")
    client = console_as(admin_user)
    client.get(_page(endpoint))  # warm the session and the notice's cache
    # Session, staff user with roles (one statement); the endpoint; the log's count and page.
    with django_assert_num_queries(5):
        html = client.get(_page(endpoint)).content.decode()
    assert len(re.findall(r'name="delivery"', html)) == min(n, views.DELIVERIES_PAGE_SIZE)


def test_the_list_page_costs_the_same_whatever_the_endpoints(console_as, admin_user, django_assert_num_queries):
    for i in range(4):
        services.endpoint_create(url=f"https://hooks.example.com/{i}")
    client = console_as(admin_user)
    client.get(PAGE)
    # Session, staff user with roles (one statement); the endpoints.
    with django_assert_num_queries(3):
        client.get(PAGE)


def test_delete_confirms_first_and_a_get_changes_nothing(console_as, admin_user, operator_user, endpoint):
    client = console_as(admin_user)
    assert 'href="?delete">Delete endpoint…</a>' in client.get(_page(endpoint)).content.decode()
    response = client.get(_page(endpoint), {"delete": ""})
    html = response.content.decode()
    assert response.status_code == 200 and views.MSG_CONFIRM_WEBHOOK_DELETE.format(url=endpoint.url) in html
    assert all(escape(line) in html for line in views.WEBHOOK_DELETE_CONSEQUENCES)
    assert f'action="{_page(endpoint)}"' in html and '<input type="hidden" name="action" value="delete">' in html
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not AuditEvent.objects.filter(action="webhook.delete").exists()
    assert console_as(operator_user).get(_page(endpoint), {"delete": ""}).status_code == 403
