"""The Audit page and the group pages in a real Chromium (issue 33, frictions 4 and 8): the trail
names students, cohorts, case studies and groups with links, a grant reads as its allowance
before → after, a gradebook of 45 case studies as "45 case studies", the Action filter is a
labelled choice; at a phone's width a page of 50 events, and a group of 130 members with 45
case studies, stay short. At 1366 and 390 px, light and dark, with axe-core.

Screenshots: audit-readable-{1366,390}[-dark].png, groups-paginated-390[-dark].png."""
import pytest
from django.test import RequestFactory

from accounts.audit.services import audit_record, audit_request
from attempts.grants.services import attempts_grant
from console.tests.test_browser import PASSWORD, _world, shot, sign_in
from console.tests.test_phone_and_accessibility import WIDTHS
from students.cohorts.services import cohort_create, cohort_update
from students.groups.services import student_group_members_add
from students.records.services import student_update
from testing.browser import axe_violations, needs_chromium, sideways_overflow
from testing.factories import (
    CaseStudyFactory,
    StaffUserFactory,
    StudentClusterFactory,
    StudentFactory,
    StudentGroupFactory,
)

pytestmark = [pytest.mark.browser, needs_chromium]

MEMBERS = 130
CASE_STUDIES = 45
PHONE_PAGE_HEIGHT = 6000  # px: 50 events, or a page of 50 members with 45 case studies' results


@pytest.fixture
def trail(committed_tenant):
    """Written by a signed-in admin, as the console writes it: a group of 130 members, a cohort
    renamed, a student moved to it and renamed, a grant, and a gradebook of 45 case studies."""
    world = _world()
    ops = StaffUserFactory(email="ops@uni.example", password=PASSWORD, roles=["admin", "operator"])
    mba = world["fuel"].programmes.get(code="MBA1234")
    studies = [world["fuel"], world["market"]] + [
        CaseStudyFactory(title=f"Case {n:02}: a retail bank's branch closures", programmes=[mba])
        for n in range(CASE_STUDIES - 2)
    ]
    members = StudentFactory.create_batch(MEMBERS - len(world["students"]), programmes=[mba])
    group = StudentGroupFactory(name="Second-year associates, evening", cluster=StudentClusterFactory(name="MBA"))
    request = RequestFactory().post("/", REMOTE_ADDR="10.1.2.3")
    request.user = ops
    star = world["star"]
    with audit_request(request):
        student_group_members_add(group_id=group.pk, user_ids=[s.pk for s in world["students"] + members])
        spring = cohort_create(name="Spring 2026")
        student_update(user_id=star.pk, cohort_id=spring.pk)
        cohort_update(cohort_id=spring.pk, name="Spring 2026 (MBA)")
        student_update(user_id=star.pk, first_name="Chidinma Ada")
        attempts_grant(user_id=star.pk, case_study_id=world["fuel"].pk, attempts=1, reason="Outage on 4 June",
                       actor=ops)
        audit_record(action="reports.gradebook", target_type="student_list", target_id="gradebook",
                     detail={"format": "xlsx", "case_studies": [c.pk for c in studies],
                             "filters": {"programme": ["MBA1234"]}})
    return {"world": world, "group": group, "cohort": spring, "star": star}


def _context(browser, server, width):
    w, h, scheme = WIDTHS[width]
    context = browser.new_context(
        base_url=server.url, viewport={"width": w, "height": h}, locale="en-GB", color_scheme=scheme
    )
    context.set_default_timeout(20000)  # a group of 130 members' results on a shared machine
    return context


def _height(page):
    return page.evaluate("document.documentElement.scrollHeight")


def _checked(page, name):
    assert sideways_overflow(page) == 0, name
    assert axe_violations(page) == [], name


def _fits(page, width, name, screenshot=""):
    """No sideways scrolling, no serious axe finding, and at a phone's width no taller than
    PHONE_PAGE_HEIGHT; a screenshot named for the width and scheme."""
    if WIDTHS[width][0] < 600:
        height = _height(page)
        print(f"{name} at {width}: {height}px tall")
        assert height <= PHONE_PAGE_HEIGHT, f"{name} is {height}px tall at {width}"
    _checked(page, f"{name} at {width}")
    if screenshot:
        shot(page, f"{screenshot}-{_suffix(width)}")


def _suffix(width):
    w, _, scheme = WIDTHS[width]
    return f"{w}{'-dark' if scheme == 'dark' else ''}"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_audit_trail_reads_in_names_and_fits_a_phone(browser, server, trail, width):
    star, fuel, cohort = trail["star"], trail["world"]["fuel"], trail["cohort"]
    context = _context(browser, server, width)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        page.goto("/audit/")
        table = page.locator("#audit-table")
        rows = table.locator("tbody tr")
        assert rows.count() == 50
        text = table.inner_text()
        assert star.pk not in text and cohort.pk not in text and fuel.pk not in text
        grant = rows.filter(has_text="Extra attempts granted")
        assert "Extra attempts: 0 → 1" in grant.inner_text()
        assert "Attempts allowed: 2 → 3" in grant.inner_text()
        assert grant.get_by_role("link", name=fuel.title).get_attribute("href") == f"/case-studies/{fuel.pk}/"
        assert grant.get_by_role("link", name="Chidinma Ada Okafọr").get_attribute("href") == f"/students/{star.pk}/"
        moved = rows.filter(has_text="Student changed").filter(has_text="Cohort")
        assert "Cohort: — → Spring 2026 (MBA)" in moved.inner_text()
        assert moved.get_by_role("link", name="Spring 2026 (MBA)").get_attribute("href") == f"/students/?cohort={cohort.pk}"
        renamed = rows.filter(has_text="Cohort renamed")
        assert "Name: Spring 2026 → Spring 2026 (MBA)" in renamed.inner_text()
        gradebook = rows.filter(has_text="Gradebook downloaded")
        summary = gradebook.locator("summary", has_text=f"{CASE_STUDIES} case studies")
        assert summary.is_visible() and not gradebook.get_by_role("link", name=fuel.title).is_visible()
        _fits(page, width, "the audit page", "audit-readable")
        summary.click()
        assert gradebook.get_by_role("link", name=fuel.title).is_visible()
        _checked(page, f"audit at {width}, the gradebook's case studies open")
        action = page.get_by_label("Action")
        assert action.locator("optgroup[label=Attempts] option", has_text="Extra attempts granted").count() == 1
        action.select_option(label="Extra attempts granted")
        with page.expect_navigation():
            page.get_by_role("button", name="Apply").click()
        assert page.locator("#audit-table tbody tr").count() == 1
        assert page.get_by_label("Action").evaluate("s => s.selectedOptions[0].textContent") == "Extra attempts granted"
    finally:
        context.close()
        server.app.wait_idle()


@pytest.mark.parametrize("width", ["phone", "phone-dark", "desktop"])
def test_a_large_group_pages_its_members_and_fits_a_phone(browser, server, trail, width):
    group = trail["group"]
    context = _context(browser, server, width)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        page.goto(f"/groups/{group.pk}/")
        assert page.locator("#group-members tbody tr").count() == 50
        pager = page.get_by_role("navigation", name="Member pages")
        assert "Page 1 of 3" in pager.inner_text()
        _fits(page, width, "the group page", "groups-paginated")
        with page.expect_navigation():
            pager.get_by_role("link", name="Page 3").click()
        assert page.locator("#group-members tbody tr").count() == MEMBERS - 100
        page.goto("/groups/")
        _fits(page, width, "the groups list")
    finally:
        context.close()
        server.app.wait_idle()
