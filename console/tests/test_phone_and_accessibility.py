"""Every console page in a real Chromium at a desktop width (1366 px) and a phone's (390 px):
no sideways scrolling of the page itself, no serious or critical axe-core violation, signed
out and signed in; the navigation menu on a phone, with and without JavaScript. Screenshots
of every page at both widths go to screenshots/ (git-ignored)."""

import datetime as dt

import pytest
from django.utils import timezone

from attempts.models import AttemptGrant
from console.exports.models import ExportJob
from console.tests.test_browser import PASSWORD, _world, confirm_bulk, open_bulk_tools, shot, sign_in
from console.webhooks import services as webhooks
from console.webhooks.models import WebhookDelivery, WebhookEndpoint
from students.models import GroupMembership
from testing.browser import SCREENSHOTS, axe_violations, needs_chromium, sideways_overflow
from testing.factories import StaffUserFactory, StudentClusterFactory, StudentGroupFactory

pytestmark = [pytest.mark.browser, needs_chromium]

# A file with a new student, an update of an existing one and two rejected rows.
IMPORT_FILE = (
    "first_name,last_name,email,programme_codes\n"
    "Kwame,Mensah,kwame.new@uni.example,MBA1234\n"
    "Chidinma,Okafọr-Eze,chidinma.0@uni.example,MBA1234 MSC2001\n"
    "Ngozi,Eze,not-an-email,\n"
    '=HYPERLINK("x"),Eze,ngozi@uni.example,NOPE\n'
)

WIDTHS = {
    "desktop": (1366, 860, "light"),
    "phone": (390, 844, "light"),
    "desktop-dark": (1366, 860, "dark"),
    "phone-dark": (390, 844, "dark"),
}


def _pages(world, group):
    return {
        "students": "/students/",
        "students-filtered": "/students/?search=zz-no-match",
        "student": f"/students/{world['star'].pk}/",
        "attempt": f"/attempts/{world['attempt'].pk}/",
        "attempt-missed": f"/attempts/{world['missed'].pk}/",
        "dashboard": "/dashboard/",
        "groups": "/groups/",
        "group": f"/groups/{group.pk}/",
        "case-studies": "/case-studies/",
        "case-studies-programme": "/case-studies/?programme=MSC2001",
        "case-study": f"/case-studies/{world['fuel'].pk}/",
        "participants": f"/case-studies/{world['fuel'].pk}/participants/",
        "student-new": "/students/new/",
        "student-edit": f"/students/{world['star'].pk}/edit/",
        "student-archive-confirm": f"/students/{world['star'].pk}/archive/",
        "cohorts": "/cohorts/",
        "students-archived": "/students/?status=archived",
        "students-import": "/students/import/",
        "audit": "/audit/",
        "audit-student": f"/audit/?target_type=student&target_id={world['star'].pk}",
        "exports": "/exports/",
        "export-done": f"/exports/{world['export_done'].pk}/",
        "export-failed": f"/exports/{world['export_failed'].pk}/",
        "webhooks": "/webhooks/",
        "webhook": f"/webhooks/{world['webhook'].pk}/",
        "webhook-disabled": f"/webhooks/{world['webhook_off'].pk}/",
        "webhook-delete-confirm": f"/webhooks/{world['webhook'].pk}/?delete",
        "not-found": "/students/no-such-student/",
        "bad-request": "/students/?search=%00",
    }


@pytest.fixture
def site(committed_tenant):
    world = _world()
    group = StudentGroupFactory(
        name="Second-year associates, evening cohort", cluster=StudentClusterFactory(name="MBA")
    )
    for student in world["students"][:8]:
        GroupMembership.objects.create(group=group, student=student)
    ops = StaffUserFactory(email="ops@uni.example", password=PASSWORD, roles=["admin", "operator"])
    # Background exports of the signed-in staff member: one finished, one failed (a running one
    # refreshes itself, which test_browser_exports follows instead).
    world["export_done"] = ExportJob.objects.create(
        tenant_schema="test",
        requested_by=ops,
        kind="gradebook",
        file_format="xlsx",
        state="done",
        rows_done=12,
        rows_total=12,
        file_name="exports/test/none.xlsx",
        download_name="gradebook_test_2026-06-04.xlsx",
        file_size=18_432,
        finished_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(hours=24),
    )
    world["export_failed"] = ExportJob.objects.create(
        tenant_schema="test",
        requested_by=ops,
        kind="list",
        file_format="csv",
        state="failed",
        error="The export failed; run it again, or narrow the filters.",
    )
    StaffUserFactory(email="viewer@uni.example", password=PASSWORD, roles=[])
    _webhooks(world)
    return {"world": world, "group": group}


