"""Console pages for groups: /groups/ (each group with its results) and /groups/<id>/."""
import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from attempts.models import Session
from console.groups.views import MEMBER_PAGE_SIZE, MSG_GROUP_NOT_FOUND, RESULTS_PAGE_SIZE
from students.models import GroupMembership, Student
from testing.clients import TenantAPIClient
from testing.factories import (
    HOSTILE_NAME,
    CaseStudyFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentClusterFactory,
    StudentFactory,
    StudentGroupFactory,
)

T0 = dt.datetime(2025, 10, 6, 9, 0, tzinfo=dt.timezone.utc)


def _members(group, *students):
    for student in students:
        GroupMembership.objects.create(group=group, student=student)


def _graded(student, case_study, score, minutes=0):
    started = T0 + dt.timedelta(minutes=minutes)
    return SessionFactory(
        student=student,
        case_study=case_study,
        started_at=started,
        last_activity_at=started,
        score=score,
        grading_status=Session.GradingStatus.COMPLETE,
    )


@pytest.fixture
def page_as(host):
    """page_as(user) -> a test client on the tenant's host, signed in with a session."""

    def make(user=None):
        client = TenantAPIClient(host)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Master of Business Administration")


@pytest.fixture
def group(mba):
    group = StudentGroupFactory(name="Lagos cohort", cluster=StudentClusterFactory(name="Year 2"))
    case = CaseStudyFactory(title="Fuel subsidy reform", programmes=[mba])
    ada = StudentFactory(first_name="Chidinma", last_name="Okafọr", programmes=[mba])
    bo = StudentFactory(first_name="Zoë", last_name="Brontë", programmes=[mba])
    _members(group, ada, bo)
    _graded(ada, case, 80)
    return group


