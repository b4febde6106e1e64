"""The second factor in the console: after a right password, an account with an authenticator
app gives a code (or a recovery code) on a second page before it is signed in; where the
tenant requires a second factor, an account without one sets it up there; wrong codes share
the sign-in limits (429 with Retry-After); sign-ins through an identity provider are never
asked; /account/two-factor/ shows and changes a signed-in user's own second factor."""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import RequestFactory
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.identity.models import IdentityProvider
from accounts.identity.policy import policy_update
from accounts.models import AuditEvent, SignInFailures
from accounts.twofactor import services
from accounts.twofactor.services import (
    MSG_CODE_WRONG,
    MSG_REQUIRED_CANNOT_DISABLE,
    MSG_SETUP_CODE_WRONG,
)
from console.auth.forms import MSG_CODE_REQUIRED
from console.auth.sso import finish_sign_in
from console.auth.views import (
    MSG_RECOVERY_CODE_USED,
    MSG_SECOND_STEP_EXPIRED,
    MSG_SIGNED_IN,
    MSG_TWO_FACTOR_OFF,
    MSG_TWO_FACTOR_ON,
    PENDING_KEY,
)
from testing.factories import StaffUserFactory
from testing.otp import code_at, fresh_code

PASSWORD = "correct horse battery"
STEP = "/login/two-factor/"
SETUP_AT_SIGN_IN = "/login/two-factor/setup/"
ACCOUNT = "/account/two-factor/"
ACCOUNT_SETUP = "/account/two-factor/setup/"


@pytest.fixture
def enrolled(operator_user):
    enrolment = services.two_factor_enrol(user=operator_user)
    codes = services.two_factor_confirm(user=operator_user, code=fresh_code(enrolment.device))
    return operator_user, TOTPDevice.objects.get(user=operator_user), codes