def _webhooks(world):
    """A webhook endpoint with a delivery log (delivered, failed, refused) and another disabled
    for failing, so every page shows the admins' notice too."""
    world["webhook"] = webhooks.endpoint_create(
        url="https://hooks.example.com/integrations/student-information-system/events?tenant=uni",
        description="Student information system", event_types=["student.archived", "student.updated"],
    )
    for outcome, status, error in (("delivered", 204, ""), ("failed", 503, "Answered 503."),
                                   ("refused", None, "hooks.example.com resolves to 10.0.0.5, a private or reserved "
                                                     "address: not delivered.")):
        WebhookDelivery.objects.create(
            endpoint=world["webhook"], event_id="6a0000000000000000000001", event_type="student.updated",
            event_position=1, outcome=outcome, status_code=status, latency_ms=None if status is None else 48,
            error=error, response_excerpt="" if status != 503 else "Service Unavailable: the upstream is down",
        )
    world["webhook_off"] = webhooks.endpoint_create(url="https://bi.example.org/webhooks/console-events-collector")
    WebhookEndpoint.objects.filter(pk=world["webhook_off"].pk).update(
        enabled=False, disabled_by_failures=True, disabled_at=timezone.now(),
        disabled_reason="Disabled after failing for 24 hours; the last attempt: No answer within 10 s.",
    )


def _check(page, name, width):
    overflow = sideways_overflow(page)
    shot(page, f"a11y-{name}-{width}")
    violations = axe_violations(page)
    return [f"{name} at {width}: scrolls {overflow}px sideways"] * (overflow > 0) + [
        f"{name} at {width}: {v}" for v in violations
    ]


def context_at(browser, server, width):
    """A browser context at one of WIDTHS (its size and colour scheme) and a page in it."""
    w, h, scheme = WIDTHS[width]
    context = browser.new_context(
        base_url=server.url, viewport={"width": w, "height": h}, locale="en-GB", color_scheme=scheme
    )
    context.set_default_timeout(8000)
    return context, context.new_page()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_and_passes_axe(browser, server, site, width):
    context, page = context_at(browser, server, width)
    problems = []
    try:
        page.goto("/login/")
        problems += _check(page, "sign-in", width)
        page.get_by_label("Email").fill("ops@uni.example")
        page.get_by_label("Password").fill("wrong password")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        problems += _check(page, "sign-in-failed", width)
        sign_in(page, "ops@uni.example")
        for name, path in _pages(site["world"], site["group"]).items():
            page.goto(path)
            problems += _check(page, name, width)
        page.goto("/students/import/")
        page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(
            {"name": "students.csv", "mimeType": "text/csv", "buffer": IMPORT_FILE.encode("utf-8")}
        )
        page.get_by_role("button", name="Check the file").click()
        page.wait_for_selector("#import-report")
        problems += _check(page, "students-import-report", width)
        page.goto("/webhooks/")
        page.get_by_label("Address").fill("https://hooks.example.com/a-new-endpoint-with-a-long-address")
        with page.expect_navigation():
            page.get_by_role("button", name="Register endpoint").click()
        problems += _check(page, "webhook-created", width)
        page.goto(f"/students/{site['world']['star'].pk}/")
        page.locator("details.adjust summary").first.click()
        page.wait_for_selector("details.adjust[open]")
        problems += _check(page, "student-adjust-open", width)
    finally:
        context.close()
        server.app.wait_idle()
    assert problems == [], "\n".join(problems)


def _context(browser, server, width, **kwargs):
    context = browser.new_context(
        base_url=server.url, viewport={"width": width, "height": 844}, locale="en-GB", **kwargs
    )
    context.set_default_timeout(8000)
    return context


@pytest.mark.parametrize("javascript", [True, False])
def test_the_phone_menu_opens_and_closes_with_and_without_javascript(browser, server, site, javascript):
    context = _context(browser, server, 390, java_script_enabled=javascript)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        groups = page.get_by_role("link", name="Groups")
        toggle = page.locator("summary", has_text="Menu")
        assert toggle.is_visible() and not groups.is_visible()
        assert not page.get_by_role("button", name="Sign out").is_visible()
        toggle.click()
        assert groups.is_visible() and page.get_by_role("button", name="Sign out").is_visible()
        assert sideways_overflow(page) == 0
        shot(page, f"a11y-menu-open-phone{'' if javascript else '-no-js'}")
        toggle.click()
        assert not groups.is_visible()
        toggle.click()
        groups.click()
        page.wait_for_url("**/groups/")
        if javascript:  # Escape closes it and gives the focus back to the toggle
            toggle.click()
            page.keyboard.press("Escape")
            assert not groups.is_visible()
            assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    finally:
        context.close()
        server.app.wait_idle()


