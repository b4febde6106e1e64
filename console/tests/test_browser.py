"""The console in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Data is committed (`committed_tenant`) so the server thread sees it; the server is our own
WSGI thread on 127.0.0.1 serving the real middleware stack (tenant by host) with static files
from the finders, and the browser goes to http://test.localhost:<port>/. One browser for the
module. Screenshots of each page go to screenshots/ (git-ignored).
"""
import datetime as dt

import pytest
from django.db import connections
from django.utils import timezone

from attempts.models import AttemptGrant
from testing.browser import SCREENSHOTS, needs_chromium
from testing.factories import (
    AttemptGrantFactory,
    CaseStudyFactory,
    GradeCriterionFactory,
    GradeReportFactory,
    ProgrammeFactory,
    SessionFactory,
    StaffUserFactory,
    StudentFactory,
    TranscriptMessageFactory,
)

PASSWORD = "correct horse battery"

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.mark.django_db
def test_browser_tests_run_against_the_test_database():
    """pytest-django creates test databases only for aliases that some collected test marks
    with django_db; committed_tenant tests cannot carry that mark (it would wrap them in a
    transaction). This marked test makes running this module alone still use (and truncate)
    the test database, never the development one."""
    assert connections["default"].settings_dict["NAME"].startswith("test_")


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, email):
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/students/")


def open_bulk_tools(page):
    """The students list's bulk bar waits behind its "Bulk actions" disclosure."""
    tools = page.locator("details.bulk-tools")
    if tools.get_attribute("open") is None:
        tools.locator("summary").click()


def open_export_menu(page):
    page.locator("details.export-menu > summary").click()


def confirm_bulk(page):
    """On a bulk action's preview (nothing has changed yet), confirm it by its button, which
    names the action and the count; returns that name."""
    button = page.locator("[data-bulk-preview] button[data-confirm]")
    label = button.inner_text()
    with page.expect_navigation():
        button.click()
    return label


T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.timezone.utc)


def _world():
    """A small university: two programmes, a few case studies, students with attempts."""
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    msc = ProgrammeFactory(code="MSC2001", name="MSc Public Policy")
    fuel = CaseStudyFactory(
        title="Fuel Subsidy removal in Nigeria: Economic impact and social impact", programmes=[mba, msc]
    )
    market = CaseStudyFactory(title="Market entry in Lagos: a retail chain's first year", programmes=[mba])
    names = [
        ("Chidinma", "Okafọr"), ("Zoë", "Brontë"), ("Abdulwahab", "Umar"), ("Ngozi", "Adébáyọ̀"),
        ("Søren", "Kierkegård"), ("Amara", "Nwosu"), ("José", "García"), ("Łukasz", "Wałęsa"),
        ("Aïcha", "Diallo"), ("Tunde", "Bello"), ("Ifeoma", "Eze"), ("Kwame", "Mensah"),
    ]
    students = []
    now = timezone.now()
    for i, (first, last) in enumerate(names):
        student = StudentFactory(
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{i}@uni.example",
            programmes=[mba] if i % 3 else [mba, msc],
            status="inactive" if i % 5 == 4 else "active",
        )
        students.append(student)
        if i % 4 != 3:  # a few have never been seen
            SessionFactory(
                student=student,
                case_study=fuel if i % 2 else market,
                started_at=now - dt.timedelta(days=i * 6 + 1, hours=i),
                score=40 + i * 5,
                grading_status="complete",
            )
    star = students[0]
    first = SessionFactory(
        student=star, case_study=fuel, started_at=now - dt.timedelta(days=3), transcript_status="missing",
        grading_status="failed",
    )
    second = SessionFactory(
        student=star, case_study=fuel, started_at=now - dt.timedelta(days=2), score=75.0, grading_status="complete"
    )
    for position, (role, content) in enumerate(
        [
            ("system", "Session started. Case: fuel subsidy removal."),
            ("assistant", "Welcome. What do you see as the first-order effect of removing the subsidy?"),
            ("student", "Pump prices roughly triple overnight, so transport costs rise and food follows."),
            ("assistant", "Good. Who bears most of that cost, and how would you cushion it?"),
            ("student", "Low-income urban households. Targeted cash transfers through the social register."),
        ]
    ):
        TranscriptMessageFactory(
            session=second, position=position, role=role, content=content,
            timestamp=second.started_at + dt.timedelta(minutes=position),
        )
    report = GradeReportFactory(session=second, feedback="Clear structure; quantify the second-order effects.")
    GradeCriterionFactory(report=report, position=0, name="Problem framing", score=22, max_score=25,
                          feedback="Identified the main channels quickly.")
    GradeCriterionFactory(report=report, position=1, name="Use of evidence", score=15, max_score=25,
                          feedback="Cite the 2012 episode.")
    return {"students": students, "star": star, "fuel": fuel, "market": market, "attempt": second, "missed": first}


