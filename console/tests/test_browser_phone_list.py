"""The students list on a phone and from the keyboard, in a real Chromium: at 390×844 the first
student is on the first screen (the export files, the filters and the bulk tools wait behind
disclosures that say what is set or ticked); at 1366 the filters show in the bar; the Tabs from
the page's start to the first result are counted; after a submit the focus, and the view, go to
its outcome on every page that posts. Screenshots go to screenshots/."""

import pytest

from attempts.models import AttemptGrant
from console.tests import test_phone_and_accessibility as phone_tests
from console.tests.test_browser import PASSWORD, confirm_bulk, shot, sign_in
from students.models import Cohort
from testing.browser import SCREENSHOTS, axe_violations, needs_chromium, sideways_overflow
from testing.factories import StaffUserFactory

pytestmark = [pytest.mark.browser, needs_chromium]

_context = phone_tests._context
phone_site = phone_tests.site  # the same people, students and pages (an admin, a webhook notice…)

ADMIN = "ops@uni.example"  # site's admin and operator: every tool of the list
OPERATOR = "op@uni.example"
FILTERED = "/students/?programme=MBA1234&status=active"
IMPORT_ONE_ROW = "first_name,last_name,email,programme_codes\nKwame,Mensah,kwame.new@uni.example,MBA1234\n"

# From the page's start at 1366, an operator's Tabs to the first result: the skip links (2), the
# top bar (brand, 6 sections, name, Sign out: 9), Export (1), the filters (search, 5 selects, two
# dates of 4 stops each, rows, Apply: 16), the closed bulk tools (1), the table's "select all"
# (1), 5 sortable headings, the first row's box (1), and the first student's link (1).
TABS_TO_FIRST_RESULT = 37
# With the skip link instead: Tab, Tab ("Skip to the results"), Enter, the first row's box, its link.
TABS_TO_FIRST_RESULT_BY_SKIP_LINK = 4


@pytest.fixture
def operator(phone_site):
    return StaffUserFactory(email=OPERATOR, password=PASSWORD, roles=["operator"])


def _viewport_shot(page, name):
    """What the screen shows without scrolling (shot() takes the whole page)."""
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _in_view(page, locator):
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 60) <= height


def _focused(page, selector):
    return page.evaluate("(selector) => document.activeElement.matches(selector)", selector)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("email", [ADMIN, OPERATOR])
def test_the_first_student_is_on_a_phones_first_screen(browser, server, operator, email, scheme):
    context = _context(browser, server, 390, color_scheme=scheme)
    page = context.new_page()
    try:
        sign_in(page, email)
        page.goto(FILTERED)
        first = page.locator("#students-table tbody tr").first
        assert page.evaluate("window.scrollY") == 0
        top = first.bounding_box()["y"]
        assert top > 0 and _in_view(page, first.locator("a.cell-title")), f"the first row starts at {top}px"
        filters = page.locator("details.filters-more > summary")
        assert filters.inner_text() == "Filters · 2 active"
        assert not page.get_by_label("Cohort").is_visible()
        bulk = page.locator("details.bulk-tools > summary")
        assert bulk.inner_text() == "Bulk actions · none selected"
        assert not page.locator("#bulk-reason").is_visible()
        assert not page.locator("a[data-export=csv]").is_visible()
        assert sideways_overflow(page) == 0 and axe_violations(page) == []
        suffix = ("" if email == ADMIN else "-operator") + ("-dark" if scheme == "dark" else "")
        _viewport_shot(page, f"students-phone-390{suffix}")

        page.locator("input[name=user_ids]").nth(0).check()
        page.locator("input[name=user_ids]").nth(2).check()
        assert bulk.inner_text() == "Bulk actions · 2 selected"
        filters.click()
        assert page.get_by_label("Cohort").is_visible() and page.get_by_label("Programme").input_value() == "MBA1234"
        bulk.click()
        assert page.locator("#bulk-reason").is_visible()
        page.get_by_label("all 10 students matching the filters").check()
        assert bulk.inner_text() == "Bulk actions · all 10 matching"
        page.locator("details.export-menu > summary").click()
        assert page.locator("a[data-export=csv]").is_visible()
        assert page.locator("[data-background=list-csv]").is_visible()
        assert sideways_overflow(page) == 0 and axe_violations(page) == []
        shot(page, f"students-phone-390-open{suffix}")
    finally:
        context.close()
        server.app.wait_idle()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_filters_show_in_the_bar_on_a_wide_screen(browser, server, phone_site, scheme):
    Cohort.objects.create(name="Class of 2027")
    context = _context(browser, server, 1366, color_scheme=scheme)
    page = context.new_page()
    try:
        sign_in(page, ADMIN)
        page.goto(FILTERED)
        assert not page.locator("details.filters-more > summary").is_visible()
        filters = page.get_by_role("search", name="Filter students")
        for label in ("Programme", "Status", "Cohort", "Group", "Advisor", "Rows"):
            assert filters.get_by_label(label, exact=True).is_visible(), label
        page.get_by_label("Cohort").select_option(label="Class of 2027")
        with page.expect_navigation():
            page.get_by_role("button", name="Apply").click()
        assert "cohort=" in page.url and "programme=MBA1234" in page.url
        assert page.locator("details.filters-more > summary").inner_text() == "Filters · 3 active"
        page.goto(FILTERED)
        assert _in_view(page, page.locator("#students-table tbody tr").first)
        assert sideways_overflow(page) == 0 and axe_violations(page) == []
        _viewport_shot(page, "students-1366" + ("-dark" if scheme == "dark" else ""))
        page.locator("details.export-menu > summary").click()
        assert page.locator("a[data-export=xlsx]").is_visible()
        assert sideways_overflow(page) == 0 and axe_violations(page) == []
        _viewport_shot(page, "students-1366-export" + ("-dark" if scheme == "dark" else ""))
        page.keyboard.press("Escape")
        assert not page.locator("a[data-export=xlsx]").is_visible()
    finally:
        context.close()
        server.app.wait_idle()


