"""Signing in through an OpenID Connect provider, against a real provider process
(testing.oidc_provider) and the app served on a real socket (testing.browser's server).

The flows are followed by hand with `requests` (the app at 127.0.0.1 with the tenant's Host
header), so each step's answer can be looked at; one browser test makes the whole round trip in
headless Chromium. ID tokens with a defect (wrong audience, expired, another key, `none`) are
made with a key of the test's own and checked by the same code the callback uses.
"""
import base64
import http.server
import json
import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache
from django_tenants.utils import schema_context
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey

from accounts.identity.models import IdentityProvider, StaffIdentity
from accounts.identity.policy import policy_update
from accounts.identity.provisioning import token_use_once
from accounts.models import AuditEvent, StaffUser
from console.auth import oidc
from testing.browser import SCREENSHOTS, axe_violations, needs_chromium, sideways_overflow
from testing.factories import StaffUserFactory
from testing.oidc_provider import SignInClient, oidc_provider
from testing.tenancy import OTHER_TENANT, truncate_tenant_data

CLIENT_ID = "console-test"
SECRET = "client-secret-value-9d2f"
ALICE = {"sub": "alice-0001", "email": "alice@uni.example", "name": "Alice Achebe", "groups": ["console-admins"]}
BOB = {"sub": "bob-0002", "email": "bob@uni.example", "name": "Bob Bello", "groups": ["students"]}
VIC = {"sub": "vic-0003", "email": "vic@uni.example", "name": "Vic Viewer", "groups": ["console-staff"]}
RULES = [{"value": "console-admins", "role": "admin"}, {"value": "console-staff", "role": "viewer"}]


@pytest.fixture(scope="module")
def issuer():
    with oidc_provider([ALICE, BOB, VIC]) as url:
        yield url


@pytest.fixture(autouse=True)
def _no_cached_documents():
    cache.clear()
    yield
    cache.clear()


def make_provider(issuer, *, slug="uni", client_id=CLIENT_ID, rules=RULES):
    return IdentityProvider.objects.create(
        kind=IdentityProvider.OIDC, slug=slug, name="University Login", issuer=issuer,
        client_id=client_id, client_secret=SECRET, role_rules=rules,
    )


def Browserless(server, host):
    return SignInClient(urlsplit(server.url).port, host)


# The round trip -------------------------------------------------------------------------


def test_first_sign_in_creates_the_user_with_the_mapped_role_and_audits_it(issuer, server, committed_tenant):
    provider = make_provider(issuer)
    client = Browserless(server, "test.localhost")
    start = client.get("/sso/uni/start/")
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    # The authorization request: code flow with PKCE (S256), state and nonce.
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == [f"http://{client.host}/sso/uni/oidc/callback/"]

    callback = client.authorize("/sso/uni/start/", ALICE["sub"])
    landed = client.get(callback)
    assert landed.status_code == 302 and landed.headers["Location"] == "/students/"
    assert client.get("/students/").status_code == 200

    user = StaffUser.objects.get(email=ALICE["email"])
    assert user.full_name == "Alice Achebe" and not user.has_usable_password()
    assert sorted(user.roles.values_list("name", flat=True)) == ["admin"]
    assert StaffIdentity.objects.get(provider=provider, subject=ALICE["sub"]).user == user
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["staff.create", "staff.role_change", "auth.sign_in"]
    sign_in = AuditEvent.objects.get(action="auth.sign_in")
    assert sign_in.actor_email == ALICE["email"] and sign_in.detail == {"method": "oidc", "provider": "uni"}
    assert SECRET not in json.dumps(list(AuditEvent.objects.values("changes", "detail")))


