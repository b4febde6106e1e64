"""Two-factor sign-in in a real Chromium: a staff member sets up an authenticator app from the
console (the code computed from the key the page shows, as an app would), saves the recovery
codes, signs out, signs in with password and code, then with a recovery code, which works
once. Each new page is checked with axe-core and for sideways scrolling at 1366 and 390 px,
light and dark; screenshots go to screenshots/."""
import time
from base64 import b32decode

import pytest

from console.tests.test_browser import PASSWORD, shot
from testing.browser import axe_violations, needs_chromium, sideways_overflow
from testing.factories import StaffUserFactory
from testing.otp import code_for_key

pytestmark = [pytest.mark.browser, needs_chromium]

VIEWS = (("1366", 1366, 860, "light"), ("390", 390, 844, "light"), ("1366-dark", 1366, 860, "dark"), ("390-dark", 390, 844, "dark"))


def _fits_and_passes(page, name):
    """Shots and checks at both widths, light and dark; the page is left at 1366 px, light."""
    problems = []
    for label, width, height, scheme in VIEWS:
        page.set_viewport_size({"width": width, "height": height})
        page.emulate_media(color_scheme=scheme)
        overflow = sideways_overflow(page)
        shot(page, f"two-factor-{name}-{label}")
        problems += [f"{name} at {label}: scrolls {overflow}px sideways"] * (overflow > 0)
        problems += [f"{name} at {label}: {v}" for v in axe_violations(page)]
    page.set_viewport_size({"width": 1366, "height": 860})
    page.emulate_media(color_scheme="light")
    return problems


class App:
    """An authenticator app holding the key the set-up page showed."""

    def __init__(self, secret):
        self.key = b32decode(secret + "=" * (-len(secret) % 8))
        self.last = -1

    def code(self):
        # Each step's code is accepted once, and one step ahead of the clock: never reuse one.
        self.last = max(int(time.time() // 30), self.last + 1)
        return code_for_key(self.key, self.last)


def _password(page, email):
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def _sign_out(page):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")


def test_set_up_then_sign_in_with_a_code_and_with_a_recovery_code_once(page):
    user = StaffUserFactory(email="zoe@uni.example", full_name="Zoë Brontë", password=PASSWORD, roles=["operator"])
    problems = []

    # Signed in with a password alone, the staff member opens the page from the user area.
    _password(page, user.email)
    page.wait_for_url("**/students/")
    page.get_by_role("link", name="Zoë Brontë").click()  # the user's name in the top bar
    page.wait_for_url("**/account/two-factor/")
    assert "Off" in page.locator("#state-title").inner_text()
    problems += _fits_and_passes(page, "account-off")

    page.get_by_role("link", name="Set up an authenticator app").click()
    page.wait_for_url("**/account/two-factor/setup/")
    qr = page.get_by_role("img", name="QR code that adds Test University (zoe@uni.example) to an authenticator app")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    problems += _fits_and_passes(page, "setup")
    app = App(page.locator("[data-secret]").get_attribute("data-secret"))
    page.get_by_label("6-digit code").fill(app.code())
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.locator("[data-recovery-code]").all_inner_texts()
    assert len(codes) == 10 and all(len(code) == 9 for code in codes)
    assert "Two-factor sign-in is on" in page.locator(".flashes").inner_text()
    problems += _fits_and_passes(page, "recovery-codes")
    page.get_by_role("link", name="I have saved them: continue").click()
    page.wait_for_url("**/account/two-factor/")
    assert "10 unused" in page.content()
    problems += _fits_and_passes(page, "account-on")
    _sign_out(page)

    # Password, then the app's code.
    _password(page, user.email)
    page.wait_for_url("**/login/two-factor/")
    assert page.get_by_text("Enter the 6-digit code from your authenticator app").is_visible()
    problems += _fits_and_passes(page, "second-step")
    page.get_by_label("Code").fill(app.code())
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/students/")
    assert "Signed in as Zoë Brontë" in page.locator(".flashes").inner_text()
    _sign_out(page)

    # Password, then a recovery code: it works once.
    _password(page, user.email)
    page.get_by_label("Code").fill(codes[0].upper())
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/students/")
    assert "9 left" in page.locator(".flashes").inner_text()
    shot(page, "two-factor-signed-in-with-recovery-code-1366")
    _sign_out(page)

    _password(page, user.email)
    page.get_by_label("Code").fill(codes[0])
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    assert page.url.endswith("/login/two-factor/")
    code_field = page.get_by_label("Code")
    assert code_field.get_attribute("aria-invalid") == "true"
    assert "That code is not right, or it has been used already" in page.locator("#id_code-err").inner_text()
    problems += _fits_and_passes(page, "second-step-wrong")
    code_field.fill(app.code())
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/students/")

    assert problems == []


def test_where_the_tenant_requires_it_the_sign_in_sets_it_up_first(page):
    from accounts.identity.policy import policy_update

    policy_update(require_two_factor=True)
    user = StaffUserFactory(email="chidinma@uni.example", full_name="Chidinma Okafọr", password=PASSWORD, roles=["viewer"])
    problems = []

    page.goto("/login/?next=/dashboard/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/two-factor/setup/")
    assert page.get_by_role("heading", name="Set up two-factor sign-in").is_visible()
    problems += _fits_and_passes(page, "sign-in-setup")
    app = App(page.locator("[data-secret]").get_attribute("data-secret"))
    page.get_by_label("6-digit code").fill("000000" if app.code() != "000000" else "111111")
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert "That code does not match the key" in page.locator("#id_code-err").inner_text()
    problems += _fits_and_passes(page, "sign-in-setup-wrong")
    time.sleep(1.1)  # django-otp's back-off after one wrong code
    page.get_by_label("6-digit code").fill(app.code())
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert len(page.locator("[data-recovery-code]").all_inner_texts()) == 10
    page.get_by_role("link", name="I have saved them: continue").click()
    page.wait_for_url("**/dashboard/")

    page.goto("/account/two-factor/")
    assert page.get_by_text("Your university requires two-factor sign-in for password accounts").is_visible()
    assert page.get_by_role("button", name="Turn off").count() == 0
    problems += _fits_and_passes(page, "account-required")
    assert problems == []