def test_the_disclosures_open_and_the_filters_apply_without_javascript(browser, server, phone_site):
    context = _context(browser, server, 390, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, ADMIN)
        page.goto(FILTERED)
        assert _in_view(page, page.locator("#students-table tbody tr").first)
        page.locator("details.filters-more > summary").click()
        page.get_by_label("Status").select_option("inactive")
        with page.expect_navigation():
            page.get_by_role("button", name="Apply").click()
        assert "status=inactive" in page.url
        page.locator("details.export-menu > summary").click()
        assert page.locator("a[data-export=csv]").is_visible()
        page.locator("details.bulk-tools > summary").click()
        assert page.locator("#bulk-reason").is_visible()
    finally:
        context.close()
        server.app.wait_idle()


def _tabs_to_first_result(page, limit=80):
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if _focused(page, "#students-table tbody tr:first-child a.cell-title"):
            return presses
    raise AssertionError("the first result is not reachable with Tab")


def test_tabs_from_the_page_start_to_the_first_result(browser, server, operator):
    context = _context(browser, server, 1366)
    page = context.new_page()
    try:
        sign_in(page, OPERATOR)
        page.goto("/students/")
        assert page.evaluate("document.activeElement === document.body")
        assert _tabs_to_first_result(page) == TABS_TO_FIRST_RESULT
        # Between the filters and the table the bulk tools are one stop, their summary.
        page.goto("/students/")
        page.get_by_role("button", name="Apply").focus()
        page.keyboard.press("Tab")  # no Reset on the unfiltered list
        assert _focused(page, "details.bulk-tools > summary")
        page.keyboard.press("Tab")
        assert _focused(page, "#students-table [data-select-all]")

        page.goto("/students/")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the results"
        page.keyboard.press("Enter")
        assert _tabs_to_first_result(page) == TABS_TO_FIRST_RESULT_BY_SKIP_LINK - 2
    finally:
        context.close()
        server.app.wait_idle()


