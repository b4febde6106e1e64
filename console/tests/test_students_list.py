"""The students list page: the shared selector's filters and sort behind a filter bar, paging,
export links, and the bulk "grant extra attempts" action."""
import datetime as dt
import re

import pytest
from django.utils import timezone

from attempts.grants.services import MSG_ATTEMPTS_RANGE
from attempts.models import AttemptGrant
from console.attempts.forms import MSG_FORM_ATTEMPTS_NOT_A_NUMBER, MSG_FORM_REASON_REQUIRED
from console.bulk.forms import MSG_NO_STUDENTS, MSG_NOT_A_STUDENT
from console.bulk.views import MSG_NOTHING_CHANGED
from console.pages import MSG_FIX_ERRORS
from console.students.views import MSG_PAGE_DATE_RANGE
from students.listing.filters import MSG_DATE_RANGE
from students.models import Student
from testing.factories import CaseStudyFactory, ProgrammeFactory, SessionFactory, StaffUserFactory, StudentFactory

NOW = dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.timezone.utc)


def _seen(student, when):
    SessionFactory(student=student, started_at=when, ended_at=None, status="in_progress", last_activity_at=when)


def _names(response):
    return [s.student_name for s in response.context["rows"]]


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")


def test_lists_students_with_programme_case_studies_status_and_last_seen(console_as, viewer_user, mba):
    student = StudentFactory(first_name="Chidinma", last_name="Okafọr", programmes=[mba])
    CaseStudyFactory(programmes=[mba])
    _seen(student, NOW)
    response = console_as(viewer_user).get("/students/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chidinma Okafọr" in html
    assert f'href="/students/{student.pk}/"' in html
    assert "Masters in Business Administration" in html
    assert 'datetime="2026-06-04T10:00:00+01:00"' in html  # shown in the tenant's time zone (Lagos)
    assert response.context["rows"][0].overall_case_studies == 1
    assert re.search(r"1–1\s*<span class=\"muted\">of</span>\s*1", html)


def test_filters_by_search_programme_and_status_like_the_api(console_as, viewer_user, mba):
    other = ProgrammeFactory(code="MSC2001", name="MSc Public Policy")
    StudentFactory(first_name="Zoë", last_name="Brontë", programmes=[mba])
    StudentFactory(first_name="Søren", last_name="Kierkegård", programmes=[other])
    StudentFactory(first_name="Zola", last_name="Budd", programmes=[mba], status="inactive")
    client = console_as(viewer_user)
    assert sorted(_names(client.get("/students/?search=zo"))) == ["Zola Budd", "Zoë Brontë"]
    assert _names(client.get("/students/?programme=MSC2001")) == ["Søren Kierkegård"]
    assert _names(client.get("/students/?programme=MBA1234&status=inactive")) == ["Zola Budd"]
    html = client.get("/students/?programme=MSC2001").content.decode()
    assert '<option value="MSC2001" selected>MSc Public Policy (MSC2001)</option>' in html


def test_date_filters_mean_whole_days_in_the_tenants_time_zone(console_as, viewer_user):
    late = StudentFactory(first_name="Amara", last_name="Nwosu")
    _seen(late, dt.datetime(2026, 6, 3, 23, 30, tzinfo=dt.timezone.utc))  # 00:30 on 4 June in Lagos
    early = StudentFactory(first_name="Tunde", last_name="Bello")
    _seen(early, dt.datetime(2026, 6, 3, 22, 30, tzinfo=dt.timezone.utc))  # 23:30 on 3 June in Lagos
    StudentFactory(first_name="Never", last_name="Seen")
    client = console_as(viewer_user)
    assert _names(client.get("/students/?start_date=2026-06-04&end_date=2026-06-04")) == ["Amara Nwosu"]
    assert _names(client.get("/students/?end_date=2026-06-03")) == ["Tunde Bello"]


def test_bad_filters_are_shown_beside_their_fields_not_as_an_error_page(console_as, viewer_user):
    StudentFactory()
    response = console_as(viewer_user).get("/students/?start_date=2026-06-05&end_date=2026-06-01")
    assert response.status_code == 200
    html = response.content.decode()
    # The JSON list's rule, said of the page's own controls rather than of query parameters.
    assert f'<span class="field-error" id="f-start-err">{MSG_PAGE_DATE_RANGE}</span>' in html
    assert MSG_DATE_RANGE not in html
    assert 'id="f-start" name="start_date" value="2026-06-05"' in html
    assert response.context["rows"] == []
    response = console_as(viewer_user).get("/students/?sort_by=shoe_size")
    assert "That column cannot be sorted; choose a column heading to sort by it." in response.content.decode()
    html = console_as(viewer_user).get("/students/", {"search": "x" * 201, "status": "weird"}).content.decode()
    assert "Search for at most 200 characters." in html and "Choose Active, Inactive or Any status." in html
    assert "Ensure this value" not in html and "Select a valid choice" not in html


def test_headers_sort_and_toggle_with_the_current_direction_marked(console_as, viewer_user):
    for first in ("Łukasz", "Aïcha", "José"):
        StudentFactory(first_name=first, last_name="Diallo")
    client = console_as(viewer_user)
    html = client.get("/students/?search=diallo").content.decode()
    # Default: last seen, descending; clicking Name sorts ascending first.
    assert re.search(r'aria-sort="descending"[^>]*><a href="\?[^"]*sort_by=last_seen&amp;sort_order=asc', html)
    assert re.search(r'aria-sort="none"[^>]*><a href="\?search=diallo&amp;sort_by=name&amp;sort_order=asc"', html)
    response = client.get("/students/?search=diallo&sort_by=name&sort_order=asc")
    names = _names(response)
    assert names == sorted(names, key=str.lower)
    html = response.content.decode()
    assert re.search(r'aria-sort="ascending"[^>]*><a href="\?search=diallo&amp;sort_by=name&amp;sort_order=desc"', html)
    assert "▲" in html
    assert _names(client.get("/students/?search=diallo&sort_by=name&sort_order=desc")) == list(reversed(names))


def test_pages_show_the_range_and_total_and_keep_the_filters(console_as, viewer_user):
    for i in range(27):
        StudentFactory(first_name=f"Student{i:02d}", last_name="Umar")
    client = console_as(viewer_user)
    response = client.get("/students/?search=umar&sort_by=name&sort_order=asc&page_size=10&page=2")
    html = response.content.decode()
    assert _names(response)[0] == "Student10 Umar" and len(response.context["rows"]) == 10
    assert re.search(r"11–20\s*<span class=\"muted\">of</span>\s*27", html)
    assert 'href="?search=umar&amp;sort_by=name&amp;sort_order=asc&amp;page_size=10&amp;page=3" rel="next"' in html
    assert 'aria-current="page">2<' in html
    # A page past the end shows the last page.
    response = client.get("/students/?search=umar&page_size=10&page=99")
    assert response.context["listing"].page == 3 and len(response.context["rows"]) == 7
    # An unknown page size falls back to 25.
    assert len(client.get("/students/?search=umar&page_size=7").context["rows"]) == 25


def test_empty_state_when_nothing_matches(console_as, viewer_user):
    StudentFactory(first_name="Ngozi", last_name="Adébáyọ̀")
    html = console_as(viewer_user).get("/students/?search=nobody").content.decode()
    assert "No students match these filters" in html
    assert "students-table" not in html


def test_export_links_carry_the_filters_and_sort_only_for_staff_who_may_export(console_as, operator_user, viewer_user):
    StudentFactory()
    html = console_as(operator_user).get(
        "/students/?search=zo%C3%AB&programme=MBA1234&start_date=2026-06-01&sort_by=name&sort_order=asc&page=2"
    ).content.decode()
    csv = re.search(r'href="(/v1/console/students/export\?format=csv[^"]*)"', html).group(1)
    assert "search=zo%C3%AB" in csv and "programme=MBA1234" in csv and "sort_by=name" in csv
    assert "start_date=2026-06-01T00%3A00%3A00%2B01%3A00" in csv  # the same local day as on screen
    assert "page=" not in csv
    assert re.search(r'href="/v1/console/students/export\?format=xlsx&amp;search=zo%C3%AB', html)
    assert "/v1/console/students/export" not in console_as(viewer_user).get("/students/").content.decode()


def test_row_checkboxes_and_the_bulk_form_only_for_staff_who_manage_attempts(console_as, operator_user, viewer_user):
    student = StudentFactory()
    html = console_as(operator_user).get("/students/").content.decode()
    assert f'name="user_ids" value="{student.pk}"' in html
    assert '<label for="bulk-reason">Reason</label>' in html
    html = console_as(viewer_user).get("/students/").content.decode()
    assert 'name="user_ids"' not in html and "Grant attempts" not in html


@pytest.mark.parametrize("rows", [2, 12])
def test_list_query_count_does_not_grow_with_rows(console_as, operator_user, django_assert_num_queries, mba, rows):
    CaseStudyFactory(programmes=[mba])
    for _ in range(rows):
        _seen(StudentFactory(programmes=[mba]), NOW)
    client = console_as(operator_user)
    client.get("/students/")  # warm the session
    # Session, staff user with roles (one statement); the page rows with their programmes and the total (the first
    # page of a list without a narrowing filter); the programme options, each with whether the
    # matching students are in it and its case-study options (console.bulk.selectors); the
    # cohort, group and advisor options (one statement: console.students.selectors.list_filter_choices).
    with django_assert_num_queries(5):
        response = client.get("/students/")
    assert len(response.context["rows"]) == rows


# Bulk grant ------------------------------------------------------------------------------


@pytest.fixture
def cohort(mba):
    case_study = CaseStudyFactory(title="Fuel Subsidy removal in Nigeria", programmes=[mba])
    students = [StudentFactory(first_name=n, last_name="Okafọr", programmes=[mba]) for n in ("Ada", "Bisi", "Chi")]
    return case_study, students


def test_bulk_grant_to_three_students_writes_three_ledger_rows_and_flashes(
    console_as, operator_user, cohort, preview_then_confirm
):
    case_study, students = cohort
    client = console_as(operator_user)
    preview, response = preview_then_confirm(
        client,
        {"user_ids": [s.pk for s in students], "case_study": case_study.pk, "attempts": "2", "reason": "Outage on 3 June"},
        url="/students/?search=okaf",
    )
    assert "Grant 2 attempts on “Fuel Subsidy removal in Nigeria” to 3 students" in preview.content.decode()
    assert response.redirect_chain == [("/students/?search=okaf", 302)]
    assert "Granted 2 extra attempts on “Fuel Subsidy removal in Nigeria” to 3 students." in response.content.decode()
    grants = AttemptGrant.objects.filter(case_study=case_study)
    assert sorted(g.student_id for g in grants) == sorted(s.pk for s in students)
    assert {(g.delta, g.reason, g.actor_id) for g in grants} == {(2, "Outage on 3 June", operator_user.pk)}


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"user_ids": []}, "user_ids", MSG_NO_STUDENTS),
        ({"reason": "   "}, "reason", MSG_FORM_REASON_REQUIRED),
        # The form checks a whole number; the range is the grants service's rule, with its one
        # message (the API's too).
        ({"attempts": "11"}, "attempts", MSG_ATTEMPTS_RANGE),
        ({"attempts": "0"}, "attempts", MSG_ATTEMPTS_RANGE),
        ({"attempts": "two"}, "attempts", MSG_FORM_ATTEMPTS_NOT_A_NUMBER),
        ({"attempts": ""}, "attempts", MSG_FORM_ATTEMPTS_NOT_A_NUMBER),
        ({"case_study": "nope"}, "case_study", "That case study no longer exists."),
    ],
)
def test_bulk_grant_with_bad_input_shows_the_error_and_changes_nothing(console_as, operator_user, cohort, change, field, message):
    case_study, students = cohort
    data = {"user_ids": [s.pk for s in students], "case_study": case_study.pk, "attempts": "1", "reason": "Outage"}
    data.update(change)
    response = console_as(operator_user).post("/students/", data)
    assert response.status_code == 400
    assert response.context["bulk_form"].errors[field] == [message]
    html = response.content.decode()
    assert message.replace("’", "&#x27;") in html or message in html
    # The page says to fix the highlighted fields only when one is highlighted.
    assert (MSG_FIX_ERRORS in html) == (field != "user_ids")
    if field == "user_ids":
        assert MSG_NOTHING_CHANGED.format(reason=MSG_NO_STUDENTS) in html
    assert AttemptGrant.objects.count() == 0
    # The ticks and typed values survive, so nothing has to be re-entered.
    if field != "user_ids":
        assert f'value="{students[0].pk}" id="sel-{students[0].pk}" checked' in html


