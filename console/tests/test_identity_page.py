"""The console's Sign-in pages (console.identity.views): for admins only; providers listed with
the addresses to give their administrators; add, change, enable/disable, delete a provider
through the API's services (same rules, refusals beside their fields, same audit events); the
client secret never sent to the browser; the sign-in policy; SCIM tokens (shown once, revoked)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.identity import selectors, services
from accounts.identity.formats import MSG_ROLE_RULE_LINE
from accounts.identity.models import IdentityProvider, ScimToken
from accounts.identity.policy import policy_get
from accounts.models import AuditEvent
from accounts.tests.test_identity_providers import CERTIFICATE, SECRET, oidc, saml, sso_only
from console.identity import views
from console.pages import MSG_FIX_ERRORS

PAGE = "/sign-in/"
NEW = "/sign-in/providers/new/"


def _page(provider):
    return f"/sign-in/providers/{provider.pk}/"


def _oidc_form(**fields):
    return {"kind": "oidc", "name": "Entra ID", "slug": "entra", "enabled": "on",
            "issuer": "https://login.uni.example/v2.0", "client_id": "console", "client_secret": SECRET,
            "scopes": "openid email profile", "email_claim": "email", "name_claim": "name", "role_claim": "groups",
            "role_rules": "ops-staff = operator\n\ncn=admins,ou=groups,dc=uni = admin\n", **fields}


def _saml_form(**fields):
    return {"kind": "saml", "name": "Shibboleth", "slug": "shibboleth", "idp_entity_id": "https://idp.uni.example/idp",
            "idp_sso_url": "https://idp.uni.example/sso", "idp_certificate": CERTIFICATE, "email_claim": "mail",
            "name_claim": "displayName", "role_claim": "eduPersonAffiliation", "role_rules": "staff = viewer", **fields}


# Who may ------------------------------------------------------------------------------------------


def test_admins_see_the_pages_and_the_nav_link_others_neither(console_as, admin_user, operator_user, viewer_user):
    provider = oidc()
    page = console_as(admin_user).get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200 and provider.name in html and 'href="/sign-in/"' in html
    assert 'aria-current="page">Sign-in<' in html
    assert console_as(admin_user).get(_page(provider)).status_code == 200
    for user in (operator_user, viewer_user):
        client = console_as(user)
        for url in (PAGE, NEW + "?kind=oidc", _page(provider)):
            assert client.get(url).status_code == 403
        assert client.post(_page(provider), {"action": "delete"}).status_code == 403
        assert client.post(PAGE, {"action": "policy", "require_two_factor": "on"}).status_code == 403
        assert 'href="/sign-in/"' not in client.get("/students/").content.decode()
    assert IdentityProvider.objects.filter(pk=provider.pk).exists() and not policy_get().require_two_factor
    assert console_as().get(PAGE)["Location"] == "/login/?next=/sign-in/"


# The list ------------------------------------------------------------------------------------------


def test_the_list_shows_each_provider_with_the_addresses_to_copy(console_as, admin_user, host):
    oidc(), saml(enabled=False)
    html = console_as(admin_user).get(PAGE).content.decode()
    assert f'<code class="copy-value">http://{host}/sso/entra/oidc/callback/</code>' in html
    assert f'<code class="copy-value">http://{host}/sso/shibboleth/saml/acs/</code>' in html
    assert f'<code class="copy-value">http://{host}/sso/shibboleth/saml/metadata/</code>' in html
    assert f"http://{host}/sso/entra/start/" in html
    assert "Disabled" in html and "Enabled" in html
    assert SECRET not in html


def test_the_addresses_are_the_paths_the_sign_in_routes_serve():
    assert reverse("console:sso_start", args=["entra"]) == selectors.SIGN_IN_PATH.format(slug="entra")
    assert reverse("console:oidc_callback", args=["entra"]) == selectors.OIDC_CALLBACK_PATH.format(slug="entra")
    assert reverse("console:saml_acs", args=["entra"]) == selectors.SAML_ACS_PATH.format(slug="entra")
    assert reverse("console:saml_metadata", args=["entra"]) == selectors.SAML_METADATA_PATH.format(slug="entra")


def test_the_page_costs_the_same_whatever_the_providers(console_as, admin_user, django_assert_num_queries):
    for i in range(3):
        oidc(slug=f"idp-{i}")
    client = console_as(admin_user)
    client.get(PAGE)
    # Session, staff user with roles (one statement); the providers, the policy, the SCIM tokens.
    with django_assert_num_queries(5):
        client.get(PAGE)
    for i in range(3):
        saml(slug=f"saml-{i}")
    with django_assert_num_queries(5):
        client.get(PAGE)


def test_a_providers_page_costs_one_query_for_it(console_as, admin_user, django_assert_num_queries):
    provider = saml()
    client = console_as(admin_user)
    client.get(_page(provider))
    # Session, staff user with roles (one statement); the provider.
    with django_assert_num_queries(3):
        client.get(_page(provider))


# A provider's life ---------------------------------------------------------------------------------


def test_adding_an_oidc_provider_then_seeing_its_addresses(console_as, admin_user, host):
    client = console_as(admin_user)
    form = client.get(NEW + "?kind=oidc").content.decode()
    assert 'name="issuer"' in form and 'name="idp_certificate"' not in form
    response = client.post(NEW, _oidc_form())
    provider = IdentityProvider.objects.get()
    assert response.status_code == 302 and response["Location"] == _page(provider)
    assert provider.client_secret == SECRET and provider.enabled
    assert provider.role_rules == [{"value": "ops-staff", "role": "operator"},
                                   {"value": "cn=admins,ou=groups,dc=uni", "role": "admin"}]
    html = client.get(_page(provider)).content.decode()
    assert views.MSG_PROVIDER_ADDED.format(name="Entra ID") in html
    assert f"http://{host}/sso/entra/oidc/callback/" in html and "…" + SECRET[-4:] in html
    assert SECRET not in html
    event = AuditEvent.objects.get(action="identity_provider.create")
    assert event.actor_email == admin_user.email and event.detail == {"client_secret_set": True}


def test_adding_a_saml_provider(console_as, admin_user):
    client = console_as(admin_user)
    form = client.get(NEW + "?kind=saml").content.decode()
    assert 'name="idp_certificate"' in form and 'name="client_secret"' not in form
    response = client.post(NEW, _saml_form(client_secret="smuggled"))
    assert response.status_code == 302
    provider = IdentityProvider.objects.get()
    assert provider.kind == "saml" and provider.client_secret == "" and provider.idp_certificate == CERTIFICATE.strip()
    html = client.get(_page(provider)).content.decode()
    assert selectors.certificate_facts(CERTIFICATE)[0]["sha256"] in html


def test_without_a_kind_the_page_offers_both(console_as, admin_user):
    html = console_as(admin_user).get(NEW).content.decode()
    assert "?kind=oidc" in html and "?kind=saml" in html
    assert console_as(admin_user).post(NEW, {"kind": "ldap"}).status_code == 400


def test_refusals_are_said_beside_their_fields_and_keep_the_input_but_never_the_secret(console_as, admin_user,
                                                                                      settings):
    settings.SSO_ALLOW_PRIVATE = False
    client = console_as(admin_user)
    response = client.post(NEW, _oidc_form(issuer="http://login.uni.example", slug="Bad Slug",
                                           role_rules="ops-staff = operator\nno equals sign here\nx = superuser"))
    html = response.content.decode()
    assert response.status_code == 400 and MSG_FIX_ERRORS in html
    assert MSG_ROLE_RULE_LINE.format(line=2) in html
    assert 'value="Entra ID"' in html and SECRET not in html
    response = client.post(NEW, _oidc_form(issuer="http://login.uni.example", slug="Bad Slug"))
    html = response.content.decode()
    assert services.MSG_IDP_URL_NOT_HTTPS in html and services.MSG_IDP_SLUG_SHAPE in html  # every field at once
    assert 'id="id_slug-err"' in html and 'id="id_issuer-err"' in html
    assert SECRET not in html
    response = client.post(NEW, _oidc_form(role_rules="x = superuser"))
    assert services.MSG_IDP_ROLE_RULE_ROLE.format(number=1) in response.content.decode()
    assert 'id="id_role_rules-err"' in response.content.decode()
    response = client.post(NEW, _saml_form(idp_certificate="not a certificate"))
    assert escape(services.MSG_IDP_CERTIFICATE_INVALID) in response.content.decode()
    assert 'id="id_idp_certificate-err"' in response.content.decode()
    assert not IdentityProvider.objects.exists()


def test_a_taken_slug_is_said_beside_the_slug(console_as, admin_user):
    oidc()
    response = console_as(admin_user).post(NEW, _saml_form(slug="entra"))
    assert response.status_code == 409
    assert services.MSG_IDP_SLUG_TAKEN in response.content.decode() and 'id="id_slug-err"' in response.content.decode()


def test_editing_keeps_the_secret_unless_a_new_one_is_given(console_as, admin_user):
    provider = oidc()
    client = console_as(admin_user)
    form = client.get(_page(provider)).content.decode()
    assert SECRET not in form and 'name="client_secret" id="id_client_secret" value=""' in form
    assert "ops-staff = operator\ncn" not in form and "ops-staff = operator" in form
    fields = {**_oidc_form(name="Entra", client_secret=""), "action": "update"}
    fields.pop("kind"), fields.pop("enabled")
    assert client.post(_page(provider), fields).status_code == 302
    provider.refresh_from_db()
    assert provider.name == "Entra" and provider.client_secret == SECRET
    client.post(_page(provider), {**fields, "client_secret": "a-brand-new-secret-1234"})
    provider.refresh_from_db()
    assert provider.client_secret == "a-brand-new-secret-1234"
    events = list(AuditEvent.objects.filter(action="identity_provider.update").order_by("id"))
    assert [e.detail for e in events] == [{}, {"client_secret_changed": True}]


def test_disabling_enabling_and_deleting(console_as, admin_user):
    provider = saml()
    client = console_as(admin_user)
    client.post(_page(provider), {"action": "disable"})
    provider.refresh_from_db()
    assert not provider.enabled
    response = client.post(_page(provider), {"action": "enable"}, follow=True)
    provider.refresh_from_db()
    assert provider.enabled and views.MSG_PROVIDER_ENABLED.format(name=provider.name) in response.content.decode()
    response = client.post(_page(provider), {"action": "delete"})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert not IdentityProvider.objects.exists()
    assert list(AuditEvent.objects.filter(target_id=provider.pk).order_by("id").values_list("action", flat=True)) == [
        "identity_provider.create", "identity_provider.update", "identity_provider.update", "identity_provider.delete",
    ]


def test_the_last_enabled_provider_stays_while_sso_only_is_on(console_as, admin_user):
    provider = oidc()
    sso_only()
    client = console_as(admin_user)
    for action in ("disable", "delete"):
        response = client.post(_page(provider), {"action": action}, follow=True)
        assert services.MSG_IDP_LAST_ENABLED in response.content.decode()
    provider.refresh_from_db()
    assert provider.enabled


def test_unknown_or_malformed_providers_are_404_pages(console_as, admin_user):
    client = console_as(admin_user)
    assert client.get("/sign-in/providers/000000000000000000000000/").status_code == 404
    assert client.get("/sign-in/providers/bad%20id/").status_code == 404


class Issuer:
    """An OpenID Connect issuer's discovery document, served on 127.0.0.1 (SSO_ALLOW_PRIVATE is on in tests)."""

    def __init__(self, *, issuer_override=None):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = json.dumps({
                    "issuer": issuer_override or server.url, "authorization_endpoint": server.url + "/authorize",
                    "token_endpoint": server.url + "/token", "jwks_uri": server.url + "/jwks",
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("matches", [True, False])
def test_checking_an_oidc_issuer_says_whether_it_answers(console_as, admin_user, matches):
    issuer = Issuer(issuer_override=None if matches else "https://someone.else.example")
    try:
        provider = oidc(issuer=issuer.url)
        response = console_as(admin_user).post(_page(provider), {"action": "check"}, follow=True)
    finally:
        issuer.stop()
    html = response.content.decode()
    if matches:
        assert views.MSG_PROVIDER_REACHED.format(issuer=issuer.url) in html
    else:
        assert "names the issuer" in html and "Could not use" in html


# The policy ---------------------------------------------------------------------------------------------


def test_the_policy_form_saves_and_refuses_sso_only_without_a_provider(console_as, admin_user):
    client = console_as(admin_user)
    response = client.post(PAGE, {"action": "policy", "sso_only": "on", "break_glass_emails": "root@uni.example"})
    html = response.content.decode()
    assert response.status_code == 409 and services.MSG_IDP_SSO_ONLY_WITHOUT_PROVIDER in html
    assert 'id="id_sso_only-err"' in html and "root@uni.example" in html
    assert not policy_get().sso_only
    response = client.post(PAGE, {"action": "policy", "break_glass_emails": "ok@uni.example\nnot an email"})
    assert response.status_code == 400
    assert services.MSG_BREAK_GLASS_EMAIL.format(email="not an email") in response.content.decode()
    oidc()
    response = client.post(PAGE, {"action": "policy", "sso_only": "on", "require_two_factor": "on",
                                  "break_glass_emails": "Root@Uni.example\n\n ops@uni.example \n"})
    assert response.status_code == 302
    policy = policy_get()
    assert policy.sso_only and policy.require_two_factor
    assert policy.break_glass_emails == ["ops@uni.example", "root@uni.example"]
    html = client.get(PAGE).content.decode()
    assert "ops@uni.example\nroot@uni.example</textarea>" in html and views.MSG_POLICY_SAVED in html
    assert AuditEvent.objects.filter(action="sign_in_policy.update").count() == 1


# SCIM tokens ---------------------------------------------------------------------------------------------


def test_a_scim_token_is_shown_once_and_can_be_revoked(console_as, admin_user, host):
    client = console_as(admin_user)
    response = client.post(PAGE, {"action": "scim_create", "description": "Entra provisioning"})
    html = response.content.decode()
    assert response.status_code == 201 and views.MSG_SCIM_TOKEN_CREATED in html
    token = ScimToken.objects.get()
    raw = html.split("data-secret>", 1)[1].split("<", 1)[0]
    assert raw.startswith(token.prefix) and len(raw) > 20 and f"http://{host}/scim/v2" in html
    listed = client.get(PAGE).content.decode()
    assert raw not in listed and "Entra provisioning" in listed and f"{token.prefix}…" in listed
    response = client.post(PAGE, {"action": "scim_revoke", "token": token.pk})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in client.get(PAGE).content.decode()
    assert client.post(PAGE, {"action": "scim_revoke", "token": "000000000000000000000000"}).status_code == 404


def test_deleting_a_provider_and_revoking_a_scim_token_confirm_first(console_as, admin_user, operator_user):
    provider = saml()
    client = console_as(admin_user)
    assert 'href="?delete">Delete provider…</a>' in client.get(_page(provider)).content.decode()
    response = client.get(_page(provider), {"delete": ""})
    html = response.content.decode()
    assert response.status_code == 200 and escape(views.MSG_CONFIRM_PROVIDER_DELETE.format(name=provider.name)) in html
    assert all(escape(line) in html for line in views.PROVIDER_DELETE_CONSEQUENCES)
    assert '<input type="hidden" name="action" value="delete">' in html
    assert IdentityProvider.objects.filter(pk=provider.pk).exists()
    assert console_as(operator_user).get(_page(provider), {"delete": ""}).status_code == 403

    client.post(PAGE, {"action": "scim_create", "description": "Entra provisioning"})
    token = ScimToken.objects.get()
    assert f'href="?revoke={token.pk}"' in client.get(PAGE).content.decode()
    response = client.get(PAGE, {"revoke": token.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert escape(views.MSG_CONFIRM_SCIM_REVOKE.format(prefix=token.prefix, description="Entra provisioning")) in html
    assert f'<input type="hidden" name="token" value="{token.pk}">' in html
    token.refresh_from_db()
    assert token.revoked_at is None
    assert client.get(PAGE, {"revoke": "000000000000000000000000"}).status_code == 404
    assert client.get(PAGE, {"revoke": "'\"<>"}).status_code in (400, 404)
    client.post(PAGE, {"action": "scim_revoke", "token": token.pk})
    # Revoked: nothing to confirm.
    assert client.get(PAGE, {"revoke": token.pk}).status_code == 302
