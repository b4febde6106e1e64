"""Security headers: a Content-Security-Policy on every page, no stored copies of personal data."""
import pytest

from testing.clients import TenantAPIClient


@pytest.fixture
def console(host, viewer_user):
    client = TenantAPIClient(host)
    client.force_login(viewer_user)
    return client


def _policy(response):
    return dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip())


@pytest.mark.parametrize("path", ["/login/", "/students/", "/dashboard/", "/v1/docs/", "/no-such-page/"])
def test_every_page_has_a_policy_without_inline_script(console, path):
    policy = _policy(console.get(path))
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
    assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in policy["script-src"]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"


def test_the_400_page_has_the_policy_too(console):
    response = console.get("/students/%00/")
    assert response.status_code == 400 and "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/students/", "/dashboard/", "/groups/", "/case-studies/"])
def test_signed_in_pages_are_never_stored(console, path):
    assert console.get(path)["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("path", ["/v1/console/students", "/v1/students", "/v1/console/students/export?format=csv", "/v1/nope"])
def test_api_answers_are_never_stored(viewer_client, path):
    assert viewer_client.get(path)["Cache-Control"] == "private, no-store"


def test_a_failed_sign_in_is_never_stored(anon_client):
    response = anon_client.post("/v1/auth/token", {"email": "x@uni.example", "password": "y"}, format="json")
    assert response["Cache-Control"] == "private, no-store"


def test_the_public_schema_and_health_checks_keep_their_own_caching(anon_client):
    assert anon_client.get("/v1/schema/").status_code == 200
    assert "private" not in anon_client.get("/v1/schema/").get("Cache-Control", "")
    assert anon_client.get("/healthz")["Cache-Control"] == "no-store"


def test_the_existing_good_headers_are_kept(console):
    response = console.get("/students/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
