"""A suspended tenant's page in a real Chromium, at 1366 and 390 px, light and dark: it says the
console is suspended and its records kept, fits the width and passes axe-core; resumed, the
sign-in page is back. Screenshots go to screenshots/."""
import pytest
from django.core.management import call_command
from django.db import connection

from console.tests.test_browser import shot
from testing.browser import axe_violations, needs_chromium, sideways_overflow

pytestmark = [pytest.mark.browser, needs_chromium]

VIEWS = (("1366", 1366, 860, "light"), ("390", 390, 844, "light"), ("1366-dark", 1366, 860, "dark"), ("390-dark", 390, 844, "dark"))


def test_a_suspended_tenant_s_page_reads_right_at_every_width(page, committed_tenant):
    connection.set_schema_to_public()
    call_command("tenant_suspend", tenant=committed_tenant.slug, reason="Browser test")
    try:
        response = page.goto("/login/")
        assert response.status == 503
        assert page.locator("h1").inner_text() == "This university's console is suspended"
        problems = []
        for label, width, height, scheme in VIEWS:
            page.set_viewport_size({"width": width, "height": height})
            page.emulate_media(color_scheme=scheme)
            shot(page, f"suspended-{label}")
            overflow = sideways_overflow(page)
            problems += [f"{label}: scrolls {overflow}px sideways"] * (overflow > 0)
            problems += [f"{label}: {v}" for v in axe_violations(page)]
        assert problems == []
    finally:
        connection.set_schema_to_public()
        call_command("tenant_resume", tenant=committed_tenant.slug)
        connection.set_tenant(committed_tenant)
    assert page.goto("/login/").status == 200