@pytest.mark.parametrize("width", [390, 1366])
def test_after_a_bulk_action_the_focus_is_on_its_outcome_in_view(browser, server, phone_site, width):
    world = phone_site["world"]
    context = _context(browser, server, width)
    page = context.new_page()
    try:
        sign_in(page, ADMIN)
        page.goto("/students/?programme=MSC2001")
        # Refused: nobody ticked. The refusal is shown, in view, and has the focus.
        page.locator("details.bulk-tools > summary").click()
        page.get_by_label("Case study", exact=True).select_option(label=world["fuel"].title)
        page.locator("#bulk-reason").fill("Outage on the MSc session day")
        with page.expect_navigation():
            page.get_by_role("button", name="Grant attempts").click()
        refusal = page.locator(".bulk-refusals[role=alert]")
        assert "Tick at least one student" in refusal.inner_text()
        assert _focused(page, ".bulk-refusals") and _in_view(page, refusal)
        _viewport_shot(page, f"students-refusal-in-view-{width}")

        # Done: the message at the top of the content has the focus.
        page.locator("input[name=user_ids]").nth(0).check()
        page.locator("input[name=user_ids]").nth(1).check()
        assert page.locator("details.bulk-tools > summary").inner_text() == "Bulk actions · 2 selected"
        with page.expect_navigation():
            page.get_by_role("button", name="Grant attempts").click()
        assert confirm_bulk(page).endswith("to 2 students")  # after its preview
        message = page.get_by_role("status").filter(has_text="to 2 students")
        assert message.is_visible() and _focused(page, "#messages") and _in_view(page, message)
        assert axe_violations(page) == []
        _viewport_shot(page, f"students-message-in-view-{width}")
    finally:
        context.close()
        server.app.wait_idle()
    assert AttemptGrant.objects.filter(reason="Outage on the MSc session day").count() == 2


def test_after_a_submit_on_other_pages_the_focus_is_on_its_outcome_in_view(browser, server, phone_site):
    world = phone_site["world"]
    star = world["star"]
    context = _context(browser, server, 390)
    page = context.new_page()
    try:
        sign_in(page, ADMIN)
        # Cohorts: a refused name, then a cohort added.
        page.goto("/cohorts/")
        with page.expect_navigation():
            page.get_by_role("button", name="Add cohort").click()
        assert _focused(page, "#cohort-new") and _in_view(page, page.locator("#cohort-new"))
        page.locator("#cohort-new").fill("Class of 2031")
        with page.expect_navigation():
            page.get_by_role("button", name="Add cohort").click()
        assert _focused(page, "#messages") and "Class of 2031" in page.locator("#messages").inner_text()
        assert _in_view(page, page.locator("#messages"))
        shot(page, "a11y-cohort-added-message-phone")

        # A student's record: a refused edit, then a saved one.
        page.goto(f"/students/{star.pk}/edit/")
        page.get_by_label("Email").fill("not an email")
        with page.expect_navigation():
            page.get_by_role("button", name="Save changes").click()
        assert _focused(page, "[aria-invalid=true]") and page.evaluate("document.activeElement.name") == "email"
        page.get_by_label("Email").fill("chidinma.new@uni.example")
        with page.expect_navigation():
            page.get_by_role("button", name="Save changes").click()
        assert _focused(page, "#messages") and _in_view(page, page.locator("#messages"))

        # A grant on a student's page: the card's feedback.
        card = page.locator(f"#cs-{world['fuel'].pk}")
        card.locator("summary").click()
        card.locator(f"#grant-{world['fuel'].pk}-reason").fill("Dropped connection")
        with page.expect_navigation():
            card.get_by_role("button", name="Grant").click()
        feedback = card.locator(".card-feedback")
        assert _focused(page, ".card-feedback") and _in_view(page, feedback)
        assert "Granted 1 extra attempt" in feedback.inner_text()
        shot(page, "a11y-grant-feedback-in-view-phone")
        # A refused revoke (more than was granted): the refused field, its error its description.
        attempts = f"#revoke-{world['fuel'].pk}-attempts"
        card.locator("summary").click()
        card.locator(attempts).fill("5")
        card.locator(f"#revoke-{world['fuel'].pk}-reason").fill("Granted in error")
        with page.expect_navigation():
            card.get_by_role("button", name="Revoke").click()
        assert _focused(page, f"{attempts}[aria-invalid=true]") and _in_view(page, card.locator(attempts))
        assert card.locator(f"{attempts}-err").inner_text().startswith("Attempts: Cannot revoke 5")

        # An import applied: the message on the page it comes back to.
        page.goto("/students/import/")
        page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(
            {"name": "students.csv", "mimeType": "text/csv", "buffer": IMPORT_ONE_ROW.encode("utf-8")}
        )
        page.get_by_role("button", name="Check the file").click()
        page.wait_for_selector("#import-report")
        with page.expect_navigation():
            page.get_by_role("button", name="Apply: import 1 row").click()
        page.get_by_text("Imported 1 row").wait_for()
        assert _focused(page, "#messages") and _in_view(page, page.locator("#messages"))
    finally:
        context.close()
        server.app.wait_idle()
