"""A bulk grant as a new staff member does it, in a real Chromium at 1366 and 390 px, light and
dark: filter by programme, choose a case study from those of the matching students'
programmes, read the preview (who changes, who is refused and why), confirm by the button that
names the count, read the outcome. axe-core finds nothing serious on the preview. Screenshots:
bulk-preview-<width>[-dark].png (the preview), bulk-chooser-… and bulk-done-…."""
import pytest

from attempts.models import AttemptGrant
from console.tests.test_browser import open_bulk_tools, shot, sign_in
from console.tests.test_phone_and_accessibility import WIDTHS, site  # noqa: F401 (a fixture)
from students.maintained import student_refresh_programme_labels
from students.models import Enrolment
from testing.browser import axe_violations, needs_chromium, sideways_overflow
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory

pytestmark = [pytest.mark.browser, needs_chromium]

REASON = "Outage on the MSc cohort's session day"


@pytest.fixture
def law(site):  # noqa: F811 (the fixture imported above)
    """Two of the four MSc students also read law; the law case study is theirs only. A banking
    programme nobody on the MSc list is in."""
    llb = ProgrammeFactory(code="LLB3001", name="Bachelor of Laws")
    contracts = CaseStudyFactory(title="Contract disputes in Lagos", programmes=[llb])
    banking = ProgrammeFactory(code="BNK4001", name="Retail Banking")
    CaseStudyFactory(title="Retail banking in Accra", programmes=[banking])
    StudentFactory(first_name="Bola", last_name="Banker", programmes=[banking])
    msc = [s for s in site["world"]["students"] if s.programmes.filter(code="MSC2001").exists()]
    msc.sort(key=lambda s: s.student_name)
    for student in msc[:2]:
        Enrolment.objects.create(student=student, programme=llb)
    student_refresh_programme_labels(student_ids=[s.pk for s in msc[:2]])
    return {"contracts": contracts, "lawyers": msc[:2], "others": msc[2:]}


def _optgroups(page):
    return page.eval_on_selector_all(
        "#bulk-case-study optgroup", "(groups) => groups.filter((g) => !g.hidden).map((g) => g.dataset.programme)"
    )


@pytest.mark.parametrize("variant", WIDTHS)
def test_a_bulk_grant_is_previewed_and_confirmed_with_its_count(browser, server, site, law, variant):  # noqa: F811
    width, height, scheme = WIDTHS[variant]
    suffix = f"{width}{'-dark' if scheme == 'dark' else ''}"
    context = browser.new_context(
        base_url=server.url, viewport={"width": width, "height": height}, locale="en-GB", color_scheme=scheme
    )
    context.set_default_timeout(8000)
    page = context.new_page()
    try:
        sign_in(page, "ops@uni.example")
        filters = page.locator("details.filters-more > summary")
        if filters.is_visible():  # on a phone the filters wait behind their disclosure
            filters.click()
        page.locator("#f-programme").select_option("MSC2001")
        with page.expect_navigation():
            page.get_by_role("button", name="Apply").click()
        assert "programme=MSC2001" in page.url
        open_bulk_tools(page)

        # The chooser offers the case studies of the MSc students' programmes only.
        assert _optgroups(page) == ["LLB3001", "MBA1234", "MSC2001"]
        titles = page.locator("#bulk-case-study option").all_inner_texts()
        assert "Contract disputes in Lagos" in titles and "Retail banking in Accra" not in titles
        # Ticking a student outside law narrows it to their programmes.
        outsider = page.locator(f"#sel-{law['others'][0].pk}")
        outsider.check()
        assert _optgroups(page) == ["MBA1234", "MSC2001"]
        outsider.uncheck()
        assert _optgroups(page) == ["LLB3001", "MBA1234", "MSC2001"]

        page.get_by_label("all 4 students matching the filters").check()
        page.locator("#bulk-case-study").select_option(label="Contract disputes in Lagos")
        page.locator("#bulk-reason").fill(REASON)
        shot(page, f"bulk-chooser-{suffix}")
        with page.expect_navigation():
            page.get_by_role("button", name="Grant attempts").click()

        # The preview: nothing written yet; two will change, two are refused, by name.
        assert AttemptGrant.objects.count() == 0
        assert page.locator("[data-will-change]").inner_text() == "2"
        assert page.locator("[data-refused]").inner_text() == "2"
        refused = page.locator("[data-refused-names] li").all_inner_texts()
        assert sorted(r.split(":")[0] for r in refused) == sorted(s.student_name for s in law["others"])
        assert all("not assigned to the student" in r for r in refused)
        assert page.get_by_text("the button below leaves them out. If that is not what you meant, narrow the filters "
                                "or choose another case study.").is_visible()
        confirm = page.get_by_role("button", name="Grant 1 attempt on “Contract disputes in Lagos” to 2 students")
        assert confirm.is_visible()
        assert page.evaluate("document.activeElement.id") == "bulk-preview-title"
        assert sideways_overflow(page) == 0
        shot(page, f"bulk-preview-{suffix}")
        assert axe_violations(page) == []

        with page.expect_navigation():
            confirm.click()
        outcome = page.get_by_role("status").filter(has_text="Granted 1 extra attempt on “Contract disputes in Lagos” to 2 students.")
        assert outcome.is_visible()
        assert "programme=MSC2001" in page.url
        shot(page, f"bulk-done-{suffix}")
        assert axe_violations(page) == []
    finally:
        context.close()
        server.app.wait_idle()
    granted = sorted(AttemptGrant.objects.filter(reason=REASON).values_list("student_id", flat=True))
    assert granted == sorted(s.pk for s in law["lawyers"])
