"""GET /v1/student-groups/{id}/results: a group's aggregated results."""
import datetime as dt

import pytest
from django.utils import timezone

from attempts.models import Session
from students.models import GroupMembership, Student
from testing.factories import (
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


def _session(student, case_study, *, minutes, score=None, graded=False, transcript="available"):
    started = T0 + dt.timedelta(minutes=minutes)
    return SessionFactory(
        student=student,
        case_study=case_study,
        started_at=started,
        last_activity_at=started + dt.timedelta(minutes=5),
        score=score,
        grading_status=Session.GradingStatus.COMPLETE if graded else Session.GradingStatus.PENDING,
        transcript_status=transcript,
    )


def _results(client, group):
    response = client.get(f"/v1/student-groups/{group.pk}/results")
    assert response.status_code == 200, response.json()
    return response.json()["data"]


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Master of Business Administration")


@pytest.fixture
def group():
    return StudentGroupFactory(name="Lagos cohort", cluster=StudentClusterFactory(name="Year 2"))


def test_group_of_members_who_never_attempted_anything(viewer_client, group, mba):
    assigned = CaseStudyFactory(title="Market entry in Lagos", programmes=[mba])
    CaseStudyFactory(title="Retired case", programmes=[mba], is_active=False)
    CaseStudyFactory(title="Other programme's case", programmes=[ProgrammeFactory(code="LAW0001")])
    first = StudentFactory(first_name="Chidinma", last_name="Okafọr", programmes=[mba])
    second = StudentFactory(first_name="Zoë", last_name="Brontë", programmes=[mba], status=Student.Status.INACTIVE)
    _members(group, first, second)

    data = _results(viewer_client, group)

    assert data["group_id"] == group.pk and data["group_name"] == "Lagos cohort"
    assert (data["member_count"], data["active_members"], data["last_activity_at"]) == (2, 1, None)
    assert data["case_studies"] == [
        {
            "case_study_id": assigned.pk,
            "case_study_title": "Market entry in Lagos",
            "is_active": True,
            "members_in_scope": 2,
            "members_assigned": 2,
            "members_attempted": 0,
            "members_completed": 0,
            "attempts_used": 0,
            "average_best_score": None,
            "best_score": None,
            "completion_rate": 0.0,
            "last_activity_at": None,
        }
    ]


def test_empty_group_has_zero_members_and_no_case_studies(viewer_client, group):
    data = _results(viewer_client, group)
    assert (data["member_count"], data["active_members"], data["case_studies"]) == (0, 0, [])


def test_results_aggregate_members_best_scores_attempts_and_completion(viewer_client, group, mba):
    case = CaseStudyFactory(title="Fuel subsidy reform", programmes=[mba])
    ada = StudentFactory(first_name="Ngozi", last_name="Adébáyọ̀", programmes=[mba])
    bo = StudentFactory(first_name="Søren", last_name="Kierkegård", programmes=[mba])
    cy = StudentFactory(first_name="José", last_name="García")  # not assigned, but attempted
    _members(group, ada, bo, cy)
    _session(ada, case, minutes=0, score=60, graded=True)
    _session(ada, case, minutes=60, score=80, graded=True)
    _session(ada, case, minutes=120, transcript="missing")  # technical failure: no attempt used
    _session(bo, case, minutes=30, score=95)  # scored but not graded: not a best score
    last = _session(cy, case, minutes=200, score=90, graded=True, transcript="failed")
    outsider = StudentFactory()
    _session(outsider, case, minutes=300, score=100, graded=True)

    data = _results(viewer_client, group)

    assert data["member_count"] == 3
    assert data["last_activity_at"] == last.last_activity_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    (row,) = data["case_studies"]
    assert row["case_study_id"] == case.pk
    assert (row["members_in_scope"], row["members_assigned"], row["members_attempted"]) == (3, 2, 3)
    assert row["members_completed"] == 2
    assert row["attempts_used"] == 3  # ada 2 (the missing transcript is free), bo 1, cy 0 (failed transcript)
    assert row["average_best_score"] == 85.0  # mean of ada's 80 and cy's 90
    assert row["best_score"] == 90.0
    assert row["completion_rate"] == round(2 / 3, 4)
    assert row["last_activity_at"] == last.last_activity_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_inactive_case_study_is_listed_when_a_member_attempted_it(viewer_client, group, mba):
    retired = CaseStudyFactory(title="Retired case", is_active=False)
    member = StudentFactory()
    _members(group, member)
    _session(member, retired, minutes=0)
    (row,) = _results(viewer_client, group)["case_studies"]
    assert row["case_study_id"] == retired.pk and row["is_active"] is False
    assert (row["members_in_scope"], row["members_assigned"], row["members_attempted"]) == (1, 0, 1)


def test_case_studies_are_ordered_by_title(viewer_client, group, mba):
    CaseStudyFactory(title="Zambezi logistics", programmes=[mba])
    CaseStudyFactory(title="árbol de decisiones", programmes=[mba])
    CaseStudyFactory(title="Bank run", programmes=[mba])
    _members(group, StudentFactory(programmes=[mba]))
    titles = [c["case_study_title"] for c in _results(viewer_client, group)["case_studies"]]
    assert titles == sorted(titles, key=str.lower)


def test_archived_and_deleted_members_are_left_out_of_every_figure(viewer_client, group, mba):
    case = CaseStudyFactory(programmes=[mba])
    kept = StudentFactory(programmes=[mba])
    archived = StudentFactory(programmes=[mba])
    deleted = StudentFactory(programmes=[mba])
    _members(group, kept, archived, deleted)
    _session(kept, case, minutes=0, score=50, graded=True)
    _session(archived, case, minutes=10, score=99, graded=True)
    _session(deleted, case, minutes=20, score=98, graded=True)
    Student.objects.filter(pk=archived.pk).update(archived=True)
    Student.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())

    data = _results(viewer_client, group)

    assert (data["member_count"], data["active_members"]) == (1, 1)
    (row,) = data["case_studies"]
    assert (row["members_in_scope"], row["members_attempted"], row["attempts_used"]) == (1, 1, 1)
    assert (row["best_score"], row["average_best_score"], row["completion_rate"]) == (50.0, 50.0, 1.0)


