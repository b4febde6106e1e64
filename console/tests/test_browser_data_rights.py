"""Students' data rights in a real Chromium: the download of a student's data, the legal hold set
on the edit page, an erasure refused (not confirmed, then under the hold) and done; each state
checked with axe-core and for sideways scrolling at 1366 and 390 px. Screenshots go to
screenshots/."""
import json
import zipfile

import pytest

from console.tests.test_browser import PASSWORD, _world, sign_in
from console.tests.test_browser_records import _fits_and_passes
from students.models import Student
from students.records.services import MSG_LEGAL_HOLD
from testing.browser import needs_chromium
from testing.factories import StaffUserFactory

pytestmark = [pytest.mark.browser, needs_chromium]


def test_admin_downloads_a_students_data_then_erases_it_past_a_legal_hold(page):
    world = _world()
    student = world["star"]
    name = student.student_name
    admin = StaffUserFactory(email="ada@uni.example", full_name="Ada Admin", password=PASSWORD, roles=["admin"])
    problems = []
    sign_in(page, admin.email)
    page.goto(f"/students/{student.pk}/")
    problems += _fits_and_passes(page, "data-rights")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download data (ZIP)").click()
    archive = zipfile.ZipFile(download.value.path())
    assert download.value.suggested_filename.startswith(f"student_data_test_{student.pk}_")
    assert json.loads(archive.read("student.json"))["student"]["email"] == student.email

    # Not confirmed: refused beside the box, nothing erased.
    page.locator("#erase-reason").fill("The student's request by email of 1 December")
    page.get_by_role("button", name="Erase personal data").click()
    page.wait_for_load_state()
    assert page.locator("#erase-confirm").get_attribute("aria-invalid") == "true"
    assert page.locator("#erase-confirm-err").is_visible()
    problems += _fits_and_passes(page, "data-rights-unconfirmed")

    # Under a legal hold, set on the edit page: refused with the reason said.
    page.goto(f"/students/{student.pk}/edit/")
    page.get_by_label("Legal hold").check()
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/students/{student.pk}/")
    assert page.locator(".profile").get_by_text("Legal hold").is_visible()
    page.locator("#erase-reason").fill("The student's request by email of 1 December")
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Erase personal data").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").filter(has_text=MSG_LEGAL_HOLD).is_visible()
    assert Student.objects.get(pk=student.pk).student_name == name
    problems += _fits_and_passes(page, "data-rights-held")

    # Hold lifted: erased, and the page says so under the pseudonym.
    page.goto(f"/students/{student.pk}/edit/")
    page.get_by_label("Legal hold").uncheck()
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/students/{student.pk}/")
    page.locator("#erase-reason").fill("The student's request by email of 1 December")
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Erase personal data").click()
    page.wait_for_url(f"**/students/{student.pk}/")
    erased = Student.objects.get(pk=student.pk)
    assert erased.erased_at is not None and erased.first_name == "Erased student"
    assert page.get_by_text(f"the record is now “{erased.student_name}”").is_visible()
    assert page.get_by_role("heading", name=erased.student_name).is_visible()
    assert name not in page.content()
    problems += _fits_and_passes(page, "data-rights-erased")
    assert problems == []