def test_the_role_is_mapped_again_at_every_sign_in(issuer, server, committed_tenant):
    make_provider(issuer)
    StaffUserFactory(email=VIC["email"], full_name="Vic", roles=["admin"])  # linked by email
    client = Browserless(server, "test.localhost")
    assert client.get(client.authorize("/sso/uni/start/", VIC["sub"])).status_code == 302
    user = StaffUser.objects.get(email=VIC["email"])
    assert list(user.roles.values_list("name", flat=True)) == ["viewer"]
    change = AuditEvent.objects.get(action="staff.role_change")
    assert change.changes == {"roles": [["admin"], ["viewer"]]}
    assert client.get("/webhooks/").status_code == 403  # an admin's page, no longer theirs


def test_a_linked_user_no_rule_maps_any_more_loses_the_console_role(issuer, server, committed_tenant):
    make_provider(issuer)
    client = Browserless(server, "test.localhost")
    assert client.get(client.authorize("/sso/uni/start/", ALICE["sub"])).status_code == 302
    user = StaffUser.objects.get(email=ALICE["email"])
    token = user.api_tokens.create(key_hash="x" * 64, prefix="x")
    # The university takes Alice out of the console's groups at the provider.
    claims = {k: v for k, v in ALICE.items() if k != "sub"}
    try:
        assert requests.put(f"{issuer}/users/{ALICE['sub']}", json={**claims, "groups": ["alumni"]}).status_code == 204
        refused = Browserless(server, "test.localhost")
        answer = refused.get(refused.authorize("/sso/uni/start/", ALICE["sub"]))
        assert answer.status_code == 403 and "not in a group" in answer.text
    finally:
        requests.put(f"{issuer}/users/{ALICE['sub']}", json=claims)
    assert list(user.roles.values_list("name", flat=True)) == []
    token.refresh_from_db()
    assert token.user.permission_strings == frozenset()
    change = AuditEvent.objects.filter(action="staff.role_change").order_by("-id").first()
    assert change.changes == {"roles": [["admin"], []]}


def test_a_user_no_rule_maps_is_refused_with_a_clear_page(issuer, server, committed_tenant):
    make_provider(issuer)
    client = Browserless(server, "test.localhost")
    refused = client.get(client.authorize("/sso/uni/start/", BOB["sub"]))
    assert refused.status_code == 403
    assert "You don’t have access to this console" in refused.text
    assert "not in a group that may use this console" in refused.text
    assert not StaffUser.objects.filter(email=BOB["email"]).exists()
    event = AuditEvent.objects.get(action="auth.sign_in_refused")
    assert event.detail["reason"] == "no_role" and event.detail["email"] == BOB["email"]
    assert client.get("/students/").status_code == 302  # not signed in


def test_a_deactivated_user_is_refused(issuer, server, committed_tenant):
    make_provider(issuer)
    StaffUserFactory(email=ALICE["email"], roles=["viewer"], is_active=False)
    client = Browserless(server, "test.localhost")
    refused = client.get(client.authorize("/sso/uni/start/", ALICE["sub"]))
    assert refused.status_code == 403 and "deactivated" in refused.text
    assert AuditEvent.objects.get(action="auth.sign_in_refused").detail["reason"] == "deactivated"


# Refusals --------------------------------------------------------------------------------


def test_a_callback_used_twice_is_refused(issuer, server, committed_tenant):
    make_provider(issuer)
    client = Browserless(server, "test.localhost")
    callback = client.authorize("/sso/uni/start/", ALICE["sub"])
    assert client.get(callback).status_code == 302
    client.app.cookies.clear()  # another browser, holding the same callback URL
    again = client.get(callback)
    assert again.status_code == 403 and "could not be signed in" in again.text
    assert AuditEvent.objects.filter(action="auth.sign_in_refused").count() == 1


def test_a_callback_without_a_state_this_browser_started_is_refused(issuer, server, committed_tenant):
    make_provider(issuer)
    victim = Browserless(server, "test.localhost")
    callback = Browserless(server, "test.localhost").authorize("/sso/uni/start/", ALICE["sub"])
    refused = victim.get(callback)  # login CSRF: the attacker's code in the victim's browser
    assert refused.status_code == 403
    assert AuditEvent.objects.get(action="auth.sign_in_refused").detail["detail"] == "unknown or used state"
    assert not StaffUser.objects.filter(email=ALICE["email"]).exists()