def test_bulk_grant_previews_a_student_it_would_refuse_and_grants_nobody_yet(console_as, operator_user, cohort):
    case_study, students = cohort
    outsider = StudentFactory(first_name="Zoë", last_name="Brontë")  # not in the case study's programme
    response = console_as(operator_user).post(
        "/students/",
        {"user_ids": [students[0].pk, outsider.pk], "case_study": case_study.pk, "attempts": "1", "reason": "Outage"},
    )
    assert response.status_code == 200
    assert response.context["refused"] == [
        ("Zoë Brontë", "this case study is not assigned to the student and they have not attempted it.")
    ]
    assert response.context["confirm_fields"][-1] == ("user_ids", students[0].pk)
    assert AttemptGrant.objects.count() == 0


def test_bulk_refusals_are_listed_one_student_a_line(console_as, operator_user, cohort):
    case_study, _ = cohort
    outsiders = [StudentFactory(first_name=name, last_name="Brontë") for name in ("Zoë", "Anne")]
    response = console_as(operator_user).post(
        "/students/",
        {"user_ids": [o.pk for o in outsiders], "case_study": case_study.pk, "attempts": "1", "reason": "Outage"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was granted. Untick these students" in html
    assert html.count("<li>Zoë Brontë: this case study") == 1 and html.count("<li>Anne Brontë: this case study") == 1


def test_a_malformed_ticked_id_is_refused_in_staff_words(console_as, operator_user, cohort):
    case_study, students = cohort
    response = console_as(operator_user).post(
        "/students/", {"user_ids": [students[0].pk, "a\x00b"], "case_study": case_study.pk, "attempts": "1", "reason": "x"}
    )
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["user_ids"] == [MSG_NOT_A_STUDENT]
    assert AttemptGrant.objects.count() == 0


def test_bulk_grant_is_refused_without_attempts_permission(console_as, viewer_user, cohort):
    case_study, students = cohort
    response = console_as(viewer_user).post(
        "/students/", {"user_ids": [students[0].pk], "case_study": case_study.pk, "attempts": "1", "reason": "x"}
    )
    assert response.status_code == 403
    assert AttemptGrant.objects.count() == 0


def test_bulk_grant_case_study_choices_are_the_active_case_studies(console_as, mba):
    CaseStudyFactory(title="Retired case", programmes=[mba], is_active=False)
    active = CaseStudyFactory(title="Live case", programmes=[mba])
    StudentFactory(programmes=[mba])  # the bulk bar shows over a list with rows
    html = console_as(StaffUserFactory(roles=["admin"])).get("/students/").content.decode()
    assert f'<option value="{active.pk}">Live case</option>' in html
    assert "Retired case" not in html


def test_the_archived_choice_lists_archived_students_only_without_bulk_or_export(console_as, operator_user):
    current = StudentFactory(first_name="Current", last_name="Student")
    gone = StudentFactory(first_name="Archie", last_name="Ved", archived=True)
    StudentFactory(first_name="Del", last_name="Eted", archived=True, deleted_at=timezone.now())
    client = console_as(operator_user)
    response = client.get("/students/", {"status": "archived"})
    assert [s.pk for s in response.context["rows"]] == [gone.pk]
    html = response.content.decode()
    assert "1 <span class=\"muted\">of</span> 1 <span class=\"muted\">archived student</span>" in html
    assert '<option value="archived" selected>Archived</option>' in html
    assert "Grant attempts" not in html and "Export CSV" not in html
    assert [s.pk for s in client.get("/students/", {"status": "archived", "search": "archie"}).context["rows"]] == [gone.pk]
    assert client.get("/students/", {"status": "archived", "search": "current"}).context["rows"] == []
    assert [s.pk for s in client.get("/students/").context["rows"]] == [current.pk]
    # The JSON list keeps the seed's statuses.
    assert operator_client_status(client) == 400


def operator_client_status(client):
    return client.get("/v1/console/students", {"status": "archived"}).status_code


def test_the_bulk_bar_is_hidden_when_nothing_is_listed(console_as, operator_user):
    StudentFactory()
    html = console_as(operator_user).get("/students/", {"search": "nobody-at-all"}).content.decode()
    assert "Grant attempts" not in html


def test_bulk_grant_to_all_matching_reaches_every_student_the_filters_match(
    console_as, operator_user, cohort, mba, preview_then_confirm
):
    case_study, students = cohort
    StudentFactory(first_name="Other", last_name="Programme")  # not matched by the filter below
    client = console_as(operator_user)
    _, response = preview_then_confirm(
        client,
        {"scope": "matching", "case_study": case_study.pk, "attempts": "1", "reason": "Outage"},
        url=f"/students/?programme={mba.code}&page_size=10",
    )
    assert response.redirect_chain[-1][1] == 302
    granted = set(AttemptGrant.objects.values_list("student_id", flat=True))
    assert granted == {s.pk for s in students}
    assert f"to {len(students)} students." in response.content.decode()


def test_bulk_grant_to_all_matching_past_the_limit_says_how_many_match_and_grants_nobody(
    console_as, operator_user, cohort, monkeypatch
):
    from console.bulk import views

    case_study, students = cohort
    monkeypatch.setattr(views, "MAX_BULK_IDS", 2)
    response = console_as(operator_user).post(
        "/students/", {"scope": "matching", "case_study": case_study.pk, "attempts": "1", "reason": "Outage"}
    )
    assert response.status_code == 400
    total = Student.objects.filter(archived=False, deleted_at__isnull=True).count()
    assert response.context["bulk_form"].errors["user_ids"] == [
        f"The filters match {total:,} students; a grant reaches at most 2 at a time. Narrow the filters "
        "(a programme, a status or a date range) and grant again."
    ]
    assert AttemptGrant.objects.count() == 0


def test_bulk_grant_to_ticked_students_needs_one_ticked(console_as, operator_user, cohort):
    case_study, _ = cohort
    response = console_as(operator_user).post(
        "/students/", {"scope": "ticked", "case_study": case_study.pk, "attempts": "1", "reason": "Outage"}
    )
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["user_ids"] == [MSG_NO_STUDENTS]


def test_the_case_studies_column_sorts(console_as, viewer_user, mba):
    few, many = StudentFactory(programmes=[]), StudentFactory(programmes=[mba])
    CaseStudyFactory.create_batch(2, programmes=[mba])
    client = console_as(viewer_user)
    response = client.get("/students/", {"sort_by": "case_studies", "sort_order": "desc"})
    assert [s.pk for s in response.context["rows"]] == [many.pk, few.pk]
    html = response.content.decode()
    assert 'aria-sort="descending" class="sortable is-sorted num"><a href="?sort_by=case_studies&amp;sort_order=asc"' in html
    ascending = client.get("/students/", {"sort_by": "case_studies", "sort_order": "asc"})
    assert [s.pk for s in ascending.context["rows"]] == [few.pk, many.pk]



def test_cohort_advisor_and_group_filter_the_list_in_the_console(console_as, operator_user, admin_user):
    from students.models import GroupMembership
    from testing.factories import CohortFactory, StudentGroupFactory

    cohort, group = CohortFactory(name="2026 intake"), StudentGroupFactory(name="Lagos")
    in_cohort = StudentFactory(first_name="Cora", cohort=cohort)
    advised = StudentFactory(first_name="Adi", advisor=admin_user)
    member = StudentFactory(first_name="Gus")
    GroupMembership.objects.create(group=group, student=member)
    StudentFactory(first_name="None")
    client = console_as(operator_user)
    for params, expected in (({"cohort": cohort.pk}, in_cohort), ({"advisor": admin_user.pk}, advised), ({"group": group.pk}, member)):
        response = client.get("/students/", params)
        assert [s.pk for s in response.context["rows"]] == [expected.pk], params
        assert response.context["total"] == 1
    html = client.get("/students/", {"cohort": cohort.pk}).content.decode()
    assert f'<option value="{cohort.pk}" selected>2026 intake</option>' in html
    assert f'<option value="{admin_user.pk}">Ada Admin</option>' in html
    html = client.get("/students/", {"advisor": "x1", "group": "a b"}).content.decode()
    assert "Choose an advisor from the list." in html and "Choose a group from the list." in html


def test_the_filter_bar_offers_what_the_lists_filterset_declares(console_as, viewer_user):
    """The bar's controls come from the FilterSet that validates the list: a longer search
    allowed there is allowed here; a status it adds is offered here."""
    from students.listing.filters import StudentFileFilter

    page = console_as(viewer_user).get("/students/").content.decode()
    filters = StudentFileFilter.base_filters
    assert f'maxlength="{filters["search"].field.max_length}"' in page
    for name in ("search", "programme", "status", "cohort", "advisor", "group"):
        assert f'<label for="f-{name}">{filters[name].label}</label>' in page, name
    for name in ("start_date", "end_date"):
        assert f'title="{filters[name].label}"' in page, name
    offered = re.findall(r'<option value="([a-z]+)"', page.split('id="f-status"')[1].split("</select>")[0])
    assert offered == [value for value, _ in filters["status"].extra["choices"]] + ["archived"]


@pytest.mark.parametrize(
    "query, summary",
    [
        ("", "<summary>Filters</summary>"),
        ("?search=zo", "<summary>Filters</summary>"),  # the search stays outside the disclosure
        ("?programme=MBA1234&status=active", "<summary>Filters · 2 active</summary>"),
        ("?start_date=2026-06-01&end_date=2026-06-04&status=inactive", "<summary>Filters · 2 active</summary>"),
        ("?page_size=50&sort_by=name", "<summary>Filters</summary>"),  # rows and sort are not filters
    ],
)
def test_the_filters_disclosure_counts_the_filters_set(console_as, viewer_user, mba, query, summary):
    html = console_as(viewer_user).get(f"/students/{query}").content.decode()
    assert summary in html
    assert '<details class="filters-more">' in html  # closed: on a phone it waits behind its summary


def test_the_filters_disclosure_is_open_when_a_filter_is_refused(console_as, viewer_user):
    html = console_as(viewer_user).get("/students/?status=weird").content.decode()
    assert '<details class="filters-more" open>' in html


def test_the_bulk_tools_disclosure_says_whom_it_acts_on_and_opens_after_a_refusal(console_as, operator_user, cohort):
    case_study, students = cohort
    client = console_as(operator_user)
    html = client.get("/students/").content.decode()
    assert '<details class="bulk-tools">' in html and "· none selected</span></summary>" in html
    refused = {"user_ids": [students[0].pk, students[1].pk], "case_study": case_study.pk, "attempts": "1", "reason": " "}
    html = client.post("/students/", refused).content.decode()
    assert '<details class="bulk-tools" open>' in html and "· 2 selected</span></summary>" in html
    html = client.post("/students/", {**refused, "scope": "matching", "user_ids": []}).content.decode()
    assert f"· all {len(students)} matching</span></summary>" in html


def test_a_bulk_actions_message_is_at_the_top_of_the_content(console_as, operator_user, cohort, preview_then_confirm):
    case_study, students = cohort
    _, response = preview_then_confirm(
        console_as(operator_user),
        {"user_ids": [students[0].pk], "case_study": case_study.pk, "attempts": "1", "reason": "Outage"},
    )
    html = response.content.decode()
    messages = html[html.index('<div class="flashes" id="messages"'):html.index('<div class="page-head">')]
    assert "Granted 1 extra attempt" in messages and html.count("Granted 1 extra attempt") == 1


def test_cohort_group_and_advisor_options_are_read_in_one_statement(console_as, viewer_user):
    from testing.factories import CohortFactory, StudentGroupFactory

    CohortFactory(name="Class of 2027")
    CohortFactory(name="Class of 2025 & <later>")
    late, early = StudentGroupFactory(name="Zeta"), StudentGroupFactory(name="Alpha")
    named = StaffUserFactory(email="b@uni.example", full_name="Bisi Advisor")
    unnamed = StaffUserFactory(email="a@uni.example", full_name="")
    StaffUserFactory(email="idle@uni.example", full_name="Advises Nobody")
    StudentFactory(advisor=named)
    StudentFactory(advisor=unnamed)
    StudentFactory(advisor=named)
    response = console_as(viewer_user).get("/students/")
    options = {f["name"]: f["options"] for f in response.context["extra_filters"]}
    cohorts = [name for _, name in options["cohort"]]
    assert cohorts == sorted(cohorts) and "Class of 2025 & <later>" in cohorts
    assert [pk for pk, _ in options["group"]] == [early.pk, late.pk]
    # By name, then email (an empty name sorts first), labelled by name, else email; only staff who advise someone.
    assert options["advisor"] == [(str(unnamed.pk), "a@uni.example"), (str(named.pk), "Bisi Advisor")]
    html = response.content.decode()
    assert "Class of 2025 &amp; &lt;later&gt;</option>" in html
    assert f'<option value="{named.pk}">Bisi Advisor</option>' in html
    response = console_as(viewer_user).get(f"/students/?advisor={named.pk}&group={late.pk}")
    assert f'<option value="{named.pk}" selected>Bisi Advisor</option>' in response.content.decode()
    assert f'<option value="{late.pk}" selected>Zeta</option>' in response.content.decode()
    assert response.context["total"] == 0
