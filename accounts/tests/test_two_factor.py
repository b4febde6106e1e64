"""The second factor of password sign-ins (accounts.twofactor): enrolment with a QR code and a
key, confirmation and recovery codes, verification (TOTP with django-otp's replay protection
and back-off, recovery codes once each), wrong codes counted by the sign-in limits, turning it
off, new recovery codes, an administrator's reset, and the token endpoint's `otp`."""
import time
from base64 import b32decode
from io import StringIO
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.identity.policy import policy_update
from accounts.models import AuditEvent, SignInFailures
from accounts.signin.services import SignInRefused
from accounts.twofactor import services
from accounts.twofactor.selectors import ENROL, VERIFY, second_factor_step, two_factor_status
from accounts.twofactor.services import (
    MSG_ALREADY_ENROLLED,
    MSG_CODE_MISSING,
    MSG_CODE_THROTTLED,
    MSG_CODE_WRONG,
    MSG_ENROL_FIRST,
    MSG_NO_PASSWORD,
    MSG_NOT_ENROLLED,
    MSG_REQUIRED_CANNOT_DISABLE,
    MSG_SETUP_CODE_WRONG,
    SecondFactorRefused,
)
from config.errors import AppError
from testing.factories import StaffUserFactory
from testing.otp import code_at, fresh_code

PASSWORD = "correct horse battery"
TOKEN = "/v1/auth/token"


# Helpers --------------------------------------------------------------------------------


def _request(address="127.0.0.1"):
    return RequestFactory().post("/login/two-factor/", REMOTE_ADDR=address)


def _raw(code):
    return code.replace("-", "")


@pytest.fixture
def limits(settings):
    settings.SIGN_IN_FAILURES_PER_ACCOUNT = 3
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 5
    settings.SIGN_IN_WINDOW_SECONDS = 900
    settings.TRUSTED_PROXY_COUNT = 0
    return settings