def test_a_sign_in_for_tenant_a_is_refused_on_tenant_b(issuer, server, committed_tenant, test_tenants):
    make_provider(issuer)
    other = test_tenants[1]
    with schema_context(other.schema_name):
        make_provider(issuer, client_id="other-console")
    try:
        a = Browserless(server, "test.localhost")
        callback = a.authorize("/sso/uni/start/", ALICE["sub"])
        # The same code and state carried to tenant B's callback, in a browser signed into B's flow too.
        b = Browserless(server, OTHER_TENANT["domain"])
        b.authorize("/sso/uni/start/", ALICE["sub"])
        parts = urlsplit(callback)
        refused = b.get(f"{parts.path}?{parts.query}")
        assert refused.status_code == 403
        with schema_context(other.schema_name):
            assert not StaffUser.objects.filter(email=ALICE["email"]).exists()
            assert AuditEvent.objects.filter(action="auth.sign_in_refused").count() == 1
        assert a.get(callback).status_code == 302  # still good where it belongs
    finally:
        truncate_tenant_data(other.schema_name)


def test_next_never_leaves_the_host(issuer, server, committed_tenant):
    make_provider(issuer)
    for target, expected in [
        ("https://evil.example/", "/students/"),
        ("//evil.example/x", "/students/"),
        ("/groups/", "/groups/"),
    ]:
        client = Browserless(server, "test.localhost")
        callback = client.authorize(f"/sso/uni/start/?next={requests.utils.quote(target, safe='')}", ALICE["sub"])
        assert client.get(callback).headers["Location"] == expected


def test_unknown_or_disabled_provider_is_a_404_page(issuer, server, committed_tenant):
    provider = make_provider(issuer)
    provider.enabled = False
    provider.save()
    client = Browserless(server, "test.localhost")
    assert client.get("/sso/uni/start/").status_code == 404
    assert client.get("/sso/nope/start/").status_code == 404
    assert client.get("/sso/uni/oidc/callback/?state=x&code=y").status_code == 404


def test_an_unreachable_provider_is_a_clear_refusal_not_a_500(server, committed_tenant):
    make_provider("http://127.0.0.1:9")  # nothing listens there
    client = Browserless(server, "test.localhost")
    answer = client.get("/sso/uni/start/")
    assert answer.status_code == 403 and "could not be reached" in answer.text


def test_the_client_secret_goes_only_to_the_token_endpoint(issuer, server, committed_tenant, caplog):
    make_provider(issuer)
    client = Browserless(server, "test.localhost")
    start = client.get("/sso/uni/start/")
    assert SECRET not in start.headers["Location"]
    client.get(client.authorize("/sso/uni/start/", ALICE["sub"]))
    assert SECRET not in caplog.text


# The ID token's checks, on tokens made here --------------------------------------------


KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key"}, private=True)
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key"}, private=True)
ISSUER = "https://idp.uni.example"
DOCUMENT = {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks", "authorization_endpoint": f"{ISSUER}/a",
            "token_endpoint": f"{ISSUER}/t"}


@pytest.fixture
def crafted(tenant):
    provider = make_provider(ISSUER, slug="crafted")
    cache.set(f"oidc:jwks:{provider.pk}:{DOCUMENT['jwks_uri']}", KeySet([KEY]).as_dict(private=False), 60)
    return provider


def id_token(*, key=KEY, alg="RS256", **overrides):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "alice-0001", "iat": now, "exp": now + 300, "nonce": "n-1",
              "email": "alice@uni.example", **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": "test-key"}, claims, key)