def test_operator_signs_in_filters_exports_grants_and_reads_a_transcript(page, tmp_path):
    world = _world()
    operator = StaffUserFactory(email="obi@uni.example", full_name="Obi Operator", roles=["operator"])

    page.goto("/")
    page.wait_for_url("**/login/**")
    shot(page, "01-login")
    sign_in(page, operator.email)
    assert page.get_by_text("Signed in as Obi Operator.").is_visible()
    assert page.locator(".brand-name").inner_text() == "Test University"
    assert page.locator(".whoami-name").inner_text() == "Obi Operator"
    assert page.locator(".list-total").inner_text().startswith("1–12 of 12")
    shot(page, "02-students")

    # Filter by programme and a search (applied with the button, so arrow keys in a select
    # never reload the page); then sort by name, and toggle.
    page.get_by_label("Programme").select_option("MSC2001")
    page.get_by_label("Search").fill("o")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**programme=MSC2001**")
    assert "search=o" in page.url
    page.get_by_role("link", name="Name").click()
    page.wait_for_url("**sort_by=name**")
    names = page.locator("#students-table tbody a.cell-title").all_inner_texts()
    assert names == sorted(names, key=str.lower) and names
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Name")
    page.get_by_role("link", name="Name").click()
    page.wait_for_url("**sort_order=desc**")
    assert page.locator("#students-table tbody a.cell-title").all_inner_texts() == list(reversed(names))
    shot(page, "03-students-filtered")

    # Exports carry the filters and download with the contract's file names.
    today = timezone.now().astimezone(page_tz()).date().isoformat()
    open_export_menu(page)
    for kind in ("csv", "xlsx"):
        link = page.locator(f"a[data-export={kind}]")
        assert "programme=MSC2001" in link.get_attribute("href")
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.suggested_filename == f"students_test_{today}.{kind}"
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        assert target.stat().st_size > 0

    page.goto("/students/?search=nobody-matches-this")
    assert page.get_by_role("heading", name="No students match these filters").is_visible()
    shot(page, "03b-students-empty")

    # Bulk grant to three students on the unfiltered list; first with nobody ticked.
    page.goto("/students/?sort_by=name&sort_order=asc")
    open_bulk_tools(page)
    page.get_by_label("Case study", exact=True).select_option(label=world["fuel"].title)
    page.locator("#bulk-reason").fill("Platform outage on 3 June")
    page.get_by_role("button", name="Grant attempts").click()
    assert page.locator("#bulk-users-err").get_by_text("Tick at least one student in the list.").is_visible()
    assert page.locator("#bulk-reason").input_value() == "Platform outage on 3 June"
    shot(page, "04a-students-bulk-error")
    boxes = page.locator("input[name=user_ids]")
    for i in range(3):
        boxes.nth(i).check()
    assert page.locator("[data-selected-count]").inner_text() == "3 selected"
    page.get_by_label("Case study", exact=True).select_option(label=world["fuel"].title)
    page.get_by_label("Attempts", exact=True).fill("2")
    page.locator("#bulk-reason").fill("Platform outage on 3 June")
    shot(page, "04-students-bulk")
    with page.expect_navigation():
        page.get_by_role("button", name="Grant attempts").click()
    assert AttemptGrant.objects.filter(reason="Platform outage on 3 June").count() == 0  # a preview
    assert confirm_bulk(page).endswith("to 3 students")
    assert page.get_by_text("Granted 2 extra attempts on “Fuel Subsidy").is_visible()
    assert AttemptGrant.objects.filter(reason="Platform outage on 3 June", delta=2).count() == 3

    # Open a student, grant and revoke with a reason.
    star = world["star"]
    page.goto("/students/")
    page.get_by_role("link", name=star.student_name).click()
    page.wait_for_url(f"**/students/{star.pk}/")
    card = page.locator(f"#cs-{world['fuel'].pk}")
    assert card.locator(".badge-usage").inner_text() == "1/2"
    card.locator("summary").click()
    card.locator(f"#grant-{world['fuel'].pk}-reason").fill("Connection dropped mid-session")
    card.get_by_role("button", name="Grant").click()
    page.wait_for_url(f"**/students/{star.pk}/**")
    assert page.get_by_text("Granted 1 extra attempt on").is_visible()
    assert card.locator(".badge-usage").inner_text() == "1/3"
    # A revoke without a reason is refused beside the field and changes nothing.
    card.locator("summary").click()
    card.get_by_role("button", name="Revoke").click()  # browser validation blocks an empty reason
    assert AttemptGrant.objects.filter(student=star, delta__lt=0).count() == 0
    # Revoking more than was granted is refused beside the field; the form stays open.
    card.locator(f"#revoke-{world['fuel'].pk}-attempts").fill("5")
    card.locator(f"#revoke-{world['fuel'].pk}-reason").fill("Granted in error")
    card.get_by_role("button", name="Revoke").click()
    page.wait_for_load_state()
    assert card.locator(f"#revoke-{world['fuel'].pk}-attempts-err").inner_text().startswith("Attempts: Cannot revoke 5")
    assert card.locator(f"#revoke-{world['fuel'].pk}-attempts").get_attribute("aria-invalid") == "true"
    shot(page, "05a-student-revoke-error")
    card.locator(f"#revoke-{world['fuel'].pk}-attempts").fill("1")
    card.get_by_role("button", name="Revoke").click()
    page.wait_for_url(f"**/students/{star.pk}/**")
    assert page.get_by_text("Revoked 1 extra attempt on").is_visible()
    assert card.locator(".badge-usage").inner_text() == "1/2"
    history = page.locator("section[aria-labelledby=history-title] tbody tr")
    assert history.first.inner_text().count("Granted in error") == 1
    shot(page, "05-student")

    # Open the graded attempt's transcript.
    page.get_by_role("link", name="Attempt 2").click()
    page.wait_for_url(f"**/attempts/{world['attempt'].pk}/")
    assert page.locator(".msg-student").count() == 2
    assert page.locator(".msg-system").count() == 1
    assert page.get_by_text("Problem framing").is_visible()
    shot(page, "06-attempt")
    page.goto(f"/attempts/{world['missed'].pk}/")
    assert page.locator(".state-title", has_text="Transcript missing").is_visible()
    assert page.locator(".state-title", has_text="Grading failed").is_visible()
    shot(page, "07-attempt-missing")

    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/dashboard/")
    assert page.locator("svg.chart").count() == 3
    shot(page, "08-dashboard")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    assert page.get_by_text("You have been signed out.").is_visible()


