"""The public host: its page points at a university's address on the port it was reached on,
and the platform admin it names can be signed in to with an account `createsuperuser` makes
(README)."""
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import schema_context


def test_the_public_page_keeps_its_port_in_the_example_address():
    page = Client(HTTP_HOST="localhost").get("/", SERVER_PORT="8123").content.decode()
    assert "href='http://demo.localhost:8123/'" in page and ":8000" not in page
    assert "demo.localhost:" not in Client(HTTP_HOST="localhost").get("/", SERVER_PORT="80").content.decode()


def test_a_platform_admin_made_by_createsuperuser_signs_in_to_the_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "platform-password-1")
    with schema_context("public"):
        call_command("createsuperuser", "--noinput", "--email", "root@platform.example", verbosity=0)
    admin = Client(HTTP_HOST="localhost")
    signed_in = admin.post("/admin/login/?next=/admin/", {"username": "root@platform.example", "password": "platform-password-1"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    home = admin.get("/admin/")
    assert home.status_code == 200 and "Tenants" in home.content.decode()
