"""SCIM 2.0 at /scim/v2/: the requests Entra ID and Okta send to provision and deprovision staff,
the tenant's own tokens only, deactivation ending sessions and API tokens at once, and SCIM's
errors (never a 500) for what is malformed."""
import datetime as dt
import json
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.identity.models import ScimToken
from accounts.models import ApiToken, AuditEvent, StaffUser
from accounts.scim import services
from accounts.scim.protocol import ERROR_SCHEMA, LIST_RESPONSE_SCHEMA, MEDIA_TYPE, USER_SCHEMA
from testing.clients import TenantAPIClient, issue_token
from testing.factories import StaffUserFactory

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Scim:
    """A SCIM client on a host: JSON in and out, as identity providers send it."""

    def __init__(self, host, raw=None):
        self.client = TenantAPIClient(host)
        self.raw = raw

    def send(self, method, path, body=None, *, raw_body=None, authorization=None):
        headers = {}
        if authorization is not None:
            headers["HTTP_AUTHORIZATION"] = authorization
        elif self.raw:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.raw}"
        data = raw_body if raw_body is not None else (json.dumps(body) if body is not None else "")
        return self.client.generic(method, f"/scim/v2{path}", data=data, content_type=MEDIA_TYPE, **headers)

    def get(self, path, **kwargs):
        return self.send("GET", path, **kwargs)


@pytest.fixture
def scim_token():
    return services.scim_token_create(description="Entra ID")


@pytest.fixture
def scim(host, scim_token):
    return Scim(host, scim_token[1])


def _ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:500])
    if status == 204:
        return None
    assert response["Content-Type"] == MEDIA_TYPE
    return json.loads(response.content)


def _error(response, status, scim_type=None):
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == MEDIA_TYPE
    body = json.loads(response.content)
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body


def _find(scim, filter_text):
    return _ok(scim.get(f"/Users?filter={filter_text}"))


# The shapes identity providers send ---------------------------------------------------------

ENTRA_CREATE = {
    "schemas": [USER_SCHEMA, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Chidinma.Okafor@Contoso.edu",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Chidinma.Okafor@Contoso.edu"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "Chidinma Okafọr", "familyName": "Okafọr", "givenName": "Chidinma"},
    "displayName": "Chidinma Okafọr",
    "roles": [],
    ENTERPRISE: {"employeeNumber": "701984", "department": "Registry", "manager": {"value": "ab12"}},
}