def test_groups_page_lists_groups_with_a_summary_and_a_link_to_their_results(page_as, viewer_user, group):
    StudentGroupFactory(name="Empty seminar", cluster=group.cluster)
    response = page_as(viewer_user).get("/groups/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lagos cohort" in html and "Empty seminar" in html
    # A summary per group, not its results table: one of two members in scope completed.
    assert "<strong>50%</strong> completed across 1 case study" in html
    assert "1 of 2 member–case study pairs; 1 attempt used" in html
    assert "Fuel subsidy reform" not in html
    assert "No members yet." in html
    assert f'href="/groups/{group.pk}/">Results by case study' in html
    assert 'aria-current="page">Groups' in html
    results = page_as(viewer_user).get(f"/groups/{group.pk}/").content.decode()
    assert "Fuel subsidy reform" in results


def test_groups_page_filters_by_cluster_and_name(page_as, viewer_user, group):
    StudentGroupFactory(name="Audit trainees", cluster=StudentClusterFactory(name="Audit"))
    client = page_as(viewer_user)
    html = client.get("/groups/", {"cluster": group.cluster_id}).content.decode()
    assert "Lagos cohort" in html and "Audit trainees" not in html
    html = client.get("/groups/", {"search": "audit"}).content.decode()
    assert "Audit trainees" in html and "Lagos cohort" not in html
    html = client.get("/groups/", {"search": "nothing like it"}).content.decode()
    assert "No groups match these filters" in html


def test_groups_page_escapes_hostile_names(page_as, viewer_user):
    StudentGroupFactory(name=HOSTILE_NAME + "<script>x</script>")
    html = page_as(viewer_user).get("/groups/").content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html


def test_groups_page_past_the_last_page_shows_the_last_page(page_as, viewer_user, group):
    response = page_as(viewer_user).get("/groups/", {"page": 99})
    assert response.status_code == 200 and "Lagos cohort" in response.content.decode()


def test_group_page_shows_results_and_members_without_archived_or_deleted(page_as, viewer_user, group):
    archived = StudentFactory(first_name="Søren", last_name="Kierkegård")
    deleted = StudentFactory(first_name="Łukasz", last_name="Wałęsa")
    _members(group, archived, deleted)
    Student.objects.filter(pk=archived.pk).update(archived=True)
    Student.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    response = page_as(viewer_user).get(f"/groups/{group.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chidinma Okafọr" in html and "Zoë Brontë" in html
    assert "Søren" not in html and "Łukasz" not in html
    assert "Fuel subsidy reform" in html and "2 members" in html


def test_group_page_pages_its_results_and_its_members_apart(page_as, viewer_user, mba):
    """45 case studies and 60 members made a page 20,000 px tall on a phone (issue 33): the
    results come 15 case studies a page (`results_page`), the members 50 (`page`), and each
    pager keeps the other's place."""
    group = StudentGroupFactory()
    studies = [CaseStudyFactory(title=f"Case {n:02}", programmes=[mba]) for n in range(RESULTS_PAGE_SIZE * 3)]
    _members(group, *StudentFactory.create_batch(MEMBER_PAGE_SIZE + 10, programmes=[mba]))
    client = page_as(viewer_user)
    html = client.get(f"/groups/{group.pk}/", {"results_page": 2, "page": 2}).content.decode()
    shown = [s.title for s in studies if s.title in html]
    assert shown == [f"Case {n:02}" for n in range(RESULTS_PAGE_SIZE, RESULTS_PAGE_SIZE * 2)]
    assert '<nav class="pager" aria-label="Case study pages">' in html
    assert '<nav class="pager" aria-label="Member pages">' in html
    assert 'href="?results_page=3&amp;page=2"' in html  # the results' next page keeps the members' page
    assert 'href="?results_page=2&amp;page=1"' in html  # and the members' first page the results'
    assert html.count('class="cell-title"') == 10
    assert ">45</div><div class=\"stat-label\">Case studies<" in html  # the total, not the page's
    for bad in ("0", "-1", "x", "99"):
        response = client.get(f"/groups/{group.pk}/", {"results_page": bad})
        assert response.status_code == 200


def test_unknown_group_page_is_404(page_as, viewer_user):
    response = page_as(viewer_user).get("/groups/5f0000000000000000000000/")
    assert response.status_code == 404 and MSG_GROUP_NOT_FOUND in response.content.decode()


def test_groups_pages_redirect_anonymous_to_login(page_as, group):
    client = page_as(None)
    for url in ("/groups/", f"/groups/{group.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_groups_pages_are_403_without_view_permission(page_as, ingest_user, group):
    client = page_as(ingest_user)
    for url in ("/groups/", f"/groups/{group.pk}/"):
        response = client.get(url)
        assert response.status_code == 403 and "staff who may see students and their records" in response.content.decode()


def test_group_of_another_tenant_is_not_found(other_tenant, other_tenant_user, other_host, group):
    with schema_context(other_tenant.schema_name):
        client = TenantAPIClient(other_host)
        client.force_login(other_tenant_user)
    assert client.get(f"/groups/{group.pk}/").status_code == 404
    assert "Lagos cohort" not in client.get("/groups/").content.decode()


@pytest.mark.parametrize("n_groups", [2, 8])
def test_groups_page_query_count_does_not_grow_with_groups(
    page_as, viewer_user, mba, django_assert_num_queries, n_groups
):
    case = CaseStudyFactory(programmes=[mba])
    for index in range(n_groups):
        group = StudentGroupFactory(cluster=StudentClusterFactory())
        students = StudentFactory.create_batch(3, programmes=[mba])
        _members(group, *students)
        _graded(students[0], case, 50 + index)
    client = page_as(viewer_user)
    # session, user with roles; cluster options, count, page of groups, member summaries,
    # per-(group, case study) results
    with django_assert_num_queries(7):
        response = client.get("/groups/")
    assert response.status_code == 200
    assert response.content.decode().count('<section class="panel" aria-labelledby="group-') == n_groups


@pytest.mark.parametrize("n_members", [2, 20])
def test_group_page_query_count_does_not_grow_with_members(
    page_as, viewer_user, mba, django_assert_num_queries, n_members
):
    group = StudentGroupFactory()
    case = CaseStudyFactory(programmes=[mba])
    students = StudentFactory.create_batch(n_members, programmes=[mba])
    _members(group, *students)
    for index, student in enumerate(students):
        _graded(student, case, 40 + index)
    client = page_as(viewer_user)
    # session, user with roles; group, cluster, member summary, results, members count, members page
    with django_assert_num_queries(8):
        response = client.get(f"/groups/{group.pk}/")
    assert response.status_code == 200
