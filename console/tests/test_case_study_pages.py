"""Console pages for case studies: /case-studies/, /case-studies/<id>/ and its participants tab."""
import datetime as dt
import re

import pytest
from django_tenants.utils import schema_context

from attempts.models import Session
from attempts.participants.selectors import MSG_UNKNOWN_ORDERING, MSG_UNKNOWN_STATUSES
from console.case_studies.views import MSG_CASE_STUDY_NOT_FOUND, MSG_UNKNOWN_PROGRAMME
from testing.clients import TenantAPIClient
from testing.factories import (
    HOSTILE_NAME,
    AttemptGrantFactory,
    CaseStudyFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentFactory,
)

T0 = dt.datetime(2025, 10, 6, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def page_as(host):
    """page_as(user) -> a test client on the tenant's host, signed in with a session."""

    def make(user=None):
        client = TenantAPIClient(host)
        if user is not None:
            client.force_login(user)
        return client

    return make


def _session(student, case_study, *, minutes, score=None, graded=False):
    started = T0 + dt.timedelta(minutes=minutes)
    return SessionFactory(
        student=student,
        case_study=case_study,
        started_at=started,
        last_activity_at=started + dt.timedelta(minutes=5),
        score=score,
        grading_status=Session.GradingStatus.COMPLETE if graded else Session.GradingStatus.PENDING,
    )


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Master of Business Administration")


@pytest.fixture
def case(mba):
    return CaseStudyFactory(title="Market entry in Lagos", programmes=[mba])


@pytest.fixture
def people(case, mba):
    invited = StudentFactory(first_name="Ngozi", last_name="Nwosu", programmes=[mba])
    joined = StudentFactory(first_name="Zoë", last_name="Brontë", programmes=[mba])
    completed = StudentFactory(first_name="Aïcha", last_name="Diallo", programmes=[mba])
    _session(joined, case, minutes=10)
    _session(completed, case, minutes=20, score=81.5, graded=True)
    return {"invited": invited, "joined": joined, "completed": completed}


def _participants(client, case_study, params=None):
    return client.get(f"/case-studies/{case_study.pk}/participants/", params or {})


def _names_in_order(html, people):
    positions = {name: html.find(student.student_name) for name, student in people.items()}
    return [name for name, pos in sorted(positions.items(), key=lambda item: item[1]) if pos >= 0]


# Catalogue and overview ----------------------------------------------------------------


def test_case_studies_page_lists_the_catalogue(page_as, viewer_user, case):
    CaseStudyFactory(title="Retired case", is_active=False)
    response = page_as(viewer_user).get("/case-studies/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Market entry in Lagos" in html and "Retired case" in html and "MBA1234" in html
    assert 'aria-current="page">Case studies' in html
    assert "/participants/" not in html  # a viewer cannot open the participants tab


def test_case_studies_page_searches_titles(page_as, viewer_user, case):
    CaseStudyFactory(title="Fuel subsidy reform")
    html = page_as(viewer_user).get("/case-studies/", {"search": "fuel"}).content.decode()
    assert "Fuel subsidy reform" in html and "Market entry in Lagos" not in html


def test_case_studies_page_filters_by_programme(page_as, viewer_user, case, mba):
    emba = ProgrammeFactory(code="EMBA", name="Executive MBA")
    CaseStudyFactory(title="Leading a turnaround", programmes=[emba])
    CaseStudyFactory(title="Boardroom", programmes=[emba, mba])
    client = page_as(viewer_user)
    response = client.get("/case-studies/", {"programme": "EMBA"})
    assert response.status_code == 200
    assert [c.title for c in response.context["rows"]] == ["Boardroom", "Leading a turnaround"]
    html = response.content.decode()
    assert '<option value="EMBA" selected>Executive MBA (EMBA)</option>' in html
    rows = client.get("/case-studies/", {"programme": "emba", "search": "lead"}).context["rows"]
    assert [c.title for c in rows] == ["Leading a turnaround"]
    assert "No case study of EMBA matches “zzz”" in client.get(
        "/case-studies/", {"programme": "EMBA", "search": "zzz"}
    ).content.decode()


@pytest.mark.parametrize("programme", ["NOPE", "'\"<>", "x" * 5000])
def test_case_studies_page_refuses_an_unknown_programme_with_a_400(page_as, viewer_user, case, programme):
    response = page_as(viewer_user).get("/case-studies/", {"programme": programme})
    assert response.status_code == 400
    html = response.content.decode()
    assert MSG_UNKNOWN_PROGRAMME in html and 'aria-invalid="true"' in html
    assert response.context["rows"] == []


def test_overview_counts_participants_by_status(page_as, operator_user, case, people):
    response = page_as(operator_user).get(f"/case-studies/{case.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    counts = re.findall(r'<div class="stat-value">([^<]+)</div>', html)
    assert counts == ["1", "1", "1", "81.5"]
    assert "33%</strong> of 3 participants completed" in html
    assert f'href="/case-studies/{case.pk}/participants/"' in html


def test_overview_hides_the_participants_tab_without_performance_permission(page_as, viewer_user, case):
    html = page_as(viewer_user).get(f"/case-studies/{case.pk}/").content.decode()
    assert "/participants/" not in html


# Participants tab ----------------------------------------------------------------------


def test_participants_tab_shows_joined_and_completed_by_default(page_as, operator_user, case, people):
    response = _participants(page_as(operator_user), case)
    assert response.status_code == 200
    html = response.content.decode()
    assert _names_in_order(html, people) == ["completed", "joined"]  # -joined_at
    assert "Completed</span>" in html and "Joined</span>" in html
    assert "1/2</span>" in html  # attempts used / allowed
    assert "50%" in html  # one graded attempt of two allowed


def test_participants_tab_filters_statuses_both_ways(page_as, operator_user, case, people):
    client = page_as(operator_user)
    repeated = client.get(f"/case-studies/{case.pk}/participants/?statuses=invited&statuses=joined").content.decode()
    comma = _participants(client, case, {"statuses": "invited,joined"}).content.decode()
    for html in (repeated, comma):
        assert set(_names_in_order(html, people)) == {"invited", "joined"}
        assert re.search(r'value="invited" checked', html) and not re.search(r'value="completed" checked', html)


def test_participants_tab_searches_name_or_email(page_as, operator_user, case, people):
    html = _participants(page_as(operator_user), case, {"search": "AÏCHA", "statuses": "invited,joined,completed"})
    assert _names_in_order(html.content.decode(), people) == ["completed"]


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("name", ["completed", "invited", "joined"]),
        ("-name", ["joined", "invited", "completed"]),
        ("joined_at", ["joined", "completed", "invited"]),
        ("-joined_at", ["completed", "joined", "invited"]),
        ("last_active_at", ["joined", "completed", "invited"]),
        ("-last_active_at", ["completed", "joined", "invited"]),
        ("best_score", ["completed", "invited", "joined"]),
        ("-best_score", ["completed", "invited", "joined"]),
    ],
)
def test_participants_tab_orders_like_the_api(page_as, operator_user, case, people, ordering, expected):
    response = _participants(page_as(operator_user), case, {"ordering": ordering, "statuses": "invited,joined,completed"})
    html = response.content.decode()
    if ordering.lstrip("-") == "best_score":
        # only one best score: the rest are null (last either way) and tie-break on user_id
        nulls = sorted(["invited", "joined"], key=lambda name: people[name].pk)
        expected = ["completed"] + nulls
    assert _names_in_order(html, people) == expected


def test_sort_headers_toggle_direction_and_keep_filters(page_as, operator_user, case, people):
    html = _participants(page_as(operator_user), case, {"ordering": "name", "search": "a"}).content.decode()
    assert 'aria-sort="ascending"' in html
    assert "ordering=-name" in html and "search=a" in html
    assert "ordering=-joined_at" in html  # another column's first click


@pytest.mark.parametrize(
    "params, message",
    [
        ({"statuses": "manager"}, MSG_UNKNOWN_STATUSES.format(values="manager")),
        ({"ordering": "email"}, MSG_UNKNOWN_ORDERING.format(value="email")),
    ],
)
def test_participants_tab_explains_bad_filters(page_as, operator_user, case, params, message):
    response = _participants(page_as(operator_user), case, params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_participants_tab_escapes_hostile_names(page_as, operator_user, case):
    student = StudentFactory(first_name=HOSTILE_NAME, last_name="<b>bold</b>")
    _session(student, case, minutes=0)
    html = _participants(page_as(operator_user), case).content.decode()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_participants_tab_past_the_last_page_shows_the_last_page(page_as, operator_user, case, people):
    response = _participants(page_as(operator_user), case, {"page": 40})
    assert response.status_code == 200
    assert "Aïcha Diallo" in response.content.decode()


# Access --------------------------------------------------------------------------------


def test_unknown_case_study_pages_are_404(page_as, operator_user):
    client = page_as(operator_user)
    for url in ("/case-studies/5f0000000000000000000000/", "/case-studies/5f0000000000000000000000/participants/"):
        response = client.get(url)
        assert response.status_code == 404 and MSG_CASE_STUDY_NOT_FOUND in response.content.decode()


def test_case_study_pages_redirect_anonymous_to_login(page_as, case):
    client = page_as(None)
    for url in ("/case-studies/", f"/case-studies/{case.pk}/", f"/case-studies/{case.pk}/participants/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_participants_tab_is_403_without_performance_permission(page_as, viewer_user, case):
    response = _participants(page_as(viewer_user), case)
    assert response.status_code == 403 and "staff who may read transcripts and grade reports" in response.content.decode()


def test_case_study_pages_are_403_without_view_permission(page_as, ingest_user, case):
    client = page_as(ingest_user)
    for url in ("/case-studies/", f"/case-studies/{case.pk}/"):
        assert client.get(url).status_code == 403


def test_case_study_of_another_tenant_is_not_found(other_tenant, other_tenant_user, other_host, case, people):
    with schema_context(other_tenant.schema_name):
        client = TenantAPIClient(other_host)
        client.force_login(other_tenant_user)
    assert client.get(f"/case-studies/{case.pk}/participants/").status_code == 404
    assert client.get(f"/case-studies/{case.pk}/").status_code == 404
    assert "Market entry in Lagos" not in client.get("/case-studies/").content.decode()


# Query counts --------------------------------------------------------------------------


@pytest.mark.parametrize("n_students", [3, 30])
def test_participants_tab_query_count_does_not_grow_with_rows(
    page_as, operator_user, case, mba, django_assert_num_queries, n_students
):
    for index, student in enumerate(StudentFactory.create_batch(n_students, programmes=[mba])):
        _session(student, case, minutes=index, score=40 + index, graded=index % 2 == 0)
        if index % 4 == 0:
            AttemptGrantFactory(student=student, case_study=case, delta=1)
    client = page_as(operator_user)
    # session, user with roles; case study, its programmes, the page with its total
    with django_assert_num_queries(5):
        response = _participants(client, case, {"page_size": 50, "statuses": "invited,joined,completed"})
    assert response.status_code == 200
    assert response.content.decode().count('<a class="cell-title" href="/students/') == n_students


@pytest.mark.parametrize("n_students", [3, 30])
def test_overview_query_count_does_not_grow_with_participants(
    page_as, operator_user, case, mba, django_assert_num_queries, n_students
):
    for index, student in enumerate(StudentFactory.create_batch(n_students, programmes=[mba])):
        _session(student, case, minutes=index, score=50, graded=True)
    client = page_as(operator_user)
    # session, user with roles; case study, its programmes, the summary
    with django_assert_num_queries(5):
        assert client.get(f"/case-studies/{case.pk}/").status_code == 200


@pytest.mark.parametrize("n_case_studies", [2, 12])
def test_case_studies_page_query_count_does_not_grow_with_rows(
    page_as, viewer_user, mba, django_assert_num_queries, n_case_studies
):
    CaseStudyFactory.create_batch(n_case_studies, programmes=[mba, ProgrammeFactory()])
    client = page_as(viewer_user)
    # session, user with roles; programme options, count, page, the page's programmes
    with django_assert_num_queries(6):
        assert client.get("/case-studies/").status_code == 200