@pytest.mark.parametrize("n_members", [2, 25])
def test_results_query_count_does_not_grow_with_members(
    viewer_client, group, mba, django_assert_num_queries, n_members
):
    cases = [CaseStudyFactory(programmes=[mba]) for _ in range(3)]
    students = StudentFactory.create_batch(n_members, programmes=[mba])
    _members(group, *students)
    for index, student in enumerate(students):
        _session(student, cases[index % 3], minutes=index, score=50 + index % 40, graded=index % 2 == 0)
    # the token with its user and roles (one query), group (with member_count), summary
    # aggregate, per-case-study aggregate
    with django_assert_num_queries(4):
        data = _results(viewer_client, group)
    assert data["member_count"] == n_members and len(data["case_studies"]) == 3


def test_results_allowed_for_viewers_denied_without_view_permission(viewer_client, ingest_client, group):
    assert viewer_client.get(f"/v1/student-groups/{group.pk}/results/").status_code == 200
    response = ingest_client.get(f"/v1/student-groups/{group.pk}/results")
    assert response.status_code == 403 and response.json()["code"] == "PERMISSION_DENIED"


def test_results_need_credentials(anon_client, group):
    response = anon_client.get(f"/v1/student-groups/{group.pk}/results")
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_results_of_another_tenants_group_are_invisible(other_tenant_client, group):
    response = other_tenant_client.get(f"/v1/student-groups/{group.pk}/results")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_results_of_unknown_group_is_404(viewer_client):
    assert viewer_client.get("/v1/student-groups/5f0000000000000000000000/results").status_code == 404


def test_results_of_several_groups_keep_each_groups_members_apart(mba):
    from attempts.group_results.selectors import student_groups_results

    case = CaseStudyFactory(programmes=[mba])
    shared = StudentFactory(programmes=[mba])
    only_first = StudentFactory(programmes=[mba])
    first = StudentGroupFactory(name="First")
    second = StudentGroupFactory(name="Second")
    empty = StudentGroupFactory(name="Empty")
    _members(first, shared, only_first)
    _members(second, shared)
    _session(shared, case, minutes=0, score=70, graded=True)
    _session(only_first, case, minutes=5, score=40, graded=True)

    results = student_groups_results(groups=[first, second, empty])

    assert results[first.pk]["member_count"] == 2 and results[second.pk]["member_count"] == 1
    (a,) = results[first.pk]["case_studies"]
    (b,) = results[second.pk]["case_studies"]
    assert (a["members_attempted"], a["average_best_score"], a["best_score"]) == (2, 55.0, 70.0)
    assert (b["members_attempted"], b["average_best_score"], b["best_score"]) == (1, 70.0, 70.0)
    assert results[empty.pk] == {
        "group_id": empty.pk,
        "group_name": "Empty",
        "student_cluster_id": empty.cluster_id,
        "member_count": 0,
        "active_members": 0,
        "last_activity_at": None,
        "case_studies": [],
    }
