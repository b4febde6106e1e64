from django.test import Client

from config.errors import MSG_METHOD_NOT_ALLOWED, MSG_NO_TENANT, MSG_NOT_FOUND
from testing.clients import TenantAPIClient


def test_unknown_host_gets_json_404_on_api_paths():
    response = TenantAPIClient("nowhere.localhost").get("/v1/console/students")
    assert response.status_code == 404
    assert response.json() == {
        "success": False, "data": None, "message": MSG_NO_TENANT, "code": "NOT_FOUND", "errors": None,
    }


def test_unknown_host_gets_plain_404_page_elsewhere():
    response = Client(HTTP_HOST="nowhere.localhost").get("/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Not found" in response.content


def test_unknown_api_route_is_404_in_envelope(admin_client):
    response = admin_client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert response.json()["message"] == MSG_NOT_FOUND


def test_wrong_method_is_405_in_envelope(admin_client):
    response = admin_client.get("/v1/auth/token")
    assert response.status_code == 405
    body = response.json()
    assert body["code"] == "METHOD_NOT_ALLOWED" and body["message"] == MSG_METHOD_NOT_ALLOWED


def test_unauthenticated_is_401_in_envelope(anon_client):
    response = anon_client.post("/v1/auth/logout")
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert response["WWW-Authenticate"] == "Bearer"


def test_public_host_serves_the_platform_page():
    response = Client(HTTP_HOST="localhost").get("/")
    assert response.status_code == 200


def test_api_paths_answer_with_and_without_trailing_slash(anon_client):
    for path in ("/v1/auth/token", "/v1/auth/token/"):
        response = anon_client.post(path, {}, format="json")
        assert response.status_code == 400, path


def test_openapi_schema_is_served(admin_client):
    response = admin_client.get("/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/v1/auth/token/" in paths and "/v1/auth/logout/" in paths


def test_tenant_data_is_invisible_from_the_other_host(tenant, other_tenant):
    from django.db import connection
    from django_tenants.utils import schema_context

    from students.models import Student
    from testing.factories import StudentFactory

    StudentFactory(email="only-here@uni.example")
    with schema_context(other_tenant.schema_name):
        assert not Student.objects.filter(email="only-here@uni.example").exists()
    connection.set_tenant(tenant)
    assert Student.objects.filter(email="only-here@uni.example").exists()
