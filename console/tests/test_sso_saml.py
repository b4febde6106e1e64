"""Signing in through a SAML 2.0 identity provider (console.auth.saml).

Most tests play the browser with Django's test client on the tenant's host and the identity
provider in the test's own process: pysaml2's IdP `Server` with a key made for the test
(testing.saml_idp), reading our metadata as a real IdP would. Responses with a defect are made
by that IdP and changed before it signs them, so every signature is a real XML signature checked
by xmlsec1. The browser tests run the IdP as its own process and the app on a real socket, and
go the whole way round in headless Chromium.
"""
import logging
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from defusedxml import ElementTree
from django.db import connections
from django.utils.html import escape
from django_tenants.utils import schema_context
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

from accounts.identity.models import IdentityProvider, StaffIdentity
from accounts.identity.provisioning import REFUSALS
from accounts.models import AuditEvent, StaffUser
from console.auth.saml import CONTINUED_FIELD, REQUESTS_KEY
from console.auth.sso import MSG_SIGNED_IN_WITH
from testing.browser import SCREENSHOTS, axe_violations, needs_chromium, sideways_overflow
from testing.clients import TenantAPIClient
from testing.live import free_port
from testing.saml_idp import RSA_SHA1, SHA1, authn_response, encoded, idp_server, make_keypair, running_idp

SLUG = "uni"
PROVIDER_NAME = "University Login"
IDP_ENTITY_ID = "https://idp.uni.example/idp/shibboleth"
IDP_SSO_URL = "https://idp.uni.example/idp/profile/SAML2/Redirect/SSO"
RULES = [{"value": "student-ops", "role": "operator"}, {"value": "console-admins", "role": "admin"}]
ZOE = {"email": "zoe.bronte@uni.example", "name": "Zoë Brontë", "groups": ["student-ops", "library"]}
CHIDINMA = {"email": "c.okafor@uni.example", "name": "Chidinma Okafọr", "groups": ["console-admins"],
            "name_id_format": "persistent", "name_id": "a7c1f0e2-5b1d-4c0e-9d0b-1f2e3d4c5b6a"}
LUKASZ = {"email": "l.walesa@uni.example", "name": "Łukasz Wałęsa", "groups": ["library"]}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saml-keys")
    return {"idp": make_keypair(folder / "idp", "Test IdP"), "rogue": make_keypair(folder / "rogue", "Rogue IdP")}


def make_provider(keys, *, slug=SLUG, entity_id=IDP_ENTITY_ID, sso_url=IDP_SSO_URL, rules=RULES):
    return IdentityProvider.objects.create(
        kind=IdentityProvider.SAML, slug=slug, name=PROVIDER_NAME, idp_entity_id=entity_id, idp_sso_url=sso_url,
        idp_certificate=Path(keys["idp"][1]).read_text(), email_claim="mail", name_claim="displayName",
        role_claim="groups", role_rules=rules,
    )


