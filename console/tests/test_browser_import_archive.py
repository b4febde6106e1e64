"""Issue 33's import and archive tasks in a real Chromium, at 1366 and 390 px, light and dark:
an import end to end (a file checked, its report naming each row's student, applied, then the
link to exactly the students it created or updated), archiving a student through its
confirmation, and the students list's Programme select readable at 1366 px with a long
programme name. axe-core finds nothing serious or critical; nothing scrolls sideways.
Screenshots go to screenshots/."""
import pytest

from console.tests.test_browser import PASSWORD, shot, sign_in
from console.tests.test_phone_and_accessibility import WIDTHS, context_at
from students.imports.models import StudentImport
from students.models import Student
from testing.browser import axe_violations, needs_chromium, sideways_overflow
from testing.factories import ProgrammeFactory, StaffUserFactory, StudentFactory

pytestmark = [pytest.mark.browser, needs_chromium]

LONG_NAME = "Postgraduate Diploma in Public Health Leadership, Policy and Global Health Security (Executive)"
IMPORT_FILE = (
    "first_name,last_name,email,programme_codes\n"
    "Chidinma,Okafọr,chidinma@uni.example,PGDPH\n"  # new
    "Zoë,Brontë,zoe@uni.example,MBA\n"  # new
    "Ada,Obi-Eze,ada@uni.example,MBA\n"  # an update of Ada Obi
    "Kwame,Mensah,kwame@uni.example,MBA\n"  # unchanged
)
# The selected option's text against the room the select gives it (its box less its padding,
# the arrow's included), measured with the select's own font.
SELECT_ROOM = """(id) => {
  const select = document.getElementById(id);
  const style = getComputedStyle(select);
  const context = document.createElement("canvas").getContext("2d");
  context.font = style.font;
  const text = select.options[select.selectedIndex].text;
  return {
    text: text,
    needed: Math.ceil(context.measureText(text).width),
    room: select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
    scrollWidth: select.scrollWidth,
    clientWidth: select.clientWidth,
  };
}"""


@pytest.fixture
def university(committed_tenant):
    mba = ProgrammeFactory(code="MBA", name="Masters in Business Administration")
    ProgrammeFactory(code="PGDPH", name=LONG_NAME)
    StudentFactory(first_name="Ada", last_name="Obi", email="ada@uni.example", programmes=[mba])
    StudentFactory(first_name="Kwame", last_name="Mensah", email="kwame@uni.example", programmes=[mba])
    StudentFactory(first_name="Søren", last_name="Kierkegård", email="soren@uni.example", programmes=[mba])
    StaffUserFactory(email="ops@uni.example", full_name="Ola Ops", password=PASSWORD, roles=["admin"])


def _check(page, name):
    """Screenshot, sideways scrolling and axe-core of the page as it is now."""
    shot(page, name)
    overflow = sideways_overflow(page)
    return [f"{name}: scrolls {overflow}px sideways"] * (overflow > 0) + [f"{name}: {v}" for v in axe_violations(page)]


