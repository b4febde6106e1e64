"""Pages outside the console's own routes."""
from django.test import Client


def test_unknown_console_path_gets_the_consoles_404_page(host):
    response = Client(HTTP_HOST=host).get("/no/such/page/")
    assert response.status_code == 404
    assert b"Nothing here" in response.content and b"console.css" in response.content


def test_unknown_path_on_the_public_host_is_a_404_page_too():
    response = Client(HTTP_HOST="localhost").get("/no/such/page/")
    assert response.status_code == 404
    assert b"Nothing here" in response.content