def test_viewer_sees_no_controls_and_a_permission_denied_page(page):
    world = _world()
    viewer = StaffUserFactory(email="vera@uni.example", full_name="Vera Viewer", roles=["viewer"])
    AttemptGrantFactory(student=world["star"], case_study=world["fuel"], actor=None, actor_email="ops@uni.example")
    sign_in(page, viewer.email)
    assert page.locator("a[data-export]").count() == 0
    assert page.locator("input[name=user_ids]").count() == 0
    page.get_by_role("link", name=world["star"].student_name).click()
    assert page.locator("details.adjust").count() == 0
    assert page.get_by_role("link", name="Attempt 2").count() == 0  # no STUDENT_PERFORMANCE.can_view
    page.goto(f"/attempts/{world['attempt'].pk}/")
    assert page.get_by_role("heading", name="You don’t have access to this").is_visible()
    shot(page, "09-viewer-denied")


def page_tz():
    from tenants.models import Tenant

    return Tenant.objects.get(slug="test").tzinfo


def test_keyboard_user_can_skip_to_content(page):
    StaffUserFactory(email="kay@uni.example", full_name="Kay Board", roles=["operator"])
    sign_in(page, "kay@uni.example")
    page.goto("/dashboard/")  # no message (after signing in, it has the focus) and one skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"



def test_listing_granting_and_revoking_work_with_javascript_off(browser, server, committed_tenant):
    assert connections["default"].settings_dict["NAME"].startswith("test_")
    world = _world()
    StaffUserFactory(email="nojs@uni.example", full_name="No Script", roles=["operator"])
    context = browser.new_context(
        base_url=server.url, viewport={"width": 1366, "height": 860}, java_script_enabled=False
    )
    context.set_default_timeout(8000)
    page = context.new_page()
    try:
        sign_in(page, "nojs@uni.example")
        assert not page.locator("[data-select-all]").is_visible()  # needs JS, so hidden
        page.goto("/students/?sort_by=name&sort_order=asc")
        page.locator("input[name=user_ids]").nth(0).check()
        open_bulk_tools(page)
        page.get_by_label("Case study", exact=True).select_option(label=world["fuel"].title)
        page.locator("#bulk-reason").fill("No-JS grant")
        page.get_by_role("button", name="Grant attempts").click()
        page.wait_for_load_state()
        assert page.get_by_text("1 student will change.").is_visible()  # the preview, without JS too
        page.locator("button[data-confirm]").click()
        page.wait_for_load_state()
        assert page.get_by_text("to 1 student.").is_visible()
        star = world["star"]
        page.goto(f"/students/{star.pk}/")
        card = page.locator(f"#cs-{world['fuel'].pk}")
        card.locator("summary").click()  # <details> opens without JS
        card.locator(f"#grant-{world['fuel'].pk}-reason").fill("No-JS single grant")
        card.get_by_role("button", name="Grant").click()
        page.wait_for_load_state()
        assert page.get_by_text("Granted 1 extra attempt on").is_visible()
    finally:
        context.close()
        server.app.wait_idle()
    assert AttemptGrant.objects.filter(reason__startswith="No-JS").count() == 2
