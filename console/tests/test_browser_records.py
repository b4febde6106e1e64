"""Record management and bulk actions in a real Chromium: a new student with a validation error
then success, an edit, archive and unarchive, a photo, bulk actions with a refusal report, the
Cohorts page; each state checked with axe-core and for sideways scrolling at 1366 and 390 px.
Screenshots go to screenshots/."""

import pytest
from PIL import Image

from attempts.models import AttemptGrant
from console.tests.test_browser import PASSWORD, _world, confirm_bulk, open_bulk_tools, shot, sign_in
from students.models import GroupMembership, Student
from testing.browser import axe_violations, needs_chromium, sideways_overflow
from testing.factories import AttemptGrantFactory, CohortFactory, StaffUserFactory, StudentGroupFactory

pytestmark = [pytest.mark.browser, needs_chromium]


def _fits_and_passes(page, name):
    """Shots and checks at desktop and phone widths; the page is left at desktop width."""
    problems = []
    for width, height in ((1366, 860), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        overflow = sideways_overflow(page)
        shot(page, f"records-{name}-{width}")
        problems += [f"{name} at {width}: scrolls {overflow}px sideways"] * (overflow > 0)
        problems += [f"{name} at {width}: {v}" for v in axe_violations(page)]
    page.set_viewport_size({"width": 1366, "height": 860})
    return problems


def _png(path):
    Image.new("RGB", (48, 48), (30, 120, 200)).save(path, format="PNG")
    return path


def test_admin_creates_edits_archives_and_unarchives_a_student(page, tmp_path):
    world = _world()
    CohortFactory(name="Class of 2027")
    admin = StaffUserFactory(email="ada@uni.example", full_name="Ada Admin", password=PASSWORD, roles=["admin"])
    problems = []
    sign_in(page, admin.email)

    page.get_by_role("link", name="New student").click()
    page.wait_for_url("**/students/new/")
    page.get_by_label("First name").fill("Chidinma")
    page.get_by_label("Last name").fill("Okafọr")
    page.get_by_label("Email").fill("not an email")
    page.get_by_label("Cohort").select_option(label="Class of 2027")
    page.get_by_label("Advisor").select_option(label="Ada Admin (ada@uni.example)")
    page.get_by_label("Masters in Business Administration (MBA1234)").check()
    page.get_by_role("button", name="Add student").click()
    page.wait_for_load_state()
    email = page.get_by_label("Email")
    assert email.get_attribute("aria-invalid") == "true"
    assert page.locator("#id_email-err").inner_text() == "Give an email address such as name@university.edu."
    assert page.get_by_label("First name").input_value() == "Chidinma"
    assert page.get_by_label("Masters in Business Administration (MBA1234)").is_checked()
    problems += _fits_and_passes(page, "new-error")

    email.fill("chidinma.okafor@uni.example")
    page.get_by_role("button", name="Add student").click()
    page.wait_for_url("**/students/*/")
    assert page.get_by_text("Added Chidinma Okafọr.").is_visible()
    student = Student.objects.get(email="chidinma.okafor@uni.example")
    assert student.cohort.name == "Class of 2027" and student.advisor_id == admin.pk
    problems += _fits_and_passes(page, "student-editable")

    page.get_by_role("link", name="Edit record").click()
    page.wait_for_url(f"**/students/{student.pk}/edit/")
    page.get_by_label("Student number").fill("S-0042")
    page.get_by_label("MSc Public Policy (MSC2001)").check()
    problems += _fits_and_passes(page, "edit")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/students/{student.pk}/")
    assert page.get_by_text("Saved the changes to Chidinma Okafọr’s record.").is_visible()
    assert page.locator(".profile-meta").get_by_text("S-0042").is_visible()

    page.locator("#avatar-file").set_input_files(str(_png(tmp_path / "photo.png")))
    page.get_by_role("button", name="Upload photo").click()
    page.wait_for_load_state()
    assert page.get_by_role("img", name="Photo of Chidinma Okafọr").is_visible()
    (tmp_path / "not.png").write_bytes(b"plain text")
    page.locator("#avatar-file").set_input_files(str(tmp_path / "not.png"))
    page.get_by_role("button", name="Upload photo").click()
    page.wait_for_load_state()
    assert page.locator("#avatar-err").inner_text().startswith("The file is not a PNG, JPEG or WebP image.")
    page.goto(f"/students/{student.pk}/")
    page.get_by_role("link", name="Remove photo…").click()  # a confirmation first
    page.wait_for_url("**/avatar/?action=remove")
    page.get_by_role("button", name="Remove the photo").click()
    page.wait_for_url(f"**/students/{student.pk}/")
    assert page.get_by_role("img", name="Photo of Chidinma Okafọr").count() == 0

    page.get_by_role("link", name="Archive…").click()
    page.wait_for_url(f"**/students/{student.pk}/archive/")
    page.get_by_label("On", exact=True).fill("")  # no date
    page.get_by_role("button", name="Archive Chidinma Okafọr").click()
    page.wait_for_load_state()
    assert page.locator("#archive-on-err").is_visible()
    problems += _fits_and_passes(page, "archive-error")
    page.get_by_label("Graduated").check()
    page.get_by_label("On", exact=True).fill("2026-06-30")
    page.get_by_role("button", name="Archive Chidinma Okafọr").click()
    page.wait_for_url(f"**/students/{student.pk}/")
    assert page.get_by_text("Archived Chidinma Okafọr as graduated on 30 June 2026.").is_visible()
    assert page.get_by_text("Graduated on 30 Jun 2026").is_visible()
    page.get_by_role("button", name="Unarchive").click()
    page.wait_for_load_state()
    assert page.get_by_text("Unarchived Chidinma Okafọr").is_visible()
    student.refresh_from_db()
    assert not student.archived and student.student_number == "S-0042" and not student.avatar
    assert world["students"]  # the list around them is unchanged
    assert problems == [], "\n".join(problems)


def test_bulk_actions_from_the_list_with_a_refusal_report(page):
    world = _world()
    group = StudentGroupFactory(name="Lagos evening group")
    admin = StaffUserFactory(email="ada@uni.example", full_name="Ada Admin", password=PASSWORD, roles=["admin"])
    students = world["students"]
    AttemptGrantFactory(student=students[0], case_study=world["fuel"], delta=1)
    problems = []
    sign_in(page, admin.email)
    page.goto("/students/?sort_by=name&sort_order=asc")

    # Revoke from a ticked student who has nothing to take back: nothing changes.
    open_bulk_tools(page)
    chooser = page.get_by_label("Action")
    chooser.select_option("revoke")
    assert page.get_by_role("button", name="Grant attempts").is_hidden()
    assert page.get_by_role("button", name="Archive students").is_hidden()
    page.locator(f"#sel-{students[1].pk}").check()
    page.get_by_label("Case study", exact=True).select_option(label=world["fuel"].title)
    page.locator("#bulk-reason").fill("Granted in error")
    page.get_by_role("button", name="Revoke attempts").click()
    page.wait_for_load_state()
    report = page.locator(".bulk-refusals")
    assert report.get_by_text("Nothing was revoked. Untick these students").is_visible()
    assert report.get_by_text(f"{students[1].student_name}: this student has 0 extra attempt(s)").is_visible()
    assert page.get_by_label("Action").input_value() == "revoke"
    # The choice is kept, under a programme of the ticked student's (it is under two).
    assert page.locator("#bulk-case-study").input_value() == world["fuel"].pk
    assert page.locator("#bulk-case-study option:checked").evaluate("o => o.parentNode.dataset.programme") == "MBA1234"
    assert AttemptGrant.objects.filter(delta__lt=0).count() == 0
    problems += _fits_and_passes(page, "bulk-refused")

    # Add two to a group (after a preview); then archive them.
    open_bulk_tools(page)
    page.locator(f"#sel-{students[0].pk}").check()
    page.get_by_label("Action").select_option("group_add")
    page.get_by_label("Group", exact=True).nth(1).select_option(label="Lagos evening group")
    page.get_by_role("button", name="Add to group").click()
    page.wait_for_load_state()
    problems += _fits_and_passes(page, "bulk-preview")
    assert confirm_bulk(page) == "Add 2 students to “Lagos evening group”"
    assert page.locator("#messages").get_by_text("Added 2 students to “Lagos evening group”.").is_visible()
    assert GroupMembership.objects.filter(group=group).count() == 2
    problems += _fits_and_passes(page, "bulk-done")

    page.goto(f"/students/?group={group.pk}")
    open_bulk_tools(page)
    page.get_by_label("Action").select_option("archive")
    page.get_by_label("all 2 students matching the filters").check()
    page.get_by_label("Archive as").select_option("withdrawn")
    page.get_by_label("On", exact=True).fill("2026-01-05")
    problems += _fits_and_passes(page, "bulk-archive")
    page.get_by_role("button", name="Archive students").click()
    page.wait_for_load_state()
    assert confirm_bulk(page) == "Archive 2 students as withdrawn on 5 January 2026"
    assert page.get_by_text("Archived 2 students as withdrawn on 5 January 2026.").is_visible()
    assert Student.objects.filter(archived=True).count() == 2

    page.goto("/students/?status=archived")
    problems += _fits_and_passes(page, "bulk-archived-list")
    open_bulk_tools(page)
    assert page.get_by_label("Action").input_value() == "unarchive"  # the Archived list's first action
    page.get_by_label("all 2 students matching the filters").check()
    page.get_by_role("button", name="Unarchive students").click()
    page.wait_for_load_state()
    assert confirm_bulk(page) == "Unarchive 2 students"
    assert page.get_by_text("Unarchived 2 students; they are enrolled again.").is_visible()
    assert GroupMembership.objects.filter(group=group).count() == 2  # memberships came back
    assert problems == [], "\n".join(problems)


def test_the_cohorts_page_adds_renames_deletes_and_says_which_cohorts_stay(page):
    world = _world()
    full = CohortFactory(name="Class of 2026")
    world["students"][0].cohort = full
    world["students"][0].save()
    StaffUserFactory(email="ada@uni.example", full_name="Ada Admin", password=PASSWORD, roles=["admin"])
    problems = []
    sign_in(page, "ada@uni.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cohorts").click()
    page.wait_for_url("**/cohorts/")
    page.get_by_label("New cohort").fill("Class of 2028")
    page.get_by_role("button", name="Add cohort").click()
    page.wait_for_load_state()
    assert page.get_by_text("Added the cohort “Class of 2028”.").is_visible()
    # A cohort a record names offers no Delete, and says so; an empty one does.
    assert page.get_by_role("link", name="Delete… Class of 2026").count() == 0
    assert page.get_by_text("Delete once no record names it").is_visible()
    problems += _fits_and_passes(page, "cohorts-in-use")
    page.get_by_label("New name for Class of 2028").fill("Class of 2029")
    page.get_by_role("button", name="Rename").nth(1).click()
    page.wait_for_load_state()
    assert page.get_by_text("Renamed the cohort to “Class of 2029”.").is_visible()
    page.get_by_role("link", name="Delete… Class of 2029").click()  # a confirmation first
    page.wait_for_url("**/cohorts/?delete=*")
    assert page.get_by_text("Delete the cohort “Class of 2029”?").is_visible()
    problems += _fits_and_passes(page, "cohort-delete-confirm")
    page.get_by_role("button", name="Delete “Class of 2029”").click()
    page.wait_for_url("**/cohorts/")
    assert page.get_by_role("link", name="Class of 2029").count() == 0
    assert problems == [], "\n".join(problems)


def test_record_and_bulk_forms_work_with_javascript_off(browser, server, committed_tenant):
    world = _world()
    StaffUserFactory(email="ada@uni.example", full_name="Ada Admin", password=PASSWORD, roles=["admin"])
    context = browser.new_context(base_url=server.url, java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(8000)
    page = context.new_page()
    try:
        sign_in(page, "ada@uni.example")
        open_bulk_tools(page)
        # Every action shows, each with its own button.
        for name in ("Grant attempts", "Revoke attempts", "Archive students", "Add to group", "Remove from group"):
            assert page.get_by_role("button", name=name).is_visible()
        page.locator("input[name=user_ids]").nth(0).check()
        page.get_by_label("Archive as").select_option("graduated")
        page.get_by_label("On", exact=True).fill("2026-06-30")
        page.get_by_role("button", name="Archive students").click()  # the grant fields stay empty
        page.wait_for_load_state()
        page.get_by_role("button", name="Archive 1 student as graduated on 30 June 2026").click()
        page.wait_for_load_state()
        assert page.get_by_text("Archived 1 student as graduated on 30 June 2026.").is_visible()
        shot(page, "records-bulk-no-js")
        page.get_by_role("link", name="New student").click()
        page.get_by_label("First name").fill("Søren")
        page.get_by_label("Last name").fill("Kierkegård")
        page.get_by_label("Email").fill("soren@uni.example")
        page.get_by_role("button", name="Add student").click()
        page.wait_for_load_state()
        assert page.get_by_text("Added Søren Kierkegård.").is_visible()
    finally:
        context.close()
        server.app.wait_idle()
    assert Student.objects.filter(archived=True).count() == 1 and world["students"]
