"""The API docs render in a real Chromium with every request to another host blocked: Swagger
UI comes from the app's own static files (drf-spectacular-sidecar)."""
import pytest

from testing.browser import SCREENSHOTS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def _block_other_hosts(page, server):
    blocked = []

    def route(route):
        url = route.request.url
        if url.startswith(server.url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", route)
    return blocked


def test_swagger_ui_renders_the_operations_with_the_outside_network_blocked(page, server):
    blocked = _block_other_hosts(page, server)
    page.goto("/v1/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 20
    assert page.get_by_text("/v1/console/students/export").first.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "api-docs-swagger.png"))
    assert blocked == []


def test_docs_pages_name_no_third_party_host(anon_client):
    for path in ("/v1/docs/", "/v1/docs"):
        html = anon_client.get(path).content.decode()
        assert "https://" not in html and "http://" not in html.replace("http://test.localhost", ""), html