def test_the_desktop_bar_shows_the_navigation_without_a_menu(browser, server, site):
    context = _context(browser, server, 1366)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        assert not page.locator("summary", has_text="Menu").is_visible()
        for name in ("Students", "Groups", "Case studies", "Dashboard"):
            assert page.get_by_role("navigation", name="Main").get_by_role("link", name=name).is_visible()
        assert page.get_by_role("button", name="Sign out").is_visible()
    finally:
        context.close()
        server.app.wait_idle()


def test_a_keyboard_reaches_the_menu_and_every_link_in_it_on_a_phone(browser, server, site):
    context = _context(browser, server, 390)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        page.goto("/groups/")  # no message (after signing in, it has the focus) and one skip link
        page.keyboard.press("Tab")  # the skip link
        page.keyboard.press("Tab")  # the brand
        page.keyboard.press("Tab")  # the menu
        assert page.evaluate("document.activeElement.textContent.trim()") == "Menu"
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Students"
        for _ in range(3):
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Dashboard"
        page.keyboard.press("Enter")
        page.wait_for_url("**/dashboard/")
    finally:
        context.close()
        server.app.wait_idle()


def test_the_student_and_attempt_pages_print_without_the_console_around_them(browser, server, site):
    context = _context(browser, server, 1366)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        world = site["world"]
        page.goto(f"/students/{world['star'].pk}/")
        page.emulate_media(media="print")
        assert not page.locator("header.topbar").is_visible()
        assert not page.locator("details.adjust").first.is_visible()
        assert page.locator("h1").is_visible() and page.locator("table").first.is_visible()
        page.pdf(path=str(SCREENSHOTS / "print-student.pdf"))
        page.goto(f"/attempts/{world['attempt'].pk}/")
        assert not page.locator("header.topbar").is_visible()
        assert page.get_by_text("Targeted cash transfers").is_visible()
        page.emulate_media(media="screen")
        assert page.locator("header.topbar").is_visible()
    finally:
        context.close()
        server.app.wait_idle()


def test_a_filter_select_applies_itself(browser, server, site):
    other = StudentGroupFactory(name="Audit trainees", cluster=StudentClusterFactory(name="Audit"))
    context = _context(browser, server, 1366)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        page.goto("/groups/")
        page.get_by_label("Cluster").select_option(label="Audit")
        page.wait_for_url(f"**/groups/?*cluster={other.cluster_id}*")
        assert page.get_by_role("link", name="Audit trainees", exact=True).is_visible()
        assert not page.get_by_role("link", name="Second-year associates, evening cohort", exact=True).is_visible()
    finally:
        context.close()
        server.app.wait_idle()


def test_a_grant_to_all_students_matching_the_filters_on_a_phone(browser, server, site):
    context = _context(browser, server, 390)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        page.goto("/students/?programme=MSC2001")
        open_bulk_tools(page)
        matching = page.get_by_label("all 4 students matching the filters")
        matching.check()
        assert page.locator("input[name=user_ids]").first.is_disabled()
        page.get_by_label("Case study").select_option(label=site["world"]["fuel"].title)
        page.get_by_label("Reason").fill("Outage on the MSc cohort's session day")
        with page.expect_navigation():
            page.get_by_role("button", name="Grant attempts").click()
        assert confirm_bulk(page).endswith("to 4 students")
        assert page.get_by_role("status").filter(has_text="to 4 students").is_visible()
        assert sideways_overflow(page) == 0
        shot(page, "a11y-bulk-all-matching-phone")
    finally:
        context.close()
        server.app.wait_idle()
    assert AttemptGrant.objects.filter(reason="Outage on the MSc cohort's session day").count() == 4


def _focus_text(page):
    return page.evaluate("(document.activeElement.innerText || document.activeElement.value || '').trim()")


def _tab_to(page, text, limit=80):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focus_text(page).startswith(text):
            return
    raise AssertionError(f"{text!r} is not reachable with Tab")


def _tab_until(page, selector, key="Tab", limit=120):
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"{selector!r} is not reachable with {key}")