@pytest.fixture
def no_backoff(settings):
    """django-otp's back-off after a wrong code (1, 2, 4 … seconds) off, to test the limits alone."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def enrolled(operator_user):
    """The operator with an authenticator app set up and ten recovery codes."""
    enrolment = services.two_factor_enrol(user=operator_user)
    codes = services.two_factor_confirm(user=operator_user, code=fresh_code(enrolment.device))
    device = TOTPDevice.objects.get(user=operator_user)
    return operator_user, device, codes


def _token(client, email, password=PASSWORD, **extra):
    return client.post(TOKEN, {"email": email, "password": password, **extra}, format="json")


# Enrolment ------------------------------------------------------------------------------


def test_enrolment_gives_the_key_an_otpauth_uri_named_for_the_tenant_and_a_qr_code(operator_user, tenant):
    enrolment = services.two_factor_enrol(user=operator_user)

    device = enrolment.device
    assert device.confirmed is False and device.user == operator_user
    assert b32decode(enrolment.secret + "=" * (-len(enrolment.secret) % 8)) == device.bin_key
    assert len(enrolment.secret) == 32 and enrolment.secret_groups.replace(" ", "") == enrolment.secret
    uri = urlparse(enrolment.uri)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == "/Test University:operator@uni.example"
    query = parse_qs(uri.query)
    assert query["issuer"] == ["Test University"] and query["secret"] == [enrolment.secret]
    assert query["digits"] == ["6"] and query["period"] == ["30"] and query["algorithm"] == ["SHA1"]
    assert enrolment.qr_data_uri.startswith("data:image/svg+xml") and "%3Csvg" in enrolment.qr_data_uri


def test_enrolling_again_before_confirming_shows_the_same_key(operator_user):
    first = services.two_factor_enrol(user=operator_user)
    again = services.two_factor_enrol(user=operator_user)
    assert again.device.pk == first.device.pk and again.secret == first.secret
    assert TOTPDevice.objects.filter(user=operator_user).count() == 1


def test_an_unconfirmed_device_is_not_a_second_factor(operator_user):
    services.two_factor_enrol(user=operator_user)
    assert second_factor_step(operator_user, channel="console") is None
    assert two_factor_status(operator_user).enrolled is False


def test_a_wrong_first_code_leaves_the_device_unconfirmed_and_makes_no_codes(operator_user):
    enrolment = services.two_factor_enrol(user=operator_user)
    with pytest.raises(SecondFactorRefused) as refused:
        services.two_factor_confirm(user=operator_user, code="000000" if fresh_code(enrolment.device) != "000000" else "111111")
    assert refused.value.message == MSG_SETUP_CODE_WRONG and refused.value.status_code == 400
    assert refused.value.errors == {"otp": [MSG_SETUP_CODE_WRONG]}
    enrolment.device.refresh_from_db()
    assert enrolment.device.confirmed is False and enrolment.device.throttling_failure_count == 1
    assert not StaticDevice.objects.filter(user=operator_user).exists()
    assert not AuditEvent.objects.filter(action__startswith="two_factor.").exists()


def test_confirming_makes_ten_distinct_recovery_codes_and_audits_the_enrolment_without_secrets(operator_user):
    enrolment = services.two_factor_enrol(user=operator_user)
    codes = services.two_factor_confirm(user=operator_user, code=fresh_code(enrolment.device))

    enrolment.device.refresh_from_db()
    assert enrolment.device.confirmed is True
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 9 and code[4] == "-" for code in codes)
    stored = set(StaticToken.objects.filter(device__user=operator_user).values_list("token", flat=True))
    assert stored == {_raw(code) for code in codes}
    [event] = AuditEvent.objects.filter(action="two_factor.enrol")
    assert event.target_type == "staff_user" and event.target_id == str(operator_user.pk)
    assert event.detail == {"email": "operator@uni.example", "recovery_codes": 10}
    text = str(event.detail) + str(event.changes)
    assert enrolment.secret not in text and enrolment.device.key not in text and codes[0] not in text
    assert second_factor_step(operator_user, channel="console") == VERIFY


def test_one_cannot_enrol_twice_nor_without_a_password(enrolled):
    user, _, _ = enrolled
    with pytest.raises(AppError) as refused:
        services.two_factor_enrol(user=user)
    assert refused.value.message == MSG_ALREADY_ENROLLED and refused.value.status_code == 409
    sso_only = StaffUserFactory(password=None)
    sso_only.set_unusable_password()
    sso_only.save()
    with pytest.raises(AppError) as refused:
        services.two_factor_enrol(user=sso_only)
    assert refused.value.message == MSG_NO_PASSWORD and refused.value.status_code == 403


def test_the_first_code_cannot_be_used_again_to_sign_in(enrolled):
    user, device, _ = enrolled
    device.refresh_from_db()
    with pytest.raises(SecondFactorRefused):
        services.two_factor_verify(request=_request(), user=user, code=code_at(device, device.last_t))


# Verification ---------------------------------------------------------------------------


def test_a_code_of_the_app_is_accepted_once(enrolled, no_backoff):
    user, device, _ = enrolled
    code = fresh_code(device)
    assert services.two_factor_verify(request=_request(), user=user, code=code) == services.TOTP
    with pytest.raises(SecondFactorRefused) as replay:
        services.two_factor_verify(request=_request(), user=user, code=code)
    assert replay.value.message == MSG_CODE_WRONG and replay.value.status_code == 401
    device.refresh_from_db()
    assert device.last_used_at is not None


def test_a_code_of_the_next_step_is_accepted_but_not_one_a_minute_and_more_ahead(enrolled, no_backoff):
    user, device, _ = enrolled
    device.refresh_from_db()
    current = int((time.time() - device.t0) // device.step)
    with pytest.raises(SecondFactorRefused):
        services.two_factor_verify(request=_request(), user=user, code=code_at(device, current + 3))
    assert services.two_factor_verify(request=_request(), user=user, code=code_at(device, current + 1)) == services.TOTP


def test_a_recovery_code_works_once_in_any_case_with_or_without_its_hyphen(enrolled, no_backoff):
    user, _, codes = enrolled
    assert services.two_factor_verify(request=_request(), user=user, code=f" {codes[0].upper()} ") == services.RECOVERY_CODE
    with pytest.raises(SecondFactorRefused):
        services.two_factor_verify(request=_request(), user=user, code=codes[0])
    assert services.two_factor_verify(request=_request(), user=user, code=_raw(codes[1])) == services.RECOVERY_CODE
    assert two_factor_status(user).recovery_codes_left == 8
    used = AuditEvent.objects.filter(action="two_factor.recovery_code_used").order_by("id")
    assert [e.detail["left"] for e in used] == [9, 8]
    assert all(codes[0] not in str(e.detail) and _raw(codes[0]) not in str(e.detail) for e in used)


def test_wrong_codes_count_against_the_sign_in_limits_of_the_account_and_the_address(enrolled, limits, no_backoff):
    user, device, codes = enrolled
    for wrong in ("123456", "zzzz-zzzz", "not a code"):
        with pytest.raises(SecondFactorRefused):
            services.two_factor_verify(request=_request(), user=user, code=wrong)
    keys = sorted(SignInFailures.objects.values_list("key", flat=True))
    assert len(keys) == 6 and keys.count("address:127.0.0.1") == 3
    # At the account's limit every code is refused, the right one too, with when to retry.
    with pytest.raises(SignInRefused) as locked:
        services.two_factor_verify(request=_request("192.0.2.1"), user=user, code=fresh_code(device))
    assert locked.value.status_code == 429 and 1 <= locked.value.retry_after <= 900
    with pytest.raises(SignInRefused):
        services.two_factor_verify(request=_request("192.0.2.1"), user=user, code=codes[0])
    assert two_factor_status(user).recovery_codes_left == 10  # a refused attempt uses nothing up


def test_wrong_codes_and_wrong_passwords_share_one_budget(anon_client, enrolled, limits, no_backoff):
    user, device, _ = enrolled
    assert _token(anon_client, user.email, "wrong").status_code == 401
    assert _token(anon_client, user.email, otp="123456").status_code == 401
    assert _token(anon_client, user.email, "wrong").status_code == 401
    response = _token(anon_client, user.email, otp=fresh_code(device))
    assert response.status_code == 429 and response.json()["code"] == "RATE_LIMITED"


def test_django_otp_backs_off_after_a_wrong_code(enrolled):
    user, device, _ = enrolled
    with pytest.raises(SecondFactorRefused) as wrong:
        services.two_factor_verify(request=_request(), user=user, code="123456" if fresh_code(device) != "123456" else "654321")
    assert wrong.value.reason == "wrong"
    with pytest.raises(SecondFactorRefused) as throttled:
        services.two_factor_verify(request=_request(), user=user, code=fresh_code(device))
    assert throttled.value.reason == "throttled" and throttled.value.status_code == 429
    assert throttled.value.retry_after == 1 and throttled.value.code == "RATE_LIMITED"
    assert throttled.value.message == MSG_CODE_THROTTLED.format(seconds=1, s="")
    assert "Wait 1 second and" in throttled.value.message
    assert SignInFailures.objects.filter(key__startswith="account:").count() == 1  # a throttled try is no guess
    # Once the back-off has passed, the right code is accepted.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=timezone.now() - timezone.timedelta(seconds=2))
    assert services.two_factor_verify(request=_request(), user=user, code=fresh_code(device)) == services.TOTP


# What a sign-in needs --------------------------------------------------------------------


def test_a_sign_in_needs_a_code_with_a_device_and_enrolment_when_the_tenant_requires_one(operator_user, ingest_user, enrolled):
    other = StaffUserFactory(roles=["viewer"])
    assert second_factor_step(operator_user, channel="console") == VERIFY
    assert second_factor_step(other, channel="console") is None
    policy_update(require_two_factor=True)
    assert second_factor_step(other, channel="console") == ENROL
    assert second_factor_step(other, channel="token") == ENROL
    # A service account (no console access) is not held to the requirement at the token endpoint.
    assert second_factor_step(ingest_user, channel="token") is None
    assert second_factor_step(ingest_user, channel="console") == ENROL


# Turning it off, new recovery codes, the reset ---------------------------------------------


def test_turning_it_off_needs_a_code_and_is_audited(enrolled, no_backoff):
    user, device, _ = enrolled
    with pytest.raises(SecondFactorRefused):
        services.two_factor_disable(request=_request(), user=user, code="000000" if fresh_code(device) != "000000" else "111111")
    assert TOTPDevice.objects.filter(user=user).exists()
    services.two_factor_disable(request=_request(), user=user, code=fresh_code(device))
    assert not TOTPDevice.objects.filter(user=user).exists() and not StaticDevice.objects.filter(user=user).exists()
    [event] = AuditEvent.objects.filter(action="two_factor.disable")
    assert event.target_id == str(user.pk) and event.detail["authenticator_apps"] == 1
    assert event.detail["recovery_codes_left"] == 10
    assert second_factor_step(user, channel="console") is None
    with pytest.raises(AppError) as none:
        services.two_factor_disable(request=_request(), user=user, code="123456")
    assert none.value.message == MSG_NOT_ENROLLED


def test_it_cannot_be_turned_off_while_the_tenant_requires_it(enrolled):
    user, device, _ = enrolled
    policy_update(require_two_factor=True)
    with pytest.raises(AppError) as refused:
        services.two_factor_disable(request=_request(), user=user, code=fresh_code(device))
    assert refused.value.message == MSG_REQUIRED_CANNOT_DISABLE and refused.value.status_code == 403
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert not AuditEvent.objects.filter(action="two_factor.disable").exists()


def test_new_recovery_codes_replace_the_old_ones_after_a_code(enrolled, no_backoff):
    user, device, old = enrolled
    new = services.two_factor_recovery_codes_regenerate(request=_request(), user=user, code=fresh_code(device))
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(SecondFactorRefused):
        services.two_factor_verify(request=_request(), user=user, code=old[0])
    assert services.two_factor_verify(request=_request(), user=user, code=new[0]) == services.RECOVERY_CODE
    [event] = AuditEvent.objects.filter(action="two_factor.recovery_codes")
    assert event.detail == {"email": user.email, "recovery_codes": 10}


def test_new_recovery_codes_need_the_second_factor_set_up(operator_user):
    with pytest.raises(AppError) as refused:
        services.two_factor_recovery_codes_regenerate(request=_request(), user=operator_user, code="123456")
    assert refused.value.message == MSG_NOT_ENROLLED and refused.value.status_code == 409


def test_an_administrator_resets_a_second_factor_with_the_command_audited_as_the_system(enrolled, tenant):
    user, _, _ = enrolled
    out = StringIO()
    call_command("two_factor_reset", "--tenant", "test", "--email", "OPERATOR@uni.example", stdout=out)
    assert "Reset the second factor of operator@uni.example on test" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=user).exists() and not StaticToken.objects.filter(device__user=user).exists()
    [event] = AuditEvent.objects.filter(action="two_factor.reset")
    assert event.via == "system" and event.actor_id is None and event.target_id == str(user.pk)
    assert event.detail == {"email": user.email, "authenticator_apps": 1, "recovery_codes_left": 10}
    # Nothing left: said so, nothing audited.
    out = StringIO()
    call_command("two_factor_reset", "--tenant", "test", "--email", user.email, stdout=out)
    assert "had no second factor" in out.getvalue()
    assert AuditEvent.objects.filter(action="two_factor.reset").count() == 1


def test_the_reset_command_names_an_unknown_tenant_or_user(tenant):
    with pytest.raises(CommandError, match="No tenant with slug 'nowhere'"):
        call_command("two_factor_reset", "--tenant", "nowhere", "--email", "x@uni.example")
    with pytest.raises(CommandError, match="No staff user 'nobody@uni.example' on test"):
        call_command("two_factor_reset", "--tenant", "test", "--email", "nobody@uni.example")


# The token endpoint ---------------------------------------------------------------------


def test_a_token_for_an_account_with_a_second_factor_needs_otp(anon_client, enrolled):
    user, device, _ = enrolled
    response = _token(anon_client, user.email)
    assert response.status_code == 401
    assert response.json() == {
        "success": False, "data": None, "message": MSG_CODE_MISSING, "code": "UNAUTHENTICATED",
        "errors": {"otp": [MSG_CODE_MISSING]},
    }
    assert _token(anon_client, user.email, otp="").status_code == 401
    assert not SignInFailures.objects.exists()  # a missing code is not a guess
    response = _token(anon_client, user.email, otp=fresh_code(device))
    assert response.status_code == 201 and response.json()["data"]["token_type"] == "Bearer"


def test_a_wrong_otp_is_a_counted_401_naming_otp(anon_client, enrolled, no_backoff):
    user, _, _ = enrolled
    response = _token(anon_client, user.email, otp="12345678")
    assert response.status_code == 401
    assert response.json()["errors"] == {"otp": [MSG_CODE_WRONG]} and response.json()["message"] == MSG_CODE_WRONG
    assert SignInFailures.objects.filter(key__startswith="account:").count() == 1


def test_a_recovery_code_gets_a_token_once(anon_client, enrolled, no_backoff):
    user, _, codes = enrolled
    assert _token(anon_client, user.email, otp=codes[3]).status_code == 201
    assert _token(anon_client, user.email, otp=codes[3]).status_code == 401


def test_an_otp_is_not_looked_at_for_an_account_without_a_second_factor(anon_client, viewer_user):
    assert _token(anon_client, viewer_user.email).status_code == 201
    assert _token(anon_client, viewer_user.email, otp="123456").status_code == 201


def test_under_the_tenant_requirement_staff_without_a_device_must_set_one_up_first(anon_client, viewer_user, ingest_user):
    policy_update(require_two_factor=True)
    response = _token(anon_client, viewer_user.email)
    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED" and response.json()["errors"] == {"otp": [MSG_ENROL_FIRST]}
    # The runtime's service account (no console access) still gets its token with a password.
    assert _token(anon_client, ingest_user.email).status_code == 201


def test_the_token_endpoint_wrong_password_still_says_nothing_of_the_second_factor(anon_client, enrolled):
    user, _, _ = enrolled
    response = _token(anon_client, user.email, "wrong", otp="123456")
    assert response.status_code == 401 and response.json()["errors"] is None


def test_the_schema_documents_otp_as_optional_and_the_refusals(anon_client):
    schema = anon_client.get("/v1/schema/", {"format": "json"}).json()
    body = schema["components"]["schemas"]["TokenRequestRequest"]
    assert "otp" in body["properties"] and "otp" not in body.get("required", [])
    assert body["properties"]["otp"]["maxLength"] == 64
    responses = schema["paths"]["/v1/auth/token/"]["post"]["responses"]
    assert {"201", "401", "403", "429"} <= set(responses)
    assert "otp" in responses["401"]["description"] and "otp" in responses["403"]["description"]
