import pytest

from accounts.models import ApiToken
from accounts.permissions import (
    ALL_PERMISSIONS,
    ATTEMPTS_MANAGE,
    BUILT_IN_ROLES,
    CATALOG_EDIT,
    SESSIONS_INGEST,
    STUDENT_PERFORMANCE_VIEW,
    USER_MANAGEMENT_EDIT,
    USER_MANAGEMENT_EXPORT,
    USER_MANAGEMENT_VIEW,
)
from accounts.signin.services import MSG_BAD_CREDENTIALS
from config.errors import MSG_UNAUTHENTICATED
from testing.clients import TenantAPIClient
from testing.factories import StaffUserFactory


def test_token_issued_for_valid_credentials_and_works_as_bearer(anon_client, host, viewer_user):
    response = anon_client.post(
        "/v1/auth/token", {"email": "VIEWER@uni.example", "password": "correct horse battery"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and body["message"] is None
    assert body["data"]["token_type"] == "Bearer"
    assert body["data"]["user"]["roles"] == ["viewer"]
    assert body["data"]["user"]["permissions"] == [USER_MANAGEMENT_VIEW]
    client = TenantAPIClient(host)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['data']['token']}")
    assert client.post("/v1/auth/logout").status_code == 200


def test_token_is_stored_hashed(anon_client, viewer_user):
    raw = anon_client.post(
        "/v1/auth/token", {"email": "viewer@uni.example", "password": "correct horse battery"}, format="json"
    ).json()["data"]["token"]
    token = ApiToken.objects.get(user=viewer_user)
    assert raw not in (token.key_hash, token.prefix) and len(token.key_hash) == 64


def test_wrong_password_is_401_in_envelope(anon_client, viewer_user):
    response = anon_client.post("/v1/auth/token", {"email": "viewer@uni.example", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json() == {
        "success": False, "data": None, "message": MSG_BAD_CREDENTIALS, "code": "UNAUTHENTICATED", "errors": None,
    }


def test_token_request_without_fields_is_400_naming_them(anon_client):
    response = anon_client.post("/v1/auth/token", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert set(body["errors"]) == {"email", "password"}


def test_malformed_json_body_is_400(anon_client):
    response = anon_client.post("/v1/auth/token", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_logout_revokes_the_token(api_as, viewer_user):
    client = api_as(viewer_user)
    assert client.post("/v1/auth/logout/").status_code == 200
    response = client.post("/v1/auth/logout")
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def test_token_from_one_tenant_is_rejected_on_another(api_as, viewer_user, other_host):
    client = api_as(viewer_user)
    client.defaults["HTTP_HOST"] = other_host
    response = client.post("/v1/auth/logout")
    assert response.status_code == 401
    assert response.json()["message"] == MSG_UNAUTHENTICATED


def test_credentials_of_one_tenant_do_not_log_in_on_another(other_tenant_user, anon_client):
    response = anon_client.post(
        "/v1/auth/token", {"email": "admin@other.example", "password": "correct horse battery"}, format="json"
    )
    assert response.status_code == 401


def test_garbage_bearer_is_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert anon_client.post("/v1/auth/logout").status_code == 401
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer a b")
    assert anon_client.post("/v1/auth/logout").status_code == 401


def test_inactive_user_token_is_rejected(api_as):
    user = StaffUserFactory(roles=["viewer"])
    client = api_as(user)
    user.is_active = False
    user.save()
    assert client.post("/v1/auth/logout").status_code == 401


@pytest.mark.parametrize(
    "role, expected",
    [
        ("viewer", {USER_MANAGEMENT_VIEW}),
        ("operator", {USER_MANAGEMENT_VIEW, USER_MANAGEMENT_EXPORT, ATTEMPTS_MANAGE, STUDENT_PERFORMANCE_VIEW}),
        ("admin", set(ALL_PERMISSIONS) - {SESSIONS_INGEST}),
        ("ingest", {SESSIONS_INGEST}),
    ],
)
def test_built_in_roles_hold_exactly_their_permissions(role, expected):
    user = StaffUserFactory(roles=[role])
    assert user.permission_strings == expected
    assert set(BUILT_IN_ROLES[role]) == expected


def test_admin_role_includes_edit_and_catalog():
    user = StaffUserFactory(roles=["admin"])
    assert {USER_MANAGEMENT_EDIT, CATALOG_EDIT} <= user.permission_strings


def test_token_endpoint_is_rate_limited_with_429_in_envelope(anon_client, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    cache.clear()
    codes = [
        anon_client.post("/v1/auth/token", {"email": "x@uni.example", "password": "nope"}, format="json").status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    response = anon_client.post("/v1/auth/token", {"email": "x@uni.example", "password": "nope"}, format="json")
    body = response.json()
    assert body["code"] == "RATE_LIMITED" and body["message"].startswith("Too many requests")
    cache.clear()