OKTA_CREATE = {
    "schemas": [USER_SCHEMA],
    "userName": "zoe.bronte@uni.example",
    "name": {"givenName": "Zoë", "familyName": "Brontë"},
    "emails": [{"primary": True, "value": "zoe.bronte@uni.example", "type": "work"}],
    "displayName": "Zoë Brontë",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


def _entra_patch(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_entra_probes_by_user_name_finds_nobody_then_creates_with_its_enterprise_extension(scim):
    probe = _find(scim, 'userName eq "Chidinma.Okafor@Contoso.edu"')
    assert probe == {"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0,
                     "Resources": []}

    response = scim.send("POST", "/Users", ENTRA_CREATE)
    created = _ok(response, 201)

    user = StaffUser.objects.get(pk=int(created["id"]))
    assert response["Location"] == f"http://test.localhost/scim/v2/Users/{user.pk}" == created["meta"]["location"]
    assert created["userName"] == "chidinma.okafor@contoso.edu" == user.email
    assert created["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" == user.scim_external_id
    assert created["name"] == {"formatted": "Chidinma Okafọr", "givenName": "Chidinma", "familyName": "Okafọr"}
    assert created["active"] is True and user.is_active
    assert created["emails"] == [{"value": "chidinma.okafor@contoso.edu", "type": "work", "primary": True}]
    assert ENTERPRISE not in created
    assert user.full_name == "Chidinma Okafọr"
    assert list(user.roles.all()) == []  # the role comes from the IdP's groups claim at the first sign-in
    assert not user.has_usable_password()
    # Found afterwards by the same probe, ignoring case, and by its externalId.
    assert [u["id"] for u in _find(scim, 'userName eq "chidinma.okafor@contoso.edu"')["Resources"]] == [created["id"]]
    assert _find(scim, 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')["totalResults"] == 1
    assert _find(scim, 'externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"')["totalResults"] == 0  # caseExact


def test_entra_patch_with_capitalised_ops_and_paths_changes_name_address_and_external_id(scim):
    user_id = _ok(scim.send("POST", "/Users", ENTRA_CREATE), 201)["id"]
    body = _entra_patch(
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "c.okafor@contoso.edu"},
        {"op": "Replace", "path": "name.familyName", "value": "Okafọr-Eze"},
        {"op": "Replace", "path": "name.formatted", "value": "Chidinma Okafọr-Eze"},
        {"op": "Replace", "path": "displayName", "value": "Chidinma Okafọr-Eze"},
        {"op": "Add", "path": "externalId", "value": "new-object-id"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Admissions"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "ab13"},
        {"op": "Replace", "path": "title", "value": "Registrar"},
    )
    patched = _ok(scim.send("PATCH", f"/Users/{user_id}", body))

    assert patched["userName"] == "c.okafor@contoso.edu"
    assert patched["name"] == {"formatted": "Chidinma Okafọr-Eze", "givenName": "Chidinma", "familyName": "Okafọr-Eze"}
    assert patched["externalId"] == "new-object-id"
    assert patched["active"] is True
    user = StaffUser.objects.get(pk=int(user_id))
    assert (user.email, user.full_name) == ("c.okafor@contoso.edu", "Chidinma Okafọr-Eze")


def test_entra_patch_of_user_name_wins_over_emails_and_given_name_alone_rebuilds_the_name(scim):
    okta = {**OKTA_CREATE, "displayName": None}
    user_id = _ok(scim.send("POST", "/Users", okta), 201)["id"]
    body = _entra_patch(
        {"op": "Replace", "path": "userName", "value": "Zoe.B@uni.example"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "other@uni.example"},
        {"op": "Replace", "path": "name.givenName", "value": "Zoé"},
        {"op": "Replace", "path": "emails[type eq \"home\"].value", "value": "zoe@home.example"},
    )
    patched = _ok(scim.send("PATCH", f"/Users/{user_id}", body))
    assert patched["userName"] == "zoe.b@uni.example"
    assert patched["displayName"] == "Zoé Brontë"


def test_entra_deactivates_with_replace_active_false_as_a_string_and_reactivates(scim):
    user_id = _ok(scim.send("POST", "/Users", ENTRA_CREATE), 201)["id"]

    off = _ok(scim.send("PATCH", f"/Users/{user_id}", _entra_patch({"op": "Replace", "path": "active", "value": "False"})))
    assert off["active"] is False
    assert StaffUser.objects.get(pk=int(user_id)).is_active is False

    on = _ok(scim.send("PATCH", f"/Users/{user_id}", _entra_patch({"op": "Replace", "path": "active", "value": "True"})))
    assert on["active"] is True
    assert StaffUser.objects.get(pk=int(user_id)).is_active is True


def test_okta_creates_then_deactivates_with_a_pathless_replace(scim):
    assert _find(scim, 'userName eq "zoe.bronte@uni.example"&startIndex=1&count=100')["totalResults"] == 0
    created = _ok(scim.send("POST", "/Users", OKTA_CREATE), 201)
    assert created["name"] == {"formatted": "Zoë Brontë", "givenName": "Zoë", "familyName": "Brontë"}
    user = StaffUser.objects.get(pk=int(created["id"]))
    assert not user.has_usable_password()  # Okta's password is not kept: staff sign in through the IdP

    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    patched = _ok(scim.send("PATCH", f"/Users/{created['id']}", body))
    assert patched["active"] is False
    user.refresh_from_db()
    assert user.is_active is False and user.session_generation == 1


def test_okta_put_replaces_the_whole_user_and_reactivates(scim):
    created = _ok(scim.send("POST", "/Users", {**OKTA_CREATE, "active": False}), 201)
    assert created["active"] is False
    put = {
        **OKTA_CREATE,
        "id": created["id"],
        "name": {"givenName": "Zoë", "familyName": "Brontë-Heger"},
        "displayName": "Zoë Brontë-Heger",
        "externalId": None,
        "active": True,
        "meta": created["meta"],
    }
    replaced = _ok(scim.send("PUT", f"/Users/{created['id']}", put))

    assert replaced["active"] is True
    assert replaced["name"] == {"formatted": "Zoë Brontë-Heger", "givenName": "Zoë", "familyName": "Brontë-Heger"}
    assert "externalId" not in replaced  # cleared: a PUT replaces the resource
    assert StaffUser.objects.get(pk=int(created["id"])).is_active


def test_a_pathless_patch_may_name_sub_attributes_and_the_core_schema_urn(scim):
    user_id = _ok(scim.send("POST", "/Users", OKTA_CREATE), 201)["id"]
    body = _entra_patch({"op": "Replace", "value": {
        "name.givenName": "Zoe", f"{USER_SCHEMA}:displayName": "Zoe Bronte", ENTERPRISE: {"department": "IT"},
    }})
    patched = _ok(scim.send("PATCH", f"/Users/{user_id}", body))
    assert patched["displayName"] == "Zoe Bronte" and patched["name"]["givenName"] == "Zoe"


def test_names_sent_decomposed_are_stored_composed_and_found_either_way(scim):
    body = {**OKTA_CREATE, "name": {"givenName": "Zoe\u0308", "familyName": "Bronte\u0308"}, "displayName": None}
    created = _ok(scim.send("POST", "/Users", body), 201)
    assert created["displayName"] == "Zoë Brontë" == StaffUser.objects.get(pk=int(created["id"])).full_name
    assert _find(scim, quote('name.givenName eq "Zoe\u0308"'))["totalResults"] == 1
    assert _find(scim, quote('displayName eq "Zoë Brontë"'))["totalResults"] == 1


def test_a_patch_that_changes_nothing_writes_no_audit_event(scim):
    user_id = _ok(scim.send("POST", "/Users", OKTA_CREATE), 201)["id"]
    before = AuditEvent.objects.count()
    _ok(scim.send("PATCH", f"/Users/{user_id}", _entra_patch({"op": "Replace", "path": "active", "value": True})))
    assert AuditEvent.objects.count() == before


# Deactivation ends access at once ---------------------------------------------------------


def test_deactivation_ends_a_signed_in_console_session_and_revokes_bearer_tokens(scim, host):
    user = StaffUserFactory(email="vera@uni.example", roles=["viewer"])
    browser = TenantAPIClient(host)
    browser.force_login(user)
    api = TenantAPIClient(host, HTTP_AUTHORIZATION=f"Bearer {issue_token(user)}")
    assert browser.get("/students/").status_code == 200
    assert api.get("/v1/console/students").status_code == 200

    _ok(scim.send("PATCH", f"/Users/{user.pk}", _entra_patch({"op": "Replace", "path": "active", "value": "False"})))

    response = browser.get("/students/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert api.get("/v1/console/students").status_code == 401
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    event = AuditEvent.objects.filter(action="staff.deactivate", target_id=str(user.pk)).get()
    assert event.via == "scim" and event.changes == {"is_active": [True, False]}
    assert event.detail["api_tokens_revoked"] == 1 and event.detail["sessions_ended"] is True

    # Reactivated, the user must sign in again: the ended session and the revoked token stay so.
    _ok(scim.send("PATCH", f"/Users/{user.pk}", _entra_patch({"op": "Replace", "path": "active", "value": "True"})))
    assert browser.get("/students/").status_code == 302
    assert api.get("/v1/console/students").status_code == 401
    fresh = TenantAPIClient(host)
    fresh.force_login(StaffUser.objects.get(pk=user.pk))
    assert fresh.get("/students/").status_code == 200


def test_delete_deactivates_and_unlinks_and_a_later_create_links_the_account_again(scim):
    created = _ok(scim.send("POST", "/Users", ENTRA_CREATE), 201)
    user_id = created["id"]
    token_user = StaffUser.objects.get(pk=int(user_id))
    issue_token(token_user)

    assert scim.send("DELETE", f"/Users/{user_id}").status_code == 204

    user = StaffUser.objects.get(pk=int(user_id))  # kept, for the audit trail
    assert not user.is_active and user.scim_unlinked_at is not None and user.scim_external_id == ""
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    _error(scim.get(f"/Users/{user_id}"), 404)
    _error(scim.send("DELETE", f"/Users/{user_id}"), 404)
    assert _find(scim, 'userName eq "chidinma.okafor@contoso.edu"')["totalResults"] == 0
    actions = list(AuditEvent.objects.filter(target_id=user_id).order_by("id").values_list("action", flat=True))
    assert actions == ["staff.create", "staff.update", "staff.deactivate"]

    again = _ok(scim.send("POST", "/Users", {**ENTRA_CREATE, "externalId": "second"}), 201)
    assert again["id"] == user_id and again["active"] is True and again["externalId"] == "second"


def test_existing_staff_are_found_by_user_name_and_can_be_deactivated(scim, admin_user):
    found = _find(scim, f'userName eq "{admin_user.email.upper()}"')
    assert [u["id"] for u in found["Resources"]] == [str(admin_user.pk)]
    _ok(scim.send("PATCH", f"/Users/{admin_user.pk}", _entra_patch({"op": "replace", "path": "active", "value": False})))
    admin_user.refresh_from_db()
    assert not admin_user.is_active


# Creation rules ----------------------------------------------------------------------------


def test_a_duplicate_user_name_is_a_409_uniqueness_ignoring_case(scim, admin_user):
    _error(scim.send("POST", "/Users", {**OKTA_CREATE, "userName": admin_user.email.upper()}), 409, "uniqueness")
    user_id = _ok(scim.send("POST", "/Users", OKTA_CREATE), 201)["id"]
    _error(scim.send("POST", "/Users", OKTA_CREATE), 409, "uniqueness")
    body = _entra_patch({"op": "Replace", "path": "userName", "value": admin_user.email})
    _error(scim.send("PATCH", f"/Users/{user_id}", body), 409, "uniqueness")


def test_creation_is_audited_as_made_by_scim_with_the_token(scim, scim_token):
    user_id = _ok(scim.send("POST", "/Users", OKTA_CREATE), 201)["id"]
    event = AuditEvent.objects.get(action="staff.create", target_id=user_id)
    assert event.via == "scim" and event.actor_id is None
    assert event.detail == {"by": "scim", "scim_token": scim_token[0].pk, "provisioned_by": "scim", "roles": []}
    assert event.changes["email"] == [None, "zoe.bronte@uni.example"]


# Lists -------------------------------------------------------------------------------------


def test_lists_page_with_start_index_and_count(scim, django_assert_num_queries):
    ids = [_ok(scim.send("POST", "/Users", {**OKTA_CREATE, "userName": f"p{n}@uni.example"}), 201)["id"] for n in range(4)]
    page = _ok(scim.get("/Users?startIndex=2&count=2"))
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (4, 2, 2)
    assert [u["id"] for u in page["Resources"]] == ids[1:3]
    assert _ok(scim.get("/Users?count=0"))["Resources"] == []
    assert _ok(scim.get("/Users?startIndex=-3&count=1"))["startIndex"] == 1  # RFC 7644: below 1 is 1
    assert _ok(scim.get("/Users?startIndex=9"))["Resources"] == []
    assert _find(scim, 'userName sw "p" and not (userName eq "p0@uni.example")')["totalResults"] == 3
    assert _find(scim, 'active eq true or externalId pr')["totalResults"] == 4
    # The SCIM token, the count, the page (the host's tenant cached, the connection already on its
    # search_path); the token's last use is written once a minute at most (it was just written).
    scim.get("/Users")
    with django_assert_num_queries(3):
        scim.get("/Users")


def test_discovery_documents(scim):
    config = _ok(scim.get("/ServiceProviderConfig"))
    assert config["patch"] == {"supported": True} and config["filter"]["supported"] is True
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = _ok(scim.get("/ResourceTypes"))
    assert [t["id"] for t in types["Resources"]] == ["User"] and types["totalResults"] == 1
    assert _ok(scim.get("/ResourceTypes/User"))["schema"] == USER_SCHEMA
    schemas = _ok(scim.get("/Schemas"))
    assert [s["id"] for s in schemas["Resources"]] == [USER_SCHEMA]
    user_schema = _ok(scim.get(f"/Schemas/{USER_SCHEMA}"))
    assert {a["name"] for a in user_schema["attributes"]} == {"userName", "name", "displayName", "emails", "active"}
    _error(scim.get("/ResourceTypes/Group"), 404)
    _error(scim.get(f"/Schemas/{ENTERPRISE}"), 404)


def test_other_addresses_and_methods_answer_scim_errors(scim):
    _error(scim.get("/Groups"), 404)
    _error(scim.get("/"), 404)
    _error(scim.get("/Users/12/extra"), 404)
    _error(scim.get("/Users/not-a-number"), 404)
    _error(scim.get("/Users/bulk"), 404)
    _error(scim.get("/Users/99999999999999999999999"), 404)
    _error(scim.send("DELETE", "/Users"), 405)
    _error(scim.send("POST", "/ServiceProviderConfig", {}), 405)


# Authentication: this tenant's unrevoked tokens only --------------------------------------


def test_no_or_a_wrong_bearer_token_is_a_401(host, scim_token):
    anonymous = Scim(host)
    body = _error(anonymous.get("/Users"), 401)
    assert "Bearer" in anonymous.get("/Users")["WWW-Authenticate"]
    assert body["detail"]
    _error(anonymous.get("/Users", authorization="Basic Zm9vOmJhcg=="), 401)
    _error(anonymous.get("/Users", authorization="Bearer scim_not-a-token"), 401)
    _error(anonymous.get("/ServiceProviderConfig", authorization="Bearer"), 401)


def test_another_tenants_scim_token_is_refused_here(host, other_host, other_tenant, tenant):
    with schema_context(other_tenant.schema_name):
        _, theirs = services.scim_token_create(description="Other University")
    connection.set_tenant(tenant)
    _error(Scim(host, theirs).get("/Users"), 401)
    assert _ok(Scim(other_host, theirs).get("/Users"))["totalResults"] == 0  # on its own tenant it works


def test_a_revoked_token_is_refused_and_an_api_token_is_not_a_scim_token(host, scim, scim_token, admin_user):
    assert _ok(scim.get("/Users"))
    services.scim_token_revoke(token_id=scim_token[0].pk)
    _error(scim.get("/Users"), 401)
    _error(Scim(host, issue_token(admin_user)).get("/Users"), 401)


def test_a_session_is_not_scim_credentials(host, admin_user):
    browser = Scim(host)
    browser.client.force_login(admin_user)
    _error(browser.get("/Users"), 401)


def test_last_used_is_written_at_most_once_a_minute(scim, scim_token):
    token = scim_token[0]
    _ok(scim.get("/ServiceProviderConfig"))
    first = ScimToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    _ok(scim.get("/ServiceProviderConfig"))
    assert ScimToken.objects.get(pk=token.pk).last_used_at == first
    ScimToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(seconds=61))
    _ok(scim.get("/ServiceProviderConfig"))
    assert ScimToken.objects.get(pk=token.pk).last_used_at > first


# Malformed requests: SCIM 400s, never a 500 -------------------------------------------------

MALFORMED_CREATES = [
    ("not json", None, "invalidSyntax"),
    ("[1, 2]", None, "invalidSyntax"),
    ('"a string"', None, "invalidSyntax"),
    ("", None, "invalidSyntax"),
    ("[" * 5000 + "]" * 5000, None, "invalidSyntax"),
    ("{\"a\": " + "[" * 40 + "]" * 40 + "}", None, "invalidSyntax"),
    (None, {**OKTA_CREATE, "userName": None}, "invalidValue"),
    (None, {**OKTA_CREATE, "userName": "not an address"}, "invalidValue"),
    (None, {**OKTA_CREATE, "userName": 42}, "invalidValue"),
    (None, {**OKTA_CREATE, "userName": "nul\u0000@uni.example"}, "invalidValue"),
    (None, {**OKTA_CREATE, "name": "Zoë"}, "invalidValue"),
    (None, {**OKTA_CREATE, "name": {"givenName": ["Zoë"]}}, "invalidValue"),
    (None, {**OKTA_CREATE, "name": {"givenName": "Zo\u0000"}}, "invalidValue"),
    (None, {**OKTA_CREATE, "displayName": "x" * 201}, "invalidValue"),
    (None, {**OKTA_CREATE, "active": "maybe"}, "invalidValue"),
    (None, {**OKTA_CREATE, "active": 1}, "invalidValue"),
    (None, {**OKTA_CREATE, "emails": "zoe@uni.example"}, "invalidValue"),
    (None, {**OKTA_CREATE, "emails": [{"type": "work"}]}, "invalidValue"),
    (None, {**OKTA_CREATE, "externalId": {"id": 1}}, "invalidValue"),
]


@pytest.mark.parametrize("raw_body, body, scim_type", MALFORMED_CREATES)
def test_malformed_creates_are_scim_400s(scim, raw_body, body, scim_type):
    _error(scim.send("POST", "/Users", body, raw_body=raw_body), 400, scim_type)


def test_a_lone_surrogate_in_json_is_a_400_not_a_database_error(scim):
    raw = '{"userName": "zoe@uni.example", "displayName": "\\ud800"}'
    _error(scim.send("POST", "/Users", raw_body=raw), 400, "invalidValue")
    _error(scim.send("POST", "/Users", raw_body=b'{"userName": "\xff"}'), 400, "invalidSyntax")


MALFORMED_PATCHES = [
    ({"schemas": [PATCH_OP]}, "invalidSyntax"),
    ({"Operations": []}, "invalidSyntax"),
    ({"Operations": {"op": "replace"}}, "invalidSyntax"),
    ({"Operations": [{"op": "frobnicate", "path": "active", "value": False}]}, "invalidSyntax"),
    ({"Operations": ["replace"]}, "invalidSyntax"),
    ({"Operations": [{"path": "active", "value": False}]}, "invalidSyntax"),
    ({"Operations": [{"op": "replace", "path": "active", "value": "no"}]}, "invalidValue"),
    ({"Operations": [{"op": "replace", "path": "active", "value": None}]}, "invalidValue"),
    ({"Operations": [{"op": "replace", "value": False}]}, "invalidValue"),
    ({"Operations": [{"op": "replace", "value": [{"active": False}]}]}, "invalidValue"),
    ({"Operations": [{"op": "remove"}]}, "noTarget"),
    ({"Operations": [{"op": "remove", "path": "userName"}]}, "mutability"),
    ({"Operations": [{"op": "replace", "path": "name..givenName", "value": "x"}]}, "invalidPath"),
    ({"Operations": [{"op": "replace", "path": "emails[type eq]", "value": "x"}]}, "invalidFilter"),
    ({"Operations": [{"op": "replace", "path": 7, "value": "x"}]}, "invalidPath"),
    ({"Operations": [{"op": "replace", "path": "userName", "value": "nobody"}]}, "invalidValue"),
    ({"Operations": [{"op": "replace", "path": "name", "value": "Zoë"}]}, "invalidValue"),
    ({"Operations": [{"op": "add", "path": "emails", "value": [{"type": "work"}]}]}, "invalidValue"),
    ({"Operations": [{"op": "replace", "path": "displayName", "value": 12}]}, "invalidValue"),
    ({"Operations": [{"op": "replace", "path": "active", "value": False}] * 101}, "invalidSyntax"),
]


@pytest.mark.parametrize("body, scim_type", MALFORMED_PATCHES)
def test_malformed_patches_are_scim_400s_and_change_nothing(scim, body, scim_type):
    user_id = _ok(scim.send("POST", "/Users", OKTA_CREATE), 201)["id"]
    _error(scim.send("PATCH", f"/Users/{user_id}", body), 400, scim_type)
    assert StaffUser.objects.get(pk=int(user_id)).is_active


def test_malformed_puts_are_scim_400s(scim):
    user_id = _ok(scim.send("POST", "/Users", OKTA_CREATE), 201)["id"]
    _error(scim.send("PUT", f"/Users/{user_id}", {"name": {"givenName": "No userName"}}), 400, "invalidValue")
    _error(scim.send("PUT", f"/Users/{user_id}", raw_body="{"), 400, "invalidSyntax")


MALFORMED_QUERIES = [
    ("filter=userName", "invalidFilter"),
    ("filter=userName eq", "invalidFilter"),
    ("filter=userName eq \"unterminated", "invalidFilter"),
    ("filter=userName eq \"x\" and", "invalidFilter"),
    ("filter=userName xx \"x\"", "invalidFilter"),
    ("filter=(userName eq \"x\"", "invalidFilter"),
    ("filter=password eq \"x\"", "invalidFilter"),
    ("filter=userName eq 5", "invalidFilter"),
    ("filter=userName gt \"a\"", "invalidFilter"),
    ("filter=active eq \"perhaps\"", "invalidFilter"),
    ("filter=meta.created gt \"yesterday\"", "invalidFilter"),
    ("filter=emails[type eq \"work\"]", "invalidFilter"),
    ("filter=userName eq \"\\u0000\"", "invalidFilter"),
    ("filter=userName eq \"\\ud800\"", "invalidFilter"),
    ("filter=" + "(" * 40 + "userName eq \"x\"" + ")" * 40, "invalidFilter"),
    ("filter=" + "not(" * 300 + "userName eq \"x\"" + ")" * 300, "invalidFilter"),
    ("filter=userName eq \"x\" ~", "invalidFilter"),
    ("startIndex=abc", "invalidValue"),
    ("count=1.5", "invalidValue"),
]


@pytest.mark.parametrize("query, scim_type", MALFORMED_QUERIES)
def test_malformed_list_queries_are_scim_400s(scim, query, scim_type):
    _error(scim.get(f"/Users?{query}"), 400, scim_type)


def test_filters_that_are_valid_but_name_no_one_answer_an_empty_list(scim):
    for text in ('id eq "abc"', 'id eq "99999999999999999999"', 'meta.created gt "2999-01-01T00:00:00Z"',
                 'userName eq null', 'not (userName pr)', 'USERNAME EQ "nobody@uni.example"',
                 f'{USER_SCHEMA}:userName eq "nobody@uni.example"'):
        assert _find(scim, text)["totalResults"] == 0, text


# The SCIM tokens API (/v1/scim-tokens) ------------------------------------------------------


def test_admins_issue_list_and_revoke_scim_tokens(admin_client, host):
    created = admin_client.post("/v1/scim-tokens", {"description": "Okta"}, format="json")
    assert created.status_code == 201, created.content
    data = created.json()["data"]
    raw = data["token"]
    assert raw.startswith("scim_") and len(raw) > 40 and data["prefix"] == raw[:8] and data["active"] is True
    assert created["Location"] == f"/v1/scim-tokens/{data['id']}"
    stored = ScimToken.objects.get(pk=data["id"])
    assert stored.key_hash != raw and raw not in json.dumps(list(AuditEvent.objects.values("changes", "detail")))
    assert _ok(Scim(host, raw).get("/ServiceProviderConfig"))

    listed = admin_client.get("/v1/scim-tokens").json()
    assert listed["total"] == 1
    assert listed["data"][0].keys() == {"id", "description", "prefix", "active", "created_at", "last_used_at", "revoked_at"}
    assert listed["data"][0]["last_used_at"] is not None

    revoked = admin_client.delete(f"/v1/scim-tokens/{data['id']}")
    assert revoked.status_code == 200 and revoked.json()["data"]["active"] is False
    _error(Scim(host, raw).get("/ServiceProviderConfig"), 401)
    assert admin_client.delete(f"/v1/scim-tokens/{data['id']}").status_code == 200  # again: nothing changes
    actions = list(AuditEvent.objects.filter(target_type="scim_token").order_by("id").values_list("action", "via"))
    assert actions == [("scim_token.create", "token"), ("scim_token.revoke", "token")]


def test_scim_tokens_are_for_admins_only(viewer_client, operator_client, anon_client, scim_token):
    for client in (viewer_client, operator_client):
        assert client.get("/v1/scim-tokens").status_code == 403
        assert client.post("/v1/scim-tokens", {}, format="json").status_code == 403
        assert client.delete(f"/v1/scim-tokens/{scim_token[0].pk}").status_code == 403
    assert anon_client.get("/v1/scim-tokens").status_code == 401
    assert ScimToken.objects.get(pk=scim_token[0].pk).revoked_at is None


def test_scim_token_api_refuses_bad_input_and_unknown_ids(admin_client):
    assert admin_client.post("/v1/scim-tokens", {"description": "x" * 201}, format="json").status_code == 400
    assert admin_client.post("/v1/scim-tokens", {"secret": "mine"}, format="json").status_code == 400
    assert admin_client.delete("/v1/scim-tokens/-bad id").status_code == 400
    assert admin_client.delete("/v1/scim-tokens/0123456789abcdef01234567").status_code == 404


def test_another_tenants_scim_tokens_are_invisible(admin_client, other_tenant, tenant):
    with schema_context(other_tenant.schema_name):
        theirs, _ = services.scim_token_create(description="theirs")
    connection.set_tenant(tenant)
    assert admin_client.get("/v1/scim-tokens").json()["total"] == 0
    assert admin_client.delete(f"/v1/scim-tokens/{theirs.pk}").status_code == 404


def test_scim_token_list_query_count_is_flat(admin_client, django_assert_num_queries):
    for n in range(5):
        services.scim_token_create(description=f"token {n}")
    # The Bearer token with its user and roles, count, page.
    with django_assert_num_queries(3):
        admin_client.get("/v1/scim-tokens")


# The platform team's command ------------------------------------------------------------------


def test_the_scim_token_command_issues_lists_and_revokes(tenant, capsys):
    from django.core.management import call_command

    call_command("scim_token", "--tenant", tenant.slug, "--create", "--description", "Entra ID")
    raw = capsys.readouterr().out.strip()
    token = ScimToken.objects.get(description="Entra ID")
    assert raw.startswith("scim_") and token.prefix == raw[:8]
    call_command("scim_token", "--tenant", tenant.slug, "--list")
    assert token.pk in capsys.readouterr().out
    call_command("scim_token", "--tenant", tenant.slug, "--revoke", token.pk)
    assert ScimToken.objects.get(pk=token.pk).revoked_at is not None
    connection.set_tenant(tenant)