@pytest.fixture
def no_backoff(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def _signed_in(client):
    return "_auth_user_id" in client.session


def _password(client, email="operator@uni.example", **extra):
    return client.post("/login/", {"username": email, "password": PASSWORD, **extra})


def _wrong(device):
    right = fresh_code(device)
    return "000000" if right != "000000" else "111111"


# The second step ---------------------------------------------------------------------------


def test_a_right_password_of_an_account_with_an_app_asks_for_a_code_before_signing_in(console_as, enrolled):
    client = console_as()
    response = _password(client)
    assert response.status_code == 302 and response["Location"] == STEP
    assert not _signed_in(client)
    assert client.get("/students/").status_code == 302  # not signed in yet
    page = client.get(STEP)
    html = page.content.decode()
    assert page.status_code == 200 and page.templates[0].name == "console/auth/two_factor_verify.html"
    assert "Enter the 6-digit code from your authenticator app" in html
    assert 'autocomplete="one-time-code"' in html and 'name="code"' in html and 'name="csrfmiddlewaretoken"' in html
    assert not AuditEvent.objects.filter(action="auth.sign_in").exists()


def test_the_right_code_signs_in_lands_where_asked_and_is_audited(console_as, enrolled):
    user, device, _ = enrolled
    client = console_as()
    response = _password(client, next="/dashboard/")
    assert response["Location"] == STEP
    response = client.post(STEP, {"code": fresh_code(device)}, follow=True)
    assert response.redirect_chain[0] == ("/dashboard/", 302)
    assert _signed_in(client) and PENDING_KEY not in client.session
    assert MSG_SIGNED_IN.format(name="Obi Operator") in response.content.decode()
    [event] = AuditEvent.objects.filter(action="auth.sign_in")
    assert event.actor_id == user.pk and event.detail == {"method": "password"}


def test_a_wrong_code_shows_the_page_again_with_the_error_and_is_counted(console_as, enrolled):
    _, device, _ = enrolled
    client = console_as()
    _password(client)
    response = client.post(STEP, {"code": _wrong(device)})
    html = response.content.decode()
    assert response.status_code == 200 and MSG_CODE_WRONG.replace("’", "&#x27;").split(".")[0] in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html
    assert not _signed_in(client)
    assert SignInFailures.objects.filter(key__startswith="account:").count() == 1
    # An empty code is asked for again, not counted.
    response = client.post(STEP, {"code": "  "})
    assert MSG_CODE_REQUIRED in response.content.decode()
    assert SignInFailures.objects.filter(key__startswith="account:").count() == 1


def test_wrong_codes_past_the_limit_answer_429_with_retry_after_as_the_login(console_as, enrolled, settings, no_backoff):
    settings.SIGN_IN_FAILURES_PER_ACCOUNT = 3
    _, device, _ = enrolled
    client = console_as()
    _password(client)
    for _ in range(3):
        assert client.post(STEP, {"code": _wrong(device)}).status_code == 200
    response = client.post(STEP, {"code": fresh_code(device)})
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 900
    assert "Too many failed sign-ins. Try again in" in response.content.decode()
    assert not _signed_in(client)
    # The password step shares the limit.
    assert _password(console_as()).status_code == 429


def test_django_otp_back_off_is_a_429_too(console_as, enrolled):
    _, device, _ = enrolled
    client = console_as()
    _password(client)
    client.post(STEP, {"code": _wrong(device)})
    response = client.post(STEP, {"code": fresh_code(device)})
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert "Too many wrong codes in a row" in response.content.decode()


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(console_as, enrolled, no_backoff):
    _, _, codes = enrolled
    client = console_as()
    _password(client)
    response = client.post(STEP, {"code": codes[0]}, follow=True)
    assert _signed_in(client)
    assert MSG_RECOVERY_CODE_USED.format(left=9) in response.content.decode()
    again = console_as()
    _password(again)
    response = again.post(STEP, {"code": codes[0]})
    assert response.status_code == 200 and not _signed_in(again)


def test_the_second_step_expires_after_five_minutes(console_as, enrolled):
    _, device, _ = enrolled
    client = console_as()
    _password(client)
    session = client.session
    session[PENDING_KEY]["started_at"] -= 5 * 60 + 1
    session.save()
    response = client.post(STEP, {"code": fresh_code(device)}, follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert MSG_SECOND_STEP_EXPIRED in response.content.decode()
    assert not _signed_in(client) and PENDING_KEY not in client.session


def test_a_password_changed_during_the_second_step_voids_it(console_as, enrolled):
    user, device, _ = enrolled
    client = console_as()
    _password(client)
    user.set_password("another password entirely")
    user.save()
    response = client.post(STEP, {"code": fresh_code(device)})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not _signed_in(client)


def test_the_second_step_pages_without_a_password_first_go_to_sign_in(console_as, enrolled):
    client = console_as()
    for url in (STEP, SETUP_AT_SIGN_IN):
        assert client.get(url)["Location"] == "/login/"
        assert client.post(url, {"code": "123456"})["Location"] == "/login/"
    assert not SignInFailures.objects.exists()


def test_the_password_step_starts_a_new_session(console_as, enrolled):
    client = console_as()
    client.get("/login/")
    before = client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    _password(client)
    assert client.cookies["sessionid"].value != before


def test_an_account_without_an_app_signs_in_with_its_password_alone_audited(console_as, viewer_user):
    client = console_as()
    response = client.post("/login/", {"username": viewer_user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/students/"
    assert _signed_in(client)
    [event] = AuditEvent.objects.filter(action="auth.sign_in")
    assert event.actor_id == viewer_user.pk and event.detail == {"method": "password"}


# Where the tenant requires a second factor --------------------------------------------------


def test_under_the_requirement_an_account_without_an_app_sets_one_up_to_sign_in(console_as, viewer_user, tenant):
    policy_update(require_two_factor=True)
    client = console_as()
    response = client.post("/login/", {"username": viewer_user.email, "password": PASSWORD, "next": "/dashboard/"})
    assert response["Location"] == SETUP_AT_SIGN_IN
    assert client.get(STEP)["Location"] == SETUP_AT_SIGN_IN
    page = client.get(SETUP_AT_SIGN_IN)
    html = page.content.decode()
    assert page.status_code == 200 and not _signed_in(client)
    device = TOTPDevice.objects.get(user=viewer_user, confirmed=False)
    enrolment = services.enrolment_of(device)
    assert f'data-secret="{enrolment.secret}"' in html and enrolment.secret_groups in html
    assert 'src="data:image/svg+xml' in html and "QR code that adds Test University" in html
    # A wrong code: the page again, the same key.
    response = client.post(SETUP_AT_SIGN_IN, {"code": _wrong(device)})
    assert response.status_code == 200 and "That code does not match the key" in response.content.decode()
    assert enrolment.secret in response.content.decode() and not _signed_in(client)
    assert MSG_SETUP_CODE_WRONG.startswith("That code does not match the key")
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    # The right one: signed in, the recovery codes shown once, then on to where they were going.
    response = client.post(SETUP_AT_SIGN_IN, {"code": fresh_code(device)})
    html = response.content.decode()
    assert response.status_code == 200 and response.templates[0].name == "console/auth/two_factor_codes.html"
    assert _signed_in(client) and html.count("data-recovery-code") == 10
    assert MSG_TWO_FACTOR_ON in html and 'href="/dashboard/"' in html
    assert list(AuditEvent.objects.filter(action__in=["two_factor.enrol", "auth.sign_in"]).values_list("action", flat=True).order_by("id")) == [
        "two_factor.enrol", "auth.sign_in",
    ]


def test_under_the_requirement_an_account_with_an_app_gives_its_code(console_as, enrolled):
    policy_update(require_two_factor=True)
    client = console_as()
    assert _password(client)["Location"] == STEP
    assert client.get(SETUP_AT_SIGN_IN)["Location"] == STEP


def test_a_sign_in_through_an_identity_provider_is_never_asked_for_a_second_factor(enrolled, host):
    user, _, _ = enrolled
    policy_update(require_two_factor=True)
    provider = IdentityProvider.objects.create(
        kind="oidc", slug="uni-idp", name="Uni IdP", issuer="https://idp.uni.example", client_id="console",
        role_rules=[{"value": "staff", "role": "operator"}],
    )
    request = RequestFactory().get("/sso/uni-idp/oidc/callback/", HTTP_HOST=host)
    SessionMiddleware(lambda r: None).process_request(request)
    request.user = AnonymousUser()
    request._messages = FallbackStorage(request)
    response = finish_sign_in(request, provider, subject="sub-1", claims={"email": user.email, "groups": ["staff"]})
    assert response.status_code == 302 and response["Location"] == "/students/"
    assert request.session["_auth_user_id"] == str(user.pk) and PENDING_KEY not in request.session


# A signed-in user's own page ---------------------------------------------------------------


def test_the_page_needs_a_signed_in_user(console_as):
    for url in (ACCOUNT, ACCOUNT_SETUP):
        response = console_as().get(url)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={url}"


def test_the_base_template_links_the_page_from_the_user_area(console_as, viewer_user):
    html = console_as(viewer_user).get("/students/").content.decode()
    assert f'href="{ACCOUNT}"' in html


def test_a_user_without_a_second_factor_sets_it_up_from_the_page(console_as, viewer_user):
    client = console_as(viewer_user)
    html = client.get(ACCOUNT).content.decode()
    assert "Off" in html and f'href="{ACCOUNT_SETUP}"' in html
    page = client.get(ACCOUNT_SETUP)
    assert page.status_code == 200 and "data-secret" in page.content.decode()
    device = TOTPDevice.objects.get(user=viewer_user, confirmed=False)
    response = client.post(ACCOUNT_SETUP, {"code": _wrong(device)})
    assert response.status_code == 400 and "That code does not match the key" in response.content.decode()
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    response = client.post(ACCOUNT_SETUP, {"code": fresh_code(device)})
    html = response.content.decode()
    assert response.status_code == 200 and html.count("data-recovery-code") == 10 and MSG_TWO_FACTOR_ON in html
    assert f'href="{ACCOUNT}"' in html
    html = client.get(ACCOUNT).content.decode()
    assert "10 unused" in html and "Make new recovery codes" in html and "Turn off" in html
    # Setting up again is refused, back on the page with why.
    response = client.get(ACCOUNT_SETUP, follow=True)
    assert response.redirect_chain == [(ACCOUNT, 302)] and "already set up" in response.content.decode()


def test_new_recovery_codes_from_the_page_after_a_code(console_as, enrolled, no_backoff):
    user, device, old = enrolled
    client = console_as(user)
    response = client.post(ACCOUNT, {"action": "recovery_codes", "recovery_codes-code": _wrong(device)})
    assert response.status_code == 400 and 'id="id_recovery_codes-code-err"' in response.content.decode()
    response = client.post(ACCOUNT, {"action": "recovery_codes", "recovery_codes-code": fresh_code(device)})
    html = response.content.decode()
    assert response.status_code == 200 and html.count("data-recovery-code") == 10
    assert not any(code in html for code in old)
    assert AuditEvent.objects.filter(action="two_factor.recovery_codes").count() == 1


def test_turning_it_off_from_the_page_after_a_code(console_as, enrolled, no_backoff):
    user, device, _ = enrolled
    client = console_as(user)
    response = client.post(ACCOUNT, {"action": "disable", "disable-code": ""})
    assert response.status_code == 400 and MSG_CODE_REQUIRED in response.content.decode()
    response = client.post(ACCOUNT, {"action": "disable", "disable-code": fresh_code(device)}, follow=True)
    assert response.redirect_chain == [(ACCOUNT, 302)] and MSG_TWO_FACTOR_OFF in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists() and not StaticDevice.objects.filter(user=user).exists()
    assert _password(console_as())["Location"] == "/students/"


def test_the_page_offers_no_turning_off_while_the_tenant_requires_it_and_refuses_it(console_as, enrolled):
    user, device, _ = enrolled
    policy_update(require_two_factor=True)
    client = console_as(user)
    html = client.get(ACCOUNT).content.decode()
    assert 'value="disable"' not in html and "requires two-factor sign-in" in html
    response = client.post(ACCOUNT, {"action": "disable", "disable-code": fresh_code(device)})
    assert response.status_code == 403 and MSG_REQUIRED_CANNOT_DISABLE.split(",")[0] in response.content.decode()
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_an_unknown_action_is_a_400(console_as, enrolled):
    user, _, _ = enrolled
    assert console_as(user).post(ACCOUNT, {"action": "explode"}).status_code == 400


def test_an_account_without_a_password_is_told_the_provider_asks_instead(console_as):
    user = StaffUserFactory(roles=["viewer"])
    user.set_unusable_password()
    user.save()
    client = console_as(user)
    html = client.get(ACCOUNT).content.decode()
    assert "identity provider" in html and ACCOUNT_SETUP not in html
    response = client.get(ACCOUNT_SETUP, follow=True)
    assert response.redirect_chain == [(ACCOUNT, 302)]
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_the_code_of_one_step_is_not_accepted_twice_across_sign_ins(console_as, enrolled):
    _, device, _ = enrolled
    device.refresh_from_db()
    used = code_at(device, device.last_t)  # the code that confirmed the set-up
    client = console_as()
    _password(client)
    assert client.post(STEP, {"code": used}).status_code == 200
    assert not _signed_in(client)
