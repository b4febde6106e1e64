"""The Import page in a real Chromium: from the students list to the template, a check with a
rejected row, a clean check, and applying it with the progress shown; without JavaScript too."""
import pytest
from django.core.cache import cache

from accounts.models import AuditEvent, StaffUser
from console.imports import views
from console.tests.test_browser import PASSWORD, shot, sign_in
from students.models import Student
from testing.browser import axe_violations, needs_chromium, sideways_overflow
from testing.factories import ProgrammeFactory, StaffUserFactory, StudentFactory

pytestmark = [pytest.mark.browser, needs_chromium]

HEADER = "first_name,last_name,email,programme_codes,student_number\n"
GOOD = HEADER + "Chidinma,Okafọr,chidinma@uni.example,MBA,S-10\nZoë,Brontë,zoe@uni.example,,S-11\nAda,Obi-Eze,ada@uni.example,MBA,S-1\n"
BAD = HEADER + "Chidinma,Okafọr,chidinma@uni.example,MBA,S-10\nNgozi,Eze,not-an-email,NOPE,\n"


def _csv(text, name="students.csv"):
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode("utf-8")}


@pytest.fixture
def people(committed_tenant):
    ProgrammeFactory(code="MBA", name="Masters in Business Administration")
    StudentFactory(first_name="Ada", last_name="Obi", email="ada@uni.example", student_number="S-1")
    StaffUserFactory(email="ops@uni.example", full_name="Ola Ops", password=PASSWORD, roles=["admin"])


def test_an_editor_checks_a_file_then_applies_it(page, people, tmp_path):
    sign_in(page, "ops@uni.example")
    page.get_by_role("link", name="Import").click()
    page.wait_for_url("**/students/import/")
    assert page.get_by_role("heading", name="Import students").is_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Template CSV").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.read_text(encoding="utf-8-sig").startswith("user_id,first_name,last_name,email")

    # A file with a rejected row: the reasons, rejected rows first, nothing to apply.
    page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(_csv(BAD))
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_selector("#import-report")
    first = page.locator("#import-report tbody tr").first
    assert "Rejected" in first.inner_text()
    assert "Email: Enter a valid email address." in first.inner_text()
    assert page.get_by_role("button", name="Apply", exact=False).count() == 0
    shot(page, "import-rejected-1366")

    # A clean file: the counts, then Apply, with the progress shown while it runs.
    page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(_csv(GOOD))
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_selector("#import-report")
    kpis = page.locator(".kpis").inner_text()
    assert "2\nto create" in kpis and "1\nto update" in kpis
    assert Student.objects.count() == 1
    shot(page, "import-clean-report-1366")
    # The report that can be applied (Apply and Cancel shown), in both colour schemes.
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="light")
    # Hold the submission (a listener after the page's own cancels it) to see what shows
    # while a long import runs; then send the form as the browser would have.
    page.evaluate("window.addEventListener('submit', (event) => event.preventDefault())")
    page.get_by_role("button", name="Apply: import 3 rows").click()
    form = page.locator("form[aria-label='Apply the file']")
    status = form.locator("[role=status]")
    status.locator("progress").wait_for()
    assert "Importing 3 rows" in status.inner_text() and status.get_attribute("aria-live") == "polite"
    assert form.get_attribute("aria-busy") == "true"
    assert form.get_by_role("button", name="Apply: import 3 rows").is_disabled()
    # The bar follows the figure the server keeps for this apply (here: set by hand).
    token = form.locator("input[name=token]").get_attribute("value")
    admin = StaffUser.objects.get(email="ops@uni.example")
    cache.set(views._progress_key(admin, token), {"percent": 42, "step": "writing"}, 60)
    page.wait_for_function("() => document.querySelector(\"form[aria-label='Apply the file'] progress\").value === 42")
    assert "Writing the students…" in status.inner_text()
    shot(page, "import-applying-1366")
    with page.expect_navigation():
        page.evaluate("document.querySelector(\"form[aria-label='Apply the file']\").submit()")
    page.get_by_text("Imported 3 rows: 2 created, 1 updated, 0 unchanged.").wait_for()
    assert Student.objects.count() == 3
    assert Student.objects.get(email="ada@uni.example").last_name == "Obi-Eze"
    assert AuditEvent.objects.filter(action__in=["student.create", "student.update"]).count() == 3


def test_the_import_works_without_javascript_and_fits_a_phone(browser, server, people):
    context = browser.new_context(base_url=server.url, viewport={"width": 390, "height": 844}, locale="en-GB", java_script_enabled=False)
    context.set_default_timeout(8000)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        page.goto("/students/import/")
        assert sideways_overflow(page) == 0
        page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(_csv(BAD))
        page.get_by_role("button", name="Check the file").click()
        page.wait_for_selector("#import-report")
        assert sideways_overflow(page) == 0
        shot(page, "import-rejected-390")
        page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(_csv(GOOD))
        page.get_by_role("button", name="Check the file").click()
        page.wait_for_selector("#import-report")
        assert sideways_overflow(page) == 0
        shot(page, "import-clean-report-390")
        page.get_by_role("button", name="Apply: import 3 rows").click()
        page.get_by_text("Imported 3 rows: 2 created, 1 updated, 0 unchanged.").wait_for()
        assert Student.objects.count() == 3
    finally:
        context.close()
        server.app.wait_idle()