class Visitor:
    """One browser's session on a tenant's host (Django's test client), with the IdP beside it."""

    def __init__(self, host, slug=SLUG):
        self.client = TenantAPIClient(host)
        self.slug = slug
        self.entity_id = f"http://{host}/sso/{slug}/saml/metadata/"
        self.acs_url = f"http://{host}/sso/{slug}/saml/acs/"

    def metadata(self):
        answer = self.client.get(f"/sso/{self.slug}/saml/metadata/")
        assert answer.status_code == 200
        return answer.content.decode()

    def start(self, idp, query=""):
        """Start a sign-in: the id of the AuthnRequest the IdP receives."""
        answer = self.client.get(f"/sso/{self.slug}/start/{query}")
        assert answer.status_code == 302, answer.content
        sent = parse_qs(urlsplit(answer["Location"]).query)
        return idp.parse_authn_request(sent["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message.id

    def post(self, xml, **fields):
        return self.client.post(f"/sso/{self.slug}/saml/acs/", {"SAMLResponse": encoded(xml), **fields})

    def response(self, idp, user, request_id, **kwargs):
        return authn_response(
            idp, user=user, in_response_to=request_id, acs_url=self.acs_url, sp_entity_id=self.entity_id, **kwargs
        )

    def signed_in(self):
        return "_auth_user_id" in self.client.session


@pytest.fixture
def provider(keys):
    return make_provider(keys)


@pytest.fixture
def visitor(host, provider):
    return Visitor(host)


@pytest.fixture
def idp(keys, visitor):
    """The university's IdP, which knows our service provider by its metadata."""
    key, cert = keys["idp"]
    return idp_server(entity_id=IDP_ENTITY_ID, sso_url=IDP_SSO_URL, key_file=key, cert_file=cert,
                      sp_metadata=[visitor.metadata()])


def assert_refused(answer, visitor, detail, *, reason="invalid"):
    """The refusal page, nothing signed in or created, and the refusal audited."""
    assert answer.status_code == 403
    assert escape(REFUSALS[reason].format(provider=PROVIDER_NAME)) in answer.content.decode()
    assert "Traceback" not in answer.content.decode()
    assert not visitor.signed_in()
    assert not StaffUser.objects.exists() and not StaffIdentity.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["auth.sign_in", "staff.create"]).exists()
    event = AuditEvent.objects.filter(action="auth.sign_in_refused").latest("id")
    assert event.detail["reason"] == reason
    assert detail in event.detail["detail"], event.detail


# Metadata and the request ---------------------------------------------------------------

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"


def test_metadata_names_the_entity_id_the_acs_and_wants_signed_assertions(visitor):
    answer = visitor.client.get("/sso/uni/saml/metadata/")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/samlmetadata+xml"
    root = ElementTree.fromstring(answer.content)
    assert root.tag == f"{MD}EntityDescriptor"
    assert root.get("entityID") == "http://test.localhost/sso/uni/saml/metadata/"
    sp = root.find(f"{MD}SPSSODescriptor")
    assert sp.get("WantAssertionsSigned") == "true"
    acs = sp.findall(f"{MD}AssertionConsumerService")
    assert [(a.get("Binding"), a.get("Location")) for a in acs] == [
        (BINDING_HTTP_POST, "http://test.localhost/sso/uni/saml/acs/")
    ]
    assert {n.text for n in sp.findall(f"{MD}NameIDFormat")} == {
        NAMEID_FORMAT_EMAILADDRESS, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    }


def test_metadata_is_per_tenant_host(keys, other_tenant, other_host):
    with schema_context(other_tenant.schema_name):
        make_provider(keys)
    other = Visitor(other_host)
    root = ElementTree.fromstring(other.metadata())
    assert root.get("entityID") == "http://other.localhost/sso/uni/saml/metadata/"


@pytest.mark.parametrize("slug", ["nobody", "uni-oidc", "uni-off"])
def test_metadata_of_an_unknown_disabled_or_oidc_provider_is_not_found(provider, anon_client, slug):
    IdentityProvider.objects.create(kind=IdentityProvider.OIDC, slug="uni-oidc", name="OIDC", issuer="https://x.example")
    IdentityProvider.objects.create(kind=IdentityProvider.SAML, slug="uni-off", name="Off", enabled=False)
    assert anon_client.get(f"/sso/{slug}/saml/metadata/").status_code == 404


def test_start_redirects_to_the_idp_with_an_authn_request_and_keeps_its_id(visitor, idp):
    answer = visitor.client.get("/sso/uni/start/")
    location = urlsplit(answer["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == IDP_SSO_URL
    sent = parse_qs(location.query)
    assert "RelayState" not in sent
    request = idp.parse_authn_request(sent["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message
    assert request.issuer.text == visitor.entity_id
    assert request.assertion_consumer_service_url == visitor.acs_url
    assert request.protocol_binding == BINDING_HTTP_POST
    assert request.destination == IDP_SSO_URL
    assert [r["id"] for r in visitor.client.session[REQUESTS_KEY]] == [request.id]


# Signing in -----------------------------------------------------------------------------


def test_first_sign_in_creates_the_user_with_the_mapped_role_and_audits_it(visitor, idp, provider):
    request_id = visitor.start(idp)
    answer = visitor.post(visitor.response(idp, ZOE, request_id))
    assert answer.status_code == 302 and answer["Location"] == "/students/"
    assert visitor.signed_in()

    user = StaffUser.objects.get(email=ZOE["email"])
    assert user.full_name == "Zoë Brontë" and not user.has_usable_password()
    assert sorted(user.roles.values_list("name", flat=True)) == ["operator"]
    assert StaffIdentity.objects.get(provider=provider, subject=ZOE["email"]).user == user
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["staff.create", "staff.role_change", "auth.sign_in"]
    assert AuditEvent.objects.get(action="auth.sign_in").detail == {"method": "saml", "provider": "uni"}
    page = visitor.client.get("/students/")
    assert MSG_SIGNED_IN_WITH.format(name="Zoë Brontë", provider=PROVIDER_NAME) in page.content.decode()
    assert visitor.client.session[REQUESTS_KEY] == []  # the request is answered


def test_a_persistent_name_id_is_the_subject_and_finds_the_same_user_next_time(visitor, idp, provider):
    visitor.post(visitor.response(idp, CHIDINMA, visitor.start(idp)))
    visitor.client.post("/logout/")
    visitor.post(visitor.response(idp, CHIDINMA, visitor.start(idp)))
    assert visitor.signed_in()
    identity = StaffIdentity.objects.get()
    assert identity.subject == CHIDINMA["name_id"] and identity.user.email == CHIDINMA["email"]
    assert sorted(identity.user.roles.values_list("name", flat=True)) == ["admin"]
    assert AuditEvent.objects.filter(action="auth.sign_in").count() == 2


def test_a_response_signed_as_a_whole_as_well_is_accepted(visitor, idp):
    answer = visitor.post(visitor.response(idp, ZOE, visitor.start(idp), sign_response=True))
    assert answer.status_code == 302 and visitor.signed_in()


def test_an_assertion_just_past_its_end_is_accepted_within_the_clock_skew(visitor, idp, settings):
    settings.SSO_CLOCK_SKEW_SECONDS = 60
    answer = visitor.post(visitor.response(idp, ZOE, visitor.start(idp), tweak=_valid_until(-20)))
    assert answer.status_code == 302 and visitor.signed_in()


def test_a_post_without_the_session_cookie_is_posted_again_from_this_host(visitor, idp, host):
    """The IdP's cross-site POST carries no SameSite=Lax session cookie: the ACS answers with a
    page whose form posts the same response back to itself, from this site, so it does."""
    xml = visitor.response(idp, ZOE, visitor.start(idp))
    cookieless = TenantAPIClient(host)
    first = cookieless.post("/sso/uni/saml/acs/", {"SAMLResponse": encoded(xml), "RelayState": "r1"})
    assert first.status_code == 200
    assert "Set-Cookie" not in first.headers and not first.cookies
    page = first.content.decode()
    assert '<form method="post" action="/sso/uni/saml/acs/" data-saml-continue>' in page
    assert f'name="SAMLResponse" value="{encoded(xml)}"' in page
    assert 'name="RelayState" value="r1"' in page
    assert f'name="{CONTINUED_FIELD}" value="1"' in page
    assert "/static/console/saml-continue.js" in page
    assert not AuditEvent.objects.exists() and not StaffUser.objects.exists()

    # The same form, posted from this host: the browser sends its session cookie now.
    second = visitor.post(xml, RelayState="r1", **{CONTINUED_FIELD: "1"})
    assert second.status_code == 302 and visitor.signed_in()


def test_a_post_again_that_still_finds_no_request_is_refused_as_unsolicited(visitor, idp, host):
    xml = visitor.response(idp, ZOE, visitor.start(idp))
    stranger = Visitor(host)
    answer = stranger.post(xml, **{CONTINUED_FIELD: "1"})
    assert_refused(answer, stranger, "unsolicited")


# Refusals -------------------------------------------------------------------------------


def _instant(seconds_from_now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def _valid_until(seconds_from_now):
    def tweak(response):
        assertion = response.assertion[0]
        assertion.conditions.not_before = _instant(seconds_from_now - 300)
        assertion.conditions.not_on_or_after = _instant(seconds_from_now)
        for confirmation in assertion.subject.subject_confirmation:
            confirmation.subject_confirmation_data.not_on_or_after = _instant(seconds_from_now)
    return tweak


def _valid_from(seconds_from_now):
    def tweak(response):
        assertion = response.assertion[0]
        assertion.conditions.not_before = _instant(seconds_from_now)
        assertion.conditions.not_on_or_after = _instant(seconds_from_now + 300)
    return tweak


def _audience(value):
    def tweak(response):
        response.assertion[0].conditions.audience_restriction[0].audience[0].text = value
    return tweak


def _no_audience(response):
    response.assertion[0].conditions.audience_restriction = []


def _recipient(value):
    def tweak(response):
        response.assertion[0].subject.subject_confirmation[0].subject_confirmation_data.recipient = value
    return tweak


def _destination(value):
    def tweak(response):
        response.destination = value
    return tweak


def _in_response_to(value):
    def tweak(response):
        response.in_response_to = value
        response.assertion[0].subject.subject_confirmation[0].subject_confirmation_data.in_response_to = value
    return tweak


def _transient_name_id(response):
    response.assertion[0].subject.name_id.format = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


def _issuer(value):
    def tweak(response):
        response.issuer.text = value
        response.assertion[0].issuer.text = value
    return tweak


REFUSED = {
    "unsigned": ({"sign_assertion": False}, "assertion not signed"),
    "response signed, assertion not": ({"sign_assertion": False, "sign_response": True}, "assertion not signed"),
    "expired beyond the clock skew": ({"tweak": _valid_until(-120)}, "assertion expired"),
    "not yet valid beyond the clock skew": ({"tweak": _valid_from(600)}, "assertion not yet valid"),
    "wrong audience": ({"tweak": _audience("https://elsewhere.example/sp")}, "wrong audience"),
    "no audience restriction": ({"tweak": _no_audience}, "wrong audience"),
    "wrong recipient": ({"tweak": _recipient("https://elsewhere.example/acs")}, "wrong recipient"),
    "wrong destination": ({"tweak": _destination("https://elsewhere.example/acs")}, "wrong destination"),
    "answer to another request": ({"tweak": _in_response_to("id-not-asked-here")}, "unsolicited"),
    "another issuer": ({"tweak": _issuer("https://idp.elsewhere.example/")}, "signature not valid"),
    "SHA-1 signature": ({"sign_alg": RSA_SHA1, "digest_alg": SHA1}, "weak signature algorithm"),
    "transient NameID": ({"tweak": _transient_name_id}, "NameID format"),
}


@pytest.mark.parametrize("defect", REFUSED)
def test_a_response_with_a_defect_is_refused(visitor, idp, defect):
    kwargs, detail = REFUSED[defect]
    answer = visitor.post(visitor.response(idp, ZOE, visitor.start(idp), **kwargs))
    assert_refused(answer, visitor, detail)


def test_a_signature_by_another_key_than_the_providers_certificate_is_refused(visitor, keys):
    key, cert = keys["rogue"]  # the same entity id, a key the provider's certificate is not
    rogue = idp_server(entity_id=IDP_ENTITY_ID, sso_url=IDP_SSO_URL, key_file=key, cert_file=cert,
                       sp_metadata=[visitor.metadata()])
    answer = visitor.post(visitor.response(rogue, ZOE, visitor.start(rogue)))
    assert_refused(answer, visitor, "signature not valid")


def test_a_signed_assertion_changed_after_signing_is_refused(visitor, idp):
    xml = visitor.response(idp, ZOE, visitor.start(idp))
    tampered = xml.replace("student-ops", "console-admins")
    assert tampered != xml
    assert_refused(visitor.post(tampered), visitor, "signature not valid")


def test_an_unsolicited_response_is_refused(visitor, idp):
    """No sign-in was started in this session: an IdP-initiated or forwarded response."""
    xml = visitor.response(idp, ZOE, None)
    assert_refused(visitor.post(xml, **{CONTINUED_FIELD: "1"}), visitor, "unsolicited")


def test_a_replayed_response_is_refused(visitor, idp):
    xml = visitor.response(idp, ZOE, visitor.start(idp))
    assert visitor.post(xml).status_code == 302
    visitor.client.post("/logout/")
    answer = visitor.post(xml, **{CONTINUED_FIELD: "1"})
    assert answer.status_code == 403 and not visitor.signed_in()
    event = AuditEvent.objects.get(action="auth.sign_in_refused")
    assert event.detail["reason"] == "invalid" and event.detail["detail"].startswith("unsolicited")
    assert AuditEvent.objects.filter(action="auth.sign_in").count() == 1


def test_an_assertion_id_is_accepted_once_even_where_its_request_still_waits(visitor, idp, host):
    """Two layers: a request is answered once, and an assertion is used once. The second holds
    where the first would not: another session that (somehow) awaits the same request id."""
    request_id = visitor.start(idp)
    xml = visitor.response(idp, ZOE, request_id)
    assert visitor.post(xml).status_code == 302
    other = Visitor(host)
    session = other.client.session
    session[REQUESTS_KEY] = [{"id": request_id, "provider": IdentityProvider.objects.get().pk, "at": int(time.time())}]
    session.save()
    answer = other.post(xml)
    assert answer.status_code == 403 and not other.signed_in()
    event = AuditEvent.objects.get(action="auth.sign_in_refused")
    assert event.detail["detail"] == "assertion replayed"
    assert AuditEvent.objects.filter(action="auth.sign_in").count() == 1


@pytest.mark.parametrize(
    ("variant", "detail"),
    [("as issued", "wrong destination"), ("without a Destination", "wrong audience")],
)
def test_an_assertion_for_tenant_a_is_refused_on_tenant_b(keys, visitor, idp, other_tenant, other_host, variant, detail):
    """Tenant B has its own provider of the same slug, trusting the same IdP (one IdP for two
    universities). An assertion the IdP issued for tenant A's service provider, answering a
    request tenant B's session did start, is refused on B's host."""
    with schema_context(other_tenant.schema_name):
        make_provider(keys)
    other = Visitor(other_host)
    key, cert = keys["idp"]
    shared_idp = idp_server(entity_id=IDP_ENTITY_ID, sso_url=IDP_SSO_URL, key_file=key, cert_file=cert,
                            sp_metadata=[visitor.metadata(), other.metadata()])
    b_request = other.start(shared_idp)
    tweak = _destination(None) if variant == "without a Destination" else None
    for_a = visitor.response(shared_idp, ZOE, b_request, tweak=tweak)  # A's audience, recipient, destination

    answer = other.post(for_a)
    assert answer.status_code == 403 and not other.signed_in()
    with schema_context(other_tenant.schema_name):
        assert not StaffUser.objects.exists()
        event = AuditEvent.objects.get(action="auth.sign_in_refused")
        assert event.detail["reason"] == "invalid" and event.detail["detail"] == detail
    assert not AuditEvent.objects.exists() and not StaffUser.objects.exists()  # nothing in tenant A


def test_a_user_no_rule_maps_gets_the_no_access_page(visitor, idp):
    answer = visitor.post(visitor.response(idp, LUKASZ, visitor.start(idp)))
    assert answer.status_code == 403
    assert "You don’t have access to this console" in answer.content.decode()
    assert escape(REFUSALS["no_role"].format(provider=PROVIDER_NAME)) in answer.content.decode()
    assert not visitor.signed_in() and not StaffUser.objects.exists()
    event = AuditEvent.objects.get(action="auth.sign_in_refused")
    assert event.detail["reason"] == "no_role" and event.detail["email"] == LUKASZ["email"]


@pytest.mark.parametrize(
    "body",
    ["not base64 at all ✗", "PGZvbz48L2Zvbz4=",  # <foo></foo>
     encoded('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r>')],
)
def test_garbage_is_refused_not_a_server_error(visitor, idp, body):
    visitor.start(idp)
    answer = visitor.client.post("/sso/uni/saml/acs/", {"SAMLResponse": body})
    assert_refused(answer, visitor, "")


def test_an_empty_post_is_refused(visitor, idp):
    visitor.start(idp)
    assert_refused(visitor.client.post("/sso/uni/saml/acs/", {}), visitor, "no SAMLResponse")


def test_the_acs_of_an_unknown_provider_says_so(anon_client):
    answer = anon_client.post("/sso/nobody/saml/acs/", {"SAMLResponse": "x"})
    assert answer.status_code == 404
    assert not AuditEvent.objects.exists()


def test_the_acs_answers_only_posts(anon_client, provider):
    assert anon_client.get("/sso/uni/saml/acs/").status_code == 405


def test_a_provider_without_its_certificate_is_not_started(visitor):
    IdentityProvider.objects.filter(slug=SLUG).update(idp_certificate="")
    answer = visitor.client.get("/sso/uni/start/")
    assert answer.status_code == 403
    assert escape(REFUSALS["disabled"].format(provider=PROVIDER_NAME)) in answer.content.decode()


# Where the browser goes afterwards ------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/students/", "http://other.localhost/students/", "/\\evil.example"],
)
def test_next_cannot_leave_the_host(visitor, idp, target):
    request_id = visitor.start(idp, f"?next={quote(target, safe='')}")
    answer = visitor.post(visitor.response(idp, ZOE, request_id))
    assert answer.status_code == 302 and answer["Location"] == "/students/"


def test_next_on_this_host_is_followed(visitor, idp):
    request_id = visitor.start(idp, f"?next={quote('/students/?search=Zo%C3%AB', safe='')}")
    answer = visitor.post(visitor.response(idp, ZOE, request_id))
    assert answer["Location"] == "/students/?search=Zo%C3%AB"


# In a real browser ----------------------------------------------------------------------

@pytest.mark.django_db
def test_browser_tests_run_against_the_test_database():
    """See test_browser.py: keeps a run of this module alone on the test database."""
    assert connections["default"].settings_dict["NAME"].startswith("test_")


@pytest.fixture
def live_idp(keys, server, committed_tenant):
    """The IdP as its own process on a free port, and the tenant's provider trusting it; the IdP
    reads our metadata from the app's socket, as its administrators would."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    make_provider(keys, entity_id=f"{base}/metadata/", sso_url=f"{base}/sso/redirect")
    app_port = urlsplit(server.url).port
    request = urllib.request.Request(f"http://127.0.0.1:{app_port}/sso/{SLUG}/saml/metadata/",
                                     headers={"Host": f"test.localhost:{app_port}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        sp_metadata = answer.read().decode()
    key, cert = keys["idp"]
    config = {"entity_id": f"{base}/metadata/", "key_file": str(key), "cert_file": str(cert),
              "sp_metadata": [sp_metadata], "users": [ZOE, LUKASZ], "sign_response": True}
    with running_idp(port, config) as url:
        yield url


@pytest.fixture
def chromium(browser, server, live_idp):
    """A page that may reach the app and the IdP only, and must need nothing the CSP forbids."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 860}, locale="en-GB")
    context.set_default_timeout(8000)
    page = context.new_page()
    requests, violations = [], []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.requests = requests
    yield page
    context.close()
    server.app.wait_idle()
    assert all(url.startswith((server.url, live_idp, "data:")) for _, url in requests), requests
    assert violations == []


def _screenshots_and_axe(page, name):
    """Screenshots at 1366 and 390 px; no sideways scrolling, no serious axe-core violation."""
    problems = []
    for width, height in ((1366, 860), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        assert sideways_overflow(page) == 0, width
        problems += [f"{width}: {v}" for v in axe_violations(page)]
    assert problems == []


def _to_the_idp(page):
    page.goto("/login/")
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    page.wait_for_url("http://127.0.0.1:*/sso/redirect?**")


@pytest.mark.browser
@needs_chromium
def test_staff_member_signs_in_with_the_university_in_chromium(chromium, server):
    page = chromium
    _to_the_idp(page)
    assert page.get_by_role("heading", name="Test identity provider").is_visible()
    page.get_by_role("button", name="Sign in as Zoë Brontë").click()
    page.wait_for_url("**/students/")
    assert page.get_by_text(MSG_SIGNED_IN_WITH.format(name="Zoë Brontë", provider=PROVIDER_NAME)).is_visible()
    assert page.locator(".whoami-name").inner_text() == "Zoë Brontë"
    # The IdP's cross-site POST came without the session cookie, and was posted again from here.
    acs_posts = [url for method, url in page.requests if method == "POST" and url.endswith("/saml/acs/")]
    assert acs_posts == [f"{server.url}/sso/{SLUG}/saml/acs/"] * 2

    user = StaffUser.objects.get(email=ZOE["email"])
    assert user.full_name == "Zoë Brontë"
    assert sorted(user.roles.values_list("name", flat=True)) == ["operator"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"staff.create", "auth.sign_in"} <= actions and "auth.sign_in_refused" not in actions


@pytest.mark.browser
@needs_chromium
def test_the_no_access_page_in_chromium_fits_a_phone_and_passes_axe(chromium):
    page = chromium
    _to_the_idp(page)
    page.get_by_role("button", name="Sign in as Łukasz Wałęsa").click()
    page.wait_for_url("**/saml/acs/")
    heading = page.get_by_role("heading", name="You don’t have access to this console")
    heading.wait_for()
    assert page.get_by_text(REFUSALS["no_role"].format(provider=PROVIDER_NAME)).is_visible()
    _screenshots_and_axe(page, "sso-saml-no-access")
    assert not StaffUser.objects.exists()
    event = AuditEvent.objects.get(action="auth.sign_in_refused")
    assert event.detail["reason"] == "no_role" and event.detail["email"] == LUKASZ["email"]


def test_a_refusal_is_logged_without_the_message(visitor, idp, caplog):
    caplog.set_level(logging.DEBUG)
    xml = visitor.response(idp, ZOE, visitor.start(idp), tweak=_audience("https://elsewhere.example/sp"))
    assert visitor.post(xml).status_code == 403
    lines = [record.getMessage() for record in caplog.records]
    assert any("wrong audience" in line for line in lines), lines
    assert not [line for line in lines if ZOE["email"] in line or "Assertion" in line or "student-ops" in line]


@pytest.mark.browser
@needs_chromium
def test_a_response_posted_by_another_site_is_refused_in_chromium(chromium, server):
    """Another site's page posts a response to the ACS: the continue page posts it again from
    here (with this browser's session, which started no sign-in), and it is refused."""
    forged = (f'<form method="post" action="{server.url}/sso/{SLUG}/saml/acs/">'
              '<input name="SAMLResponse" value="PFJlc3BvbnNlLz4="></form><script>document.forms[0].submit()</script>')
    chromium.goto("data:text/html;charset=utf-8," + quote(forged))
    chromium.get_by_role("heading", name="You could not be signed in").wait_for()
    assert chromium.get_by_text(REFUSALS["invalid"].format(provider=PROVIDER_NAME)).is_visible()
    acs_posts = [url for method, url in chromium.requests if method == "POST" and url.endswith("/saml/acs/")]
    assert len(acs_posts) == 2
    _screenshots_and_axe(chromium, "sso-saml-refused")
    event = AuditEvent.objects.get(action="auth.sign_in_refused")
    assert event.detail["reason"] == "invalid" and event.detail["detail"].startswith("unsolicited")
    assert not StaffUser.objects.exists()