def test_a_bulk_grant_to_ticked_students_with_the_keyboard_only(browser, server, site):
    context = _context(browser, server, 1366)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        page.goto("/students/?programme=MSC2001")
        for _ in range(2):  # the first two rows' boxes, ticked with the space bar
            _tab_until(page, "input[name=user_ids]:not(:checked)")
            page.keyboard.press("Space")
        assert page.locator("input[name=user_ids]:checked").count() == 2
        _tab_until(page, "details.bulk-tools > summary", key="Shift+Tab")  # back up to the bar
        page.keyboard.press("Enter")  # opens it
        _tab_until(page, "#bulk-case-study")
        page.keyboard.type("Fuel")  # a closed select takes the option its typed letters start
        assert page.locator("#bulk-case-study").input_value() == site["world"]["fuel"].pk
        _tab_until(page, "#bulk-attempts")
        page.keyboard.press("Control+a")
        page.keyboard.type("2")
        _tab_until(page, "#bulk-reason")
        page.keyboard.type("Outage, granted by keyboard")
        _tab_until(page, "button[data-bulk-action=grant]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        # The preview has the focus; the confirm button is the next stop.
        _tab_until(page, "button[data-confirm]")
        assert _focus_text(page) == "Grant 2 attempts on “" + site["world"]["fuel"].title + "” to 2 students"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("status").filter(has_text="to 2 students").is_visible()
    finally:
        context.close()
        server.app.wait_idle()
    assert AttemptGrant.objects.filter(reason="Outage, granted by keyboard", delta=2).count() == 2


def test_a_grant_with_the_keyboard_only(browser, server, site):
    context = _context(browser, server, 1366)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        page.goto(f"/students/{site['world']['star'].pk}/")
        _tab_to(page, "Grant or revoke attempts")
        page.keyboard.press("Enter")  # opens the <details>
        _tab_to(page, "1")  # the first form's Attempts field
        page.keyboard.press("Control+a")
        page.keyboard.type("2")
        page.keyboard.press("Tab")
        page.keyboard.type("Dropped connection, granted by keyboard")
        assert page.evaluate("document.activeElement.name") == "reason"
        with page.expect_navigation():
            page.keyboard.press("Enter")  # submits the form
        feedback = page.locator(".card-feedback[role=status]").filter(has_text="Granted 2 extra attempts")
        assert feedback.is_visible()
    finally:
        context.close()
        server.app.wait_idle()
    assert AttemptGrant.objects.filter(reason="Dropped connection, granted by keyboard", delta=2).count() == 1


# Every control a pointer can use, and that Tab may reach: links, buttons, fields, a <details>'
# summary, anything given a tab stop. A radio group is one tab stop, so it counts as one.
_MARK_CONTROLS = """() => {
    const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
    // Inside a closed <details> a control is not shown until its summary opens it.
    const shown = (el) => el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true});
    const controls = [...document.querySelectorAll(selector)]
        .filter((el) => !el.disabled && el.tabIndex >= 0 && shown(el) && !el.closest('[inert]'));
    const stops = new Map();
    for (const el of controls) {
        const key = el.type === 'radio' && el.name ? `radio:${el.form ? el.form.id : ''}:${el.name}` : `el:${stops.size}`;
        const label = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || el.tagName).trim().slice(0, 60);
        if (!stops.has(key)) stops.set(key, `${el.tagName.toLowerCase()} "${label}"`);
        el.dataset.tabStop = key;
    }
    return Object.fromEntries(stops);
}"""


def _tab_stops_reached(page, limit):
    # A date field takes one Tab per segment (day, month, year), so the same stop may come
    # several times in a row; the walk is over when it comes back round to the first stop.
    reached, first = set(), None
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate("document.activeElement && document.activeElement.dataset.tabStop")
        if stop and stop == first and len(reached) > 1:
            break
        if stop:
            first = first or stop
            reached.add(stop)
    return reached


def test_every_control_of_every_page_is_reached_with_tab(browser, server, site):
    context = _context(browser, server, 1366)
    page = context.new_page()
    missed = []
    try:
        sign_in(page, "ops@uni.example")
        for name, path in _pages(site["world"], site["group"]).items():
            page.goto(path)
            stops = page.evaluate(_MARK_CONTROLS)
            reached = _tab_stops_reached(page, limit=4 * len(stops) + 10)
            missed += [f"{name}: {stops[key]}" for key in stops.keys() - reached]
    finally:
        context.close()
        server.app.wait_idle()
    assert missed == [], "\n".join(missed)