def verify(provider, token, nonce="n-1"):
    return oidc.verify_id_token(provider, DOCUMENT, token, nonce=nonce)


def test_a_good_id_token_passes(crafted):
    assert verify(crafted, id_token())["email"] == "alice@uni.example"


@pytest.mark.parametrize("defect", [
    pytest.param(lambda now: {"aud": "another-client"}, id="wrong audience"),
    pytest.param(lambda now: {"aud": ["another-client", CLIENT_ID]}, id="several audiences without azp"),
    pytest.param(lambda now: {"iss": "https://evil.example"}, id="wrong issuer"),
    pytest.param(lambda now: {"exp": now - 120}, id="expired beyond the skew"),
    pytest.param(lambda now: {"iat": now + 600, "exp": now + 900}, id="issued in the future"),
    pytest.param(lambda now: {"nonce": "another-nonce"}, id="another nonce"),
    pytest.param(lambda now: {"nonce": None}, id="no nonce"),
    pytest.param(lambda now: {"sub": None}, id="no subject"),
])
def test_an_id_token_with_a_defect_is_refused(crafted, defect):
    with pytest.raises(JoseError):
        verify(crafted, id_token(**defect(int(time.time()))))


def test_clock_skew_is_bounded_both_ways(crafted, settings):
    settings.SSO_CLOCK_SKEW_SECONDS = 60
    assert verify(crafted, id_token(exp=int(time.time()) - 30))  # within the skew
    with pytest.raises(JoseError):
        verify(crafted, id_token(exp=int(time.time()) - 90))


def test_an_id_token_signed_by_another_key_is_refused(crafted):
    with pytest.raises(JoseError):
        verify(crafted, id_token(key=OTHER_KEY))


def test_keys_are_fetched_again_when_a_token_names_a_new_one(tenant):
    """The provider rotated its key: the cached set lacks it, so the published set is read again."""
    rotated = RSAKey.generate_key(2048, parameters={"kid": "rotated"}, private=True)
    published = json.dumps(KeySet([KEY, rotated]).as_dict(private=False)).encode()

    class Keys(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(published)

        def log_message(self, *args):
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keys) as keys_server:
        threading.Thread(target=keys_server.serve_forever, daemon=True).start()
        document = {**DOCUMENT, "jwks_uri": f"http://127.0.0.1:{keys_server.server_address[1]}/jwks"}
        provider = make_provider(ISSUER, slug="rotating")
        cache.set(f"oidc:jwks:{provider.pk}:{document['jwks_uri']}", KeySet([KEY]).as_dict(private=False), 60)
        now = int(time.time())
        token = jwt.encode({"alg": "RS256", "kid": "rotated"}, {
            "iss": ISSUER, "aud": CLIENT_ID, "sub": "s", "iat": now, "exp": now + 60, "nonce": "n-1"}, rotated)
        try:
            assert oidc.verify_id_token(provider, document, token, nonce="n-1")["sub"] == "s"
        finally:
            keys_server.shutdown()


def test_an_unsigned_or_symmetric_id_token_is_refused(crafted):
    header = {"alg": "none"}

    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64(header)}.{b64({'iss': ISSUER, 'aud': CLIENT_ID, 'sub': 'x', 'nonce': 'n-1'})}."
    with pytest.raises(JoseError):
        verify(crafted, unsigned)
    with pytest.raises(JoseError):
        verify(crafted, jwt.encode({"alg": "HS256"}, {"iss": ISSUER, "aud": CLIENT_ID}, OctKey.import_key(SECRET)))


def test_a_nonce_signs_in_once(tenant):
    expires = oidc.dt.datetime.now(oidc.dt.timezone.utc) + oidc.dt.timedelta(minutes=5)
    assert token_use_once("oidc_nonce", "p:n-1", expires_at=expires) is True
    assert token_use_once("oidc_nonce", "p:n-1", expires_at=expires) is False  # a reused nonce
    assert token_use_once("saml_assertion", "p:n-1", expires_at=expires) is True  # kinds apart