@pytest.mark.parametrize("width", WIDTHS)
def test_import_then_its_students_then_archive_with_confirmation(browser, server, university, width):
    w, _, scheme = WIDTHS[width]
    suffix = f"{w}" + ("-dark" if scheme == "dark" else "")
    context, page = context_at(browser, server, width)
    problems = []
    try:
        sign_in(page, "ops@uni.example")

        # The report names each row's student: the file's name and email for a new one, the
        # record's name for an update.
        page.goto("/students/import/")
        page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(
            {"name": "students.csv", "mimeType": "text/csv", "buffer": IMPORT_FILE.encode("utf-8")}
        )
        page.get_by_role("button", name="Check the file").click()
        page.wait_for_selector("#import-report")
        report = page.locator("#import-report tbody")
        students = report.locator('td[data-label="Student"]')
        assert students.count() == 4
        assert all(cell.strip() not in ("", "—") for cell in students.all_inner_texts())  # no "Student —"
        for name, email in (("Chidinma Okafọr", "chidinma@uni.example"), ("Zoë Brontë", "zoe@uni.example")):
            row = report.locator("tr", has_text=email)
            assert name in row.inner_text() and "New" in row.inner_text()
        updated = report.locator("tr", has_text="ada@uni.example")
        assert updated.get_by_role("link", name="Ada Obi").is_visible() and "Update" in updated.inner_text()
        problems += _check(page, f"import-report-{suffix}")

        page.get_by_role("button", name="Apply: import 4 rows").click()
        page.wait_for_url("**/students/import/?applied=*")
        run = StudentImport.objects.get()
        written = run.created + run.updated
        assert (run.created, run.updated, run.unchanged) == (2, 1, 1)
        link = page.get_by_role("link", name=f"Show the {written} students it created or updated")
        assert page.get_by_text("Imported 4 rows: 2 created, 1 updated, 1 unchanged.").is_visible()
        link.click()
        page.wait_for_url(f"**/students/?imported={run.pk}")
        note = page.locator("#import-filter")
        assert "Imported on" in note.inner_text() and "by Ola Ops" in note.inner_text()
        assert f"{written} students created or updated" in note.inner_text()
        listed = page.locator("#students-table tbody tr")
        assert listed.count() == written == 3
        assert {listed.nth(i).locator("a").first.inner_text() for i in range(written)} == {
            "Chidinma Okafọr", "Zoë Brontë", "Ada Obi-Eze"
        }
        problems += _check(page, f"import-applied-list-{suffix}")
        page.locator("#import-filter").get_by_role("link", name="Clear").click()
        page.wait_for_url("**/students/?")
        assert page.locator("#students-table tbody tr").count() == Student.objects.count() == 5

        # Archive: a link to a confirmation that names the student; only its POST archives.
        zoe = Student.objects.get(email="zoe@uni.example")
        page.goto(f"/students/{zoe.pk}/")
        page.get_by_role("link", name="Archive…").click()
        page.wait_for_url(f"**/students/{zoe.pk}/archive/")
        assert page.get_by_text("Archive Zoë Brontë (zoe@uni.example)?").is_visible()
        zoe.refresh_from_db()
        assert not zoe.archived
        page.get_by_label("Graduated").check()
        page.get_by_label("On", exact=True).fill("2026-06-30")
        problems += _check(page, f"archive-confirm-{suffix}")
        page.get_by_role("button", name="Archive Zoë Brontë").click()
        page.wait_for_url(f"**/students/{zoe.pk}/")
        assert page.get_by_text("Archived Zoë Brontë as graduated on 30 June 2026.").is_visible()
        profile = page.locator(".profile .badges").inner_text()
        assert "Archived · graduated 30 Jun 2026" in profile and "Active" not in profile
        zoe.refresh_from_db()
        assert zoe.archived and zoe.graduated_on.isoformat() == "2026-06-30"
        # Reloading the archive address after it: the student's page, not a 405.
        page.goto(f"/students/{zoe.pk}/archive/")
        page.wait_for_url(f"**/students/{zoe.pk}/")
        page.goto("/students/?status=archived")
        row = page.locator("#students-table tbody tr", has_text="Zoë Brontë")
        assert "Archived · graduated 30 Jun 2026" in row.inner_text() and "Active" not in row.inner_text()

        # The Programme select shows the whole selected name at a desktop width.
        if w == 1366:
            page.goto("/students/?programme=PGDPH")
            room = page.evaluate(SELECT_ROOM, "f-programme")
            assert room["text"] == f"{LONG_NAME} (PGDPH)"
            assert room["needed"] <= room["room"], room
            assert room["scrollWidth"] <= room["clientWidth"], room
            page.locator("#f-programme").scroll_into_view_if_needed()
            problems += _check(page, f"programme-select-{suffix}")
    finally:
        context.close()
        server.app.wait_idle()
    assert problems == [], "\n".join(problems)
