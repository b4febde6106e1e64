"""Identity providers and the sign-in policy through the API (accounts.identity): for admins only;
the rules of each kind, named by field; the client secret never answered, audited or logged;
the addresses an identity provider's administrator registers; nobody locked out by SSO only."""
import datetime as dt
import logging

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from accounts.identity import selectors, services
from accounts.identity.models import IdentityProvider, SignInPolicy
from accounts.identity.policy import policy_get
from accounts.models import AuditEvent
from config.errors import MSG_PERMISSION_DENIED, AppError

API = "/v1/identity-providers"
POLICY = "/v1/sign-in-policy"
SECRET = "s3cr3t-Øk-clientsecret-value-9f2c"


def make_certificate(*, days=365, private_key=False):
    """A self-signed certificate in PEM (and its key's PEM after it, when asked)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.uni.example")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    if private_key:
        pem += key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return pem


CERTIFICATE = make_certificate()


def oidc_body(**fields):
    return {
        "kind": "oidc", "slug": "entra", "name": "Microsoft Entra ID", "issuer": "https://login.uni.example/v2.0",
        "client_id": "console-client", "client_secret": SECRET,
        "role_rules": [{"value": "ops-staff", "role": "operator"}, {"value": "ops-admins", "role": "admin"}],
        **fields,
    }


def saml_body(**fields):
    return {
        "kind": "saml", "slug": "shibboleth", "name": "Università Shibboleth", "idp_entity_id": "https://idp.uni.example/idp",
        "idp_sso_url": "https://idp.uni.example/idp/profile/SAML2/Redirect/SSO", "idp_certificate": CERTIFICATE,
        "role_claim": "eduPersonAffiliation", "role_rules": [{"value": "cn=ops,ou=groups,dc=uni", "role": "viewer"}],
        **fields,
    }


def oidc(**fields):
    body = oidc_body(**fields)
    return services.provider_create(**body)


def saml(**fields):
    return services.provider_create(**saml_body(**fields))


def sso_only():
    SignInPolicy.objects.update_or_create(pk=1, defaults={"sso_only": True, "break_glass_emails": ["root@uni.example"]})


# Who may ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["operator_client", "viewer_client", "ingest_client"])
def test_staff_without_identity_can_manage_are_refused_everywhere(request, client_name):
    provider = oidc()
    client = request.getfixturevalue(client_name)
    calls = [
        client.get(API), client.post(API, oidc_body(slug="other"), format="json"),
        client.get(f"{API}/{provider.pk}"), client.patch(f"{API}/{provider.pk}", {"name": "X"}, format="json"),
        client.delete(f"{API}/{provider.pk}"), client.get(POLICY), client.patch(POLICY, {"sso_only": True}, format="json"),
    ]
    for response in calls:
        assert response.status_code == 403, response.json()
        assert response.json()["message"] == MSG_PERMISSION_DENIED
    provider.refresh_from_db()
    assert provider.name == "Microsoft Entra ID" and IdentityProvider.objects.count() == 1
    assert not SignInPolicy.objects.exists()


def test_anonymous_callers_are_401(anon_client):
    assert anon_client.get(API).status_code == 401
    assert anon_client.patch(POLICY, {"sso_only": True}, format="json").status_code == 401


def test_another_tenants_providers_are_not_found_here(admin_client, other_tenant_client):
    provider = oidc()
    assert other_tenant_client.get(f"{API}/{provider.pk}").status_code == 404
    assert other_tenant_client.get(API).json()["total"] == 0


# The API: a provider's life ------------------------------------------------------------------------


def test_admins_add_list_read_change_and_delete_an_oidc_provider(admin_client):
    created = admin_client.post(API, oidc_body(), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()["data"]
    provider_id = body["id"]
    assert created["Location"] == f"{API}/{provider_id}"
    assert body["kind"] == "oidc" and body["enabled"] is True and body["issuer"] == "https://login.uni.example/v2.0"
    assert body["client_secret_hint"] == "…" + SECRET[-4:] and "client_secret" not in body
    assert body["scopes"] == "openid email profile" and body["email_claim"] == "email" and body["role_claim"] == "groups"
    assert body["idp_entity_id"] is None and body["acs_url"] is None and body["idp_certificates"] is None

    listed = admin_client.get(API).json()
    assert [row["id"] for row in listed["data"]] == [provider_id] and listed["total"] == 1
    assert admin_client.get(f"{API}/{provider_id}").json()["data"] == body

    changed = admin_client.patch(f"{API}/{provider_id}", {"name": "Entra", "enabled": False, "role_rules": []},
                                 format="json")
    assert changed.status_code == 200, changed.json()
    data = changed.json()["data"]
    assert (data["name"], data["enabled"], data["role_rules"]) == ("Entra", False, [])
    assert data["client_secret_hint"] == body["client_secret_hint"]  # left out: the secret stays

    assert admin_client.delete(f"{API}/{provider_id}").status_code == 200
    assert admin_client.get(f"{API}/{provider_id}").status_code == 404
    actions = list(AuditEvent.objects.filter(target_type="identity_provider").order_by("id").values_list("action", flat=True))
    assert actions == ["identity_provider.create", "identity_provider.update", "identity_provider.delete"]


def test_a_saml_provider_answers_its_certificates_fingerprint_and_expiry(admin_client):
    response = admin_client.post(API, saml_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()["data"]
    certificate = x509.load_pem_x509_certificate(CERTIFICATE.encode())
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex().upper()
    expires = certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [(c["sha256"].replace(":", ""), c["expires_at"]) for c in body["idp_certificates"]] == [(fingerprint, expires)]
    assert body["issuer"] is None and body["client_secret_hint"] is None and body["redirect_uri"] is None
    assert body["role_rules"] == [{"value": "cn=ops,ou=groups,dc=uni", "role": "viewer"}]


def test_answers_give_the_addresses_to_register_on_the_tenants_host(admin_client, host):
    entra = oidc()
    shib = saml()
    answer = admin_client.get(f"{API}/{entra.pk}", secure=True).json()["data"]
    assert answer["redirect_uri"] == f"https://{host}/sso/entra/oidc/callback/"
    assert answer["sign_in_url"] == f"https://{host}/sso/entra/start/"
    assert answer["sp_entity_id"] is None and answer["metadata_url"] is None
    answer = admin_client.get(f"{API}/{shib.pk}", secure=True).json()["data"]
    assert answer["sp_entity_id"] == answer["metadata_url"] == f"https://{host}/sso/shibboleth/saml/metadata/"
    assert answer["acs_url"] == f"https://{host}/sso/shibboleth/saml/acs/"
    assert answer["sign_in_url"] == f"https://{host}/sso/shibboleth/start/" and answer["redirect_uri"] is None


def test_addresses_are_https_behind_a_proxy_ending_tls_as_the_sign_in_flows_build_them(admin_client, host, settings):
    provider = saml()
    assert admin_client.get(f"{API}/{provider.pk}").json()["data"]["acs_url"].startswith(f"http://{host}/")
    settings.SESSION_COOKIE_SECURE = True  # SECURE_COOKIES
    assert admin_client.get(f"{API}/{provider.pk}").json()["data"]["acs_url"] == f"https://{host}/sso/shibboleth/saml/acs/"


def test_both_certificates_of_a_key_rollover_are_kept_and_answered(admin_client):
    both = CERTIFICATE + make_certificate(days=730)
    response = admin_client.post(API, saml_body(idp_certificate=both), format="json")
    assert response.status_code == 201 and len(response.json()["data"]["idp_certificates"]) == 2
    garbled = CERTIFICATE + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    response = admin_client.post(API, saml_body(slug="other", idp_certificate=garbled), format="json")
    assert response.json()["errors"] == {"idp_certificate": [services.MSG_IDP_CERTIFICATE_INVALID]}


def test_a_short_secret_shows_no_characters():
    assert selectors.secret_hint("abc12345") == "…"
    assert selectors.secret_hint("") is None
    assert selectors.secret_hint("a" * 8 + "wxyz") == "…wxyz"


# What each kind needs, named by field -------------------------------------------------------------


@pytest.mark.parametrize(
    "body, errors",
    [
        ({k: v for k, v in oidc_body().items() if k != "issuer"}, ["issuer"]),
        ({k: v for k, v in oidc_body().items() if k not in ("client_id", "client_secret")}, ["client_id", "client_secret"]),
        (oidc_body(issuer="https://login.uni.example/v2.0?tenant=x"), ["issuer"]),
        (oidc_body(issuer="ftp://login.uni.example"), ["issuer"]),
        (oidc_body(idp_sso_url="https://idp.uni.example/sso"), ["idp_sso_url"]),  # not of this kind
        ({k: v for k, v in saml_body().items() if k != "idp_certificate"}, ["idp_certificate"]),
        (saml_body(idp_sso_url="https://idp.uni.example/sso#x"), ["idp_sso_url"]),
        (saml_body(client_secret="x"), ["client_secret"]),
        (oidc_body(slug="Not A Slug"), ["slug"]),
        (oidc_body(slug="-x"), ["slug"]),
        (oidc_body(name="  "), ["name"]),
        (oidc_body(role_rules=[{"value": "", "role": "admin"}]), ["role_rules.0.value"]),
        (oidc_body(role_rules=[{"value": "x", "role": "superuser"}]), ["role_rules.0.role"]),
        (oidc_body(role_rules=[{"value": "x", "role": "admin", "extra": 1}]), ["role_rules.0.extra"]),
        (oidc_body(role_rules=[{"value": f"g{i}", "role": "viewer"} for i in range(101)]), ["role_rules"]),
        (oidc_body(kind="ldap"), ["kind"]),
        ({"name": "x"}, ["kind"]),
        (oidc_body(id="000000000000000000000000"), ["id"]),
    ],
)
def test_bad_bodies_are_400s_naming_each_field(admin_client, body, errors):
    response = admin_client.post(API, body, format="json")
    assert response.status_code == 400, response.json()
    assert sorted(response.json()["errors"]) == sorted(errors)
    assert not IdentityProvider.objects.exists()


def test_the_certificate_must_be_a_pem_certificate_and_never_a_private_key(admin_client):
    response = admin_client.post(API, saml_body(idp_certificate="-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"),
                                 format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"idp_certificate": [services.MSG_IDP_CERTIFICATE_INVALID]}
    response = admin_client.post(API, saml_body(idp_certificate=make_certificate(private_key=True)), format="json")
    assert response.json()["errors"] == {"idp_certificate": [services.MSG_IDP_CERTIFICATE_PRIVATE_KEY]}
    expired = make_certificate(days=-1)  # parsed, not judged: the IdP decides when it rolls over
    assert admin_client.post(API, saml_body(idp_certificate=expired), format="json").status_code == 201


def test_every_bad_field_is_named_at_once():
    with pytest.raises(AppError) as refused:
        services.provider_create(kind="saml", slug="Bad Slug", name="", idp_sso_url="ftp://x", idp_certificate="x",
                                 role_rules=[{"value": " ", "role": "root"}], client_id="x")
    assert refused.value.errors == {
        "slug": [services.MSG_IDP_SLUG_SHAPE],
        "name": [services.MSG_IDP_FIELD_REQUIRED],
        "idp_entity_id": [services.MSG_IDP_REQUIRED.format(kind="SAML 2.0")],
        "idp_sso_url": [services.MSG_IDP_SSO_URL_SHAPE],
        "idp_certificate": [services.MSG_IDP_CERTIFICATE_INVALID],
        "role_rules[0].value": [services.MSG_IDP_ROLE_RULE_VALUE.format(number=1, max=200)],
        "role_rules[0].role": [services.MSG_IDP_ROLE_RULE_ROLE.format(number=1)],
        "client_id": [services.MSG_IDP_NOT_FOR_KIND.format(kind="OpenID Connect", own="SAML 2.0")],
    }


def test_https_is_required_unless_private_addresses_are_allowed(admin_client, settings):
    settings.SSO_ALLOW_PRIVATE = False
    response = admin_client.post(API, oidc_body(issuer="http://login.uni.example"), format="json")
    assert response.status_code == 400 and response.json()["errors"] == {"issuer": [services.MSG_IDP_URL_NOT_HTTPS]}
    response = admin_client.post(API, saml_body(idp_sso_url="http://idp.uni.example/sso"), format="json")
    assert response.json()["errors"] == {"idp_sso_url": [services.MSG_IDP_URL_NOT_HTTPS]}
    settings.SSO_ALLOW_PRIVATE = True
    assert admin_client.post(API, oidc_body(issuer="http://127.0.0.1:8400"), format="json").status_code == 201


def test_a_taken_slug_is_a_409_naming_slug(admin_client):
    oidc()
    response = admin_client.post(API, saml_body(slug="entra"), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT" and response.json()["errors"] == {"slug": [services.MSG_IDP_SLUG_TAKEN]}
    other = saml()
    response = admin_client.patch(f"{API}/{other.pk}", {"slug": "entra"}, format="json")
    assert response.status_code == 409 and response.json()["errors"] == {"slug": [services.MSG_IDP_SLUG_TAKEN]}


def test_a_change_may_not_set_the_other_kinds_fields_nor_the_kind(admin_client):
    provider = saml()
    response = admin_client.patch(f"{API}/{provider.pk}", {"client_secret": "new-secret-value-123", "kind": "oidc"},
                                  format="json")
    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["kind"]
    response = admin_client.patch(f"{API}/{provider.pk}", {"client_secret": "new-secret-value-123"}, format="json")
    assert response.json()["errors"] == {
        "client_secret": [services.MSG_IDP_NOT_FOR_KIND.format(kind="OpenID Connect", own="SAML 2.0")]
    }
    provider.refresh_from_db()
    assert provider.client_secret == ""


def test_malformed_and_unknown_ids(admin_client):
    response = admin_client.get(f"{API}/-bad")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["provider_id"]
    response = admin_client.patch(f"{API}/000000000000000000000000", {"name": "x"}, format="json")
    assert response.status_code == 404 and response.json()["message"] == selectors.MSG_IDP_NOT_FOUND


# The secret: never shown, audited or logged ----------------------------------------------------------


def test_the_secret_is_never_answered_audited_or_logged(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    created = admin_client.post(API, oidc_body(), format="json")
    provider_id = created.json()["data"]["id"]
    new_secret = "rotated-client-secret-7Qx"
    admin_client.patch(f"{API}/{provider_id}", {"client_secret": new_secret}, format="json")
    admin_client.patch(f"{API}/{provider_id}", {"client_secret": new_secret}, format="json")  # the same: no event
    listed = admin_client.get(API)
    admin_client.delete(f"{API}/{provider_id}")
    for response in (created, listed):
        assert SECRET not in response.content.decode() and new_secret not in response.content.decode()
    events = list(AuditEvent.objects.filter(target_type="identity_provider").order_by("id"))
    assert [(e.action, e.detail) for e in events] == [
        ("identity_provider.create", {"client_secret_set": True}),
        ("identity_provider.update", {"client_secret_changed": True}),
        ("identity_provider.delete", {}),
    ]
    assert events[1].changes == {}  # nothing but the secret changed
    assert events[0].changes["client_id"] == [None, "console-client"]
    for event in events:
        assert SECRET not in str(event.changes) + str(event.detail) and new_secret not in str(event.changes)
    assert caplog.records and SECRET not in caplog.text and new_secret not in caplog.text


def test_a_refused_body_does_not_log_or_echo_the_secret(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = admin_client.post(API, oidc_body(issuer="not a url"), format="json")
    assert response.status_code == 400 and SECRET not in response.content.decode() and SECRET not in caplog.text


def test_changes_are_audited_with_before_and_after(admin_client, admin_user):
    provider = saml()
    replacement = make_certificate()
    admin_client.patch(f"{API}/{provider.pk}", {"idp_certificate": replacement, "role_claim": "groups"}, format="json")
    event = AuditEvent.objects.filter(action="identity_provider.update").get()
    assert event.actor_email == admin_user.email and event.target_id == provider.pk
    assert set(event.changes) == {"idp_certificates_sha256", "role_claim"}
    assert event.changes["role_claim"] == ["eduPersonAffiliation", "groups"]


# Nobody locked out ---------------------------------------------------------------------------------


def test_sso_only_cannot_be_switched_on_while_no_provider_is_enabled(admin_client):
    response = admin_client.patch(POLICY, {"sso_only": True}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"] == {"sso_only": [services.MSG_IDP_SSO_ONLY_WITHOUT_PROVIDER]}
    oidc(enabled=False)
    assert admin_client.patch(POLICY, {"sso_only": True}, format="json").status_code == 409
    assert not policy_get().sso_only
    saml()
    response = admin_client.patch(POLICY, {"sso_only": True, "break_glass_emails": ["Root@Uni.example", "root@uni.example"]},
                                  format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["sso_only"] is True
    assert response.json()["data"]["break_glass_emails"] == ["root@uni.example"]


def test_the_last_enabled_provider_cannot_be_disabled_or_deleted_while_sso_only_is_on(admin_client):
    entra, shib = oidc(), saml()
    sso_only()
    assert admin_client.patch(f"{API}/{entra.pk}", {"enabled": False}, format="json").status_code == 200
    response = admin_client.patch(f"{API}/{shib.pk}", {"enabled": False}, format="json")
    assert response.status_code == 409 and response.json()["errors"] == {"enabled": [services.MSG_IDP_LAST_ENABLED]}
    response = admin_client.delete(f"{API}/{shib.pk}")
    assert response.status_code == 409 and response.json()["message"] == services.MSG_IDP_LAST_ENABLED
    assert admin_client.delete(f"{API}/{entra.pk}").status_code == 200  # a disabled one may go
    shib.refresh_from_db()
    assert shib.enabled
    admin_client.patch(POLICY, {"sso_only": False}, format="json")
    assert admin_client.delete(f"{API}/{shib.pk}").status_code == 200


# The sign-in policy ---------------------------------------------------------------------------------


def test_the_policy_reads_its_defaults_then_changes_only_what_is_sent(admin_client, admin_user):
    body = admin_client.get(POLICY).json()["data"]
    assert body == {"sso_only": False, "break_glass_emails": [], "require_two_factor": False, "updated_at": None}
    response = admin_client.patch(POLICY, {"require_two_factor": True}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["require_two_factor"] is True and data["sso_only"] is False and data["updated_at"]
    admin_client.patch(POLICY, {"break_glass_emails": ["ops@uni.example"]}, format="json")
    admin_client.patch(POLICY, {"require_two_factor": True}, format="json")  # nothing new: no event
    admin_client.patch(POLICY, {}, format="json")
    events = list(AuditEvent.objects.filter(action="sign_in_policy.update").order_by("id"))
    assert [e.changes for e in events] == [
        {"require_two_factor": [False, True]},
        {"break_glass_emails": [[], ["ops@uni.example"]]},
    ]
    assert events[0].actor_email == admin_user.email
    assert policy_get().break_glass_emails == ["ops@uni.example"] and policy_get().require_two_factor


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sso_only": "yes"}, "sso_only"),
        ({"break_glass_emails": ["not-an-email"]}, "break_glass_emails"),
        ({"break_glass_emails": [f"a{i}@uni.example" for i in range(101)]}, "break_glass_emails"),
        ({"require_two_factor": 1}, "require_two_factor"),
        ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
    ],
)
def test_bad_policy_bodies_are_400s_naming_the_field(admin_client, body, field):
    response = admin_client.patch(POLICY, body, format="json")
    assert response.status_code == 400
    assert {key.split(".")[0] for key in response.json()["errors"]} == {field}
    assert not SignInPolicy.objects.exists()


def test_the_list_costs_the_same_whatever_the_providers(admin_client, django_assert_num_queries):
    for i in range(3):
        oidc(slug=f"idp-{i}")
    admin_client.get(API)
    # The token (with user and roles), the count, the page.
    with django_assert_num_queries(3):
        assert admin_client.get(API).json()["total"] == 3
    for i in range(5):
        saml(slug=f"saml-{i}")
    with django_assert_num_queries(3):
        assert admin_client.get(API).json()["total"] == 8