# SSO only ---------------------------------------------------------------------------------


def test_sso_only_refuses_passwords_but_for_break_glass_and_service_tokens(issuer, server, committed_tenant):
    make_provider(issuer)
    StaffUserFactory(email="ops@uni.example", roles=["operator"])
    StaffUserFactory(email="glass@uni.example", roles=["admin"])
    StaffUserFactory(email="runtime@uni.example", roles=["ingest"])
    client = Browserless(server, "test.localhost")
    old_token = client.app.post(client.app_url("/v1/auth/token"), json={
        "email": "ops@uni.example", "password": "correct horse battery"}).json()["data"]["token"]
    policy_update(sso_only=True, break_glass_emails=["Glass@uni.example"])

    def console_sign_in(email):
        browser = Browserless(server, "test.localhost")
        page = browser.get("/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = browser.app.post(browser.app_url("/login/"), data={
            "csrfmiddlewaretoken": csrf, "username": email, "password": "correct horse battery"},
            headers={"Referer": f"http://{browser.host}/login/"}, allow_redirects=False)
        return answer

    refused = console_sign_in("ops@uni.example")
    assert refused.status_code == 200 and "through University Login" in refused.text
    assert "Sign in with University Login" in refused.text
    assert console_sign_in("glass@uni.example").status_code == 302

    def token(email):
        return client.app.post(client.app_url("/v1/auth/token"), json={"email": email, "password": "correct horse battery"})

    answer = token("ops@uni.example")
    assert answer.status_code == 403 and answer.json()["code"] == "PERMISSION_DENIED"
    assert token("runtime@uni.example").status_code in (200, 201)  # a service account
    assert token("glass@uni.example").status_code in (200, 201)
    # Bearer tokens issued before keep working.
    listed = client.app.get(client.app_url("/v1/students"), headers={"Authorization": f"Bearer {old_token}"})
    assert listed.status_code == 200


# In a browser -----------------------------------------------------------------------------


@pytest.mark.browser
@needs_chromium
def test_full_sign_in_in_a_browser(issuer, server, committed_tenant, browser):
    make_provider(issuer)
    context = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 860}, locale="en-GB")
    context.set_default_timeout(8000)
    page = context.new_page()
    try:
        page.goto("/login/")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "sso-login-1366.png"), full_page=True)
        assert axe_violations(page) == []
        started = time.monotonic()
        page.get_by_role("link", name="Sign in with University Login").click()
        page.get_by_role("button", name=ALICE["sub"]).click()  # the provider's own page
        page.wait_for_url("**/students/")
        round_trip = time.monotonic() - started
        assert "Signed in as Alice Achebe with University Login" in page.content()
        print(f"OIDC sign-in round trip in the browser: {round_trip * 1000:.0f} ms")
        assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
            "staff.create", "staff.role_change", "auth.sign_in"]
        page.set_viewport_size({"width": 390, "height": 844})
        context.clear_cookies()
        page.goto("/login/")
        page.screenshot(path=str(SCREENSHOTS / "sso-login-390.png"), full_page=True)
        assert sideways_overflow(page) == 0
        assert axe_violations(page) == []
        # SSO only: the password form folds away, for break-glass accounts.
        policy_update(sso_only=True, break_glass_emails=["glass@uni.example"])
        for width in (390, 1366):
            page.set_viewport_size({"width": width, "height": 844})
            page.goto("/login/")
            assert not page.get_by_label("Password").is_visible()
            page.get_by_text("Sign in with a password (emergency accounts only)").click()
            assert page.get_by_label("Password").is_visible()
            page.screenshot(path=str(SCREENSHOTS / f"sso-login-sso-only-{width}.png"), full_page=True)
            assert sideways_overflow(page) == 0
            assert axe_violations(page) == []
    finally:
        context.close()
        server.app.wait_idle()
