"""The background export in a real Chromium: a list over the download cap offers it, the
export's page shows its progress while it waits and runs, then a download link, at a desktop
width and a phone's. Screenshots go to screenshots/."""
import re

import pytest

from console.exports import services
from console.exports.models import ExportJob
from console.tests.test_browser import PASSWORD, _world, open_export_menu, shot, sign_in
from testing.browser import axe_violations, needs_chromium, sideways_overflow
from testing.factories import StaffUserFactory

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.mark.parametrize("width", [1366, 390])
def test_an_over_cap_list_is_exported_in_the_background_with_progress_and_a_download_link(page, settings, tmp_path, width):
    settings.EXPORT_MAX_ROWS = 5  # the world's 12 students are over it
    _world()
    StaffUserFactory(email="obi@uni.example", full_name="Obi Operator", password=PASSWORD, roles=["operator"])
    page.set_viewport_size({"width": width, "height": 860 if width > 600 else 844})
    sign_in(page, "obi@uni.example")
    page.goto("/students/?programme=MBA1234")
    open_export_menu(page)
    panel = page.locator(".background-export")
    assert panel.is_visible() and "12 students match" in panel.inner_text()
    assert page.locator("a[data-export=csv]").count() == 0  # the download would be refused
    shot(page, f"exports-01-over-cap-{width}")

    page.locator("[data-background=gradebook-xlsx]").click()
    page.wait_for_url(re.compile(r"/exports/[0-9a-f]{24}/$"))
    job = ExportJob.objects.get()
    assert (job.kind, job.file_format, job.params) == ("gradebook", "xlsx", {"programme": ["MBA1234"]})
    assert page.locator(".export-job[data-state=queued]").is_visible()
    assert page.get_by_text("Your export is queued").is_visible()
    assert sideways_overflow(page) == 0 and axe_violations(page) == []
    shot(page, f"exports-02-queued-{width}")

    # A worker takes it; the page, refreshing itself, shows the rows written so far …
    claimed = services.export_job_start(job.pk, worker="browser-test")
    ExportJob.objects.filter(pk=job.pk).update(rows_total=12, rows_done=5)
    page.wait_for_selector(".export-job[data-state=running]", timeout=6000)
    assert "5 of 12 rows (42%)" in page.locator(".export-job").inner_text()
    shot(page, f"exports-03-running-{width}")

    # … and, once done, the link to the file.
    services.export_job_run(claimed, worker="browser-test")
    page.wait_for_selector(".export-job[data-state=done]", timeout=6000)
    assert sideways_overflow(page) == 0 and axe_violations(page) == []
    shot(page, f"exports-04-done-{width}")
    with page.expect_download() as info:
        page.locator("a[data-download]").click()
    download = info.value
    assert re.fullmatch(r"gradebook_test_\d{4}-\d\d-\d\d\.xlsx", download.suggested_filename)
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes()[:2] == b"PK"

    page.goto("/exports/")
    assert page.get_by_role("link", name="Gradebook (XLSX)").is_visible()
    assert sideways_overflow(page) == 0
    shot(page, f"exports-05-list-{width}")
