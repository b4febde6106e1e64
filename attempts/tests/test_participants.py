"""GET /v1/case-studies/{case_study_id}/users/: the participants dashboard."""
import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from attempts.models import Session
from attempts.participants.selectors import MSG_UNKNOWN_ORDERING, MSG_UNKNOWN_STATUSES, completion_rate
from students.models import Student
from testing.factories import (
    AttemptGrantFactory,
    CaseStudyFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentFactory,
)

T0 = dt.datetime(2025, 10, 6, 9, 0, tzinfo=dt.timezone.utc)
RESULT_KEYS = {
    "user_id",
    "student_name",
    "student_email",
    "join_status",
    "joined_at",
    "last_active_at",
    "attempts_used",
    "attempts_allowed",
    "best_score",
    "completion_rate",
}


def _iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _session(student, case_study, *, minutes, score=None, graded=False, transcript="available", active_for=5):
    started = T0 + dt.timedelta(minutes=minutes)
    return SessionFactory(
        student=student,
        case_study=case_study,
        started_at=started,
        last_activity_at=started + dt.timedelta(minutes=active_for),
        score=score,
        grading_status=Session.GradingStatus.COMPLETE if graded else Session.GradingStatus.PENDING,
        transcript_status=transcript,
    )


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Master of Business Administration")


@pytest.fixture
def case(mba):
    return CaseStudyFactory(title="Market entry in Lagos", programmes=[mba], max_attempts=2)


def _url(case_study):
    return f"/v1/case-studies/{case_study.pk}/users/"


def _get(client, case_study, params=None, *, slash=True):
    url = _url(case_study) if slash else _url(case_study).rstrip("/")
    response = client.get(url, params or {})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["success"] is True and body["message"] is None
    return body["data"]


def _ids(data):
    return [row["user_id"] for row in data["results"]]


def _bad(client, case_study, params, field):
    response = client.get(_url(case_study), params)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and field in body["errors"], body
    return body["errors"][field]


# join_status boundaries ----------------------------------------------------------------


@pytest.fixture
def three_kinds(case, mba):
    """One student per join_status boundary."""
    invited = StudentFactory(first_name="Amara", last_name="Nwosu", programmes=[mba])
    joined = StudentFactory(first_name="Łukasz", last_name="Wałęsa", programmes=[mba])
    completed = StudentFactory(first_name="Aïcha", last_name="Diallo")  # not assigned, but attempted
    _session(joined, case, minutes=10, score=70)  # scored but grading pending: still only joined
    _session(completed, case, minutes=20, score=81.5, graded=True)
    return invited, joined, completed


def test_assigned_student_who_never_started_is_invited(operator_client, case, three_kinds):
    invited, _, _ = three_kinds
    data = _get(operator_client, case, {"statuses": "invited"})
    assert data["count"] == 1
    (row,) = data["results"]
    assert row == {
        "user_id": invited.pk,
        "student_name": "Amara Nwosu",
        "student_email": invited.email,
        "join_status": "invited",
        "joined_at": None,
        "last_active_at": None,
        "attempts_used": 0,
        "attempts_allowed": 2,
        "best_score": None,
        "completion_rate": 0.0,
    }


def test_student_with_a_session_and_nothing_graded_is_joined(operator_client, case, three_kinds):
    _, joined, _ = three_kinds
    (row,) = _get(operator_client, case, {"statuses": "joined"})["results"]
    assert row["user_id"] == joined.pk and row["join_status"] == "joined"
    assert row["joined_at"] == _iso(T0 + dt.timedelta(minutes=10))
    assert row["last_active_at"] == _iso(T0 + dt.timedelta(minutes=15))
    assert (row["attempts_used"], row["best_score"], row["completion_rate"]) == (1, None, 0.0)


def test_student_with_a_graded_attempt_is_completed(operator_client, case, three_kinds):
    _, _, completed = three_kinds
    (row,) = _get(operator_client, case, {"statuses": "completed"})["results"]
    assert row["user_id"] == completed.pk and row["join_status"] == "completed"
    assert (row["attempts_used"], row["best_score"], row["completion_rate"]) == (1, 81.5, 0.5)


def test_unassigned_student_without_sessions_is_not_a_participant(operator_client, case, three_kinds):
    outsider = StudentFactory()
    data = _get(operator_client, case, {"statuses": "invited,joined,completed"})
    assert data["count"] == 3 and outsider.pk not in _ids(data)


def test_default_statuses_are_joined_and_completed(operator_client, case, three_kinds):
    _, joined, completed = three_kinds
    data = _get(operator_client, case)
    assert set(_ids(data)) == {joined.pk, completed.pk}
    assert set(data["results"][0]) == RESULT_KEYS


def test_statuses_as_repeated_parameter_and_as_comma_string_agree(operator_client, case, three_kinds):
    invited, joined, _ = three_kinds
    repeated = operator_client.get(_url(case) + "?statuses=invited&statuses=joined").json()["data"]
    comma = _get(operator_client, case, {"statuses": "invited,joined"})
    mixed = operator_client.get(_url(case) + "?statuses=invited,%20JOINED&statuses=").json()["data"]
    assert set(_ids(repeated)) == set(_ids(comma)) == set(_ids(mixed)) == {invited.pk, joined.pk}


def test_blank_statuses_fall_back_to_the_default(operator_client, case, three_kinds):
    _, joined, completed = three_kinds
    assert set(_ids(_get(operator_client, case, {"statuses": ""}))) == {joined.pk, completed.pk}


def test_unknown_status_is_400(operator_client, case):
    assert _bad(operator_client, case, {"statuses": "joined,manager"}, "statuses") == [
        MSG_UNKNOWN_STATUSES.format(values="manager")
    ]


def test_other_case_studies_do_not_leak_in(operator_client, case, mba):
    other = CaseStudyFactory(title="Fuel subsidy reform")
    student = StudentFactory()
    _session(student, other, minutes=0, score=99, graded=True)
    assert _get(operator_client, case)["count"] == 0


# Per-student figures ------------------------------------------------------------------


def test_attempts_use_consuming_sessions_and_best_score_graded_ones(operator_client, case, mba):
    student = StudentFactory(programmes=[mba])
    _session(student, case, minutes=0, score=55, graded=True)
    _session(student, case, minutes=60, score=72, graded=True, active_for=30)
    _session(student, case, minutes=120, transcript="missing")  # technical failure: free
    _session(student, case, minutes=180, score=99, transcript="failed")  # not graded, free
    (row,) = _get(operator_client, case)["results"]
    assert row["joined_at"] == _iso(T0)
    assert row["last_active_at"] == _iso(T0 + dt.timedelta(minutes=185))
    assert (row["attempts_used"], row["best_score"]) == (2, 72.0)
    assert row["completion_rate"] == 1.0  # 2 graded / 2 allowed


def test_attempts_allowed_adds_granted_extra_attempts_never_below_base(operator_client, case, mba):
    granted = StudentFactory(programmes=[mba])
    over_revoked = StudentFactory(programmes=[mba])
    for student in (granted, over_revoked):
        _session(student, case, minutes=0, score=60, graded=True)
    AttemptGrantFactory(student=granted, case_study=case, delta=3)
    AttemptGrantFactory(student=granted, case_study=case, delta=-1)
    AttemptGrantFactory(student=over_revoked, case_study=case, delta=-2)  # a bad ledger never goes below 0
    AttemptGrantFactory(student=granted, case_study=CaseStudyFactory(), delta=5)  # another case study
    rows = {row["user_id"]: row for row in _get(operator_client, case)["results"]}
    assert rows[granted.pk]["attempts_allowed"] == 4
    assert rows[granted.pk]["completion_rate"] == 0.25
    assert rows[over_revoked.pk]["attempts_allowed"] == 2


def test_completion_rate_is_capped_rounded_and_zero_without_allowance():
    assert completion_rate(1, 3) == 0.3333
    assert completion_rate(5, 2) == 1.0
    assert completion_rate(3, 0) == 0.0


def test_zero_allowed_attempts_give_zero_completion_rate(operator_client, mba):
    closed = CaseStudyFactory(programmes=[mba], max_attempts=0)
    _session(StudentFactory(), closed, minutes=0, score=60, graded=True)
    (row,) = _get(operator_client, closed)["results"]
    assert (row["attempts_allowed"], row["completion_rate"]) == (0, 0.0)


def test_archived_and_deleted_students_are_excluded(operator_client, case, mba):
    kept = StudentFactory(programmes=[mba])
    archived = StudentFactory(programmes=[mba])
    deleted = StudentFactory(programmes=[mba])
    for index, student in enumerate((kept, archived, deleted)):
        _session(student, case, minutes=index)
    Student.objects.filter(pk=archived.pk).update(archived=True)
    Student.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    assert _ids(_get(operator_client, case, {"statuses": "invited,joined,completed"})) == [kept.pk]


# Search --------------------------------------------------------------------------------


def test_search_matches_name_or_email_case_insensitively(operator_client, case, mba):
    zoe = StudentFactory(first_name="Zoë", last_name="Brontë", email="zbronte@uni.example", programmes=[mba])
    jose = StudentFactory(first_name="José", last_name="García", email="jg@uni.example", programmes=[mba])
    for index, student in enumerate((zoe, jose)):
        _session(student, case, minutes=index)
    assert _ids(_get(operator_client, case, {"search": "zoË bRO"})) == [zoe.pk]
    assert _ids(_get(operator_client, case, {"search": "JG@UNI"})) == [jose.pk]
    assert _ids(_get(operator_client, case, {"search": "garcía"})) == [jose.pk]
    assert _get(operator_client, case, {"search": "%"})["count"] == 0  # wildcards are literal
    assert _get(operator_client, case, {"search": "  "})["count"] == 2


def test_overlong_search_is_400(operator_client, case):
    _bad(operator_client, case, {"search": "x" * 201}, "search")


# Ordering ------------------------------------------------------------------------------


@pytest.fixture
def ordered(case, mba):
    """Four participants with distinct values per key, and one invited student with none."""
    people = {}
    specs = [
        # name, joined minute, active for, best score
        ("Bello", "Tunde", 30, 100, 88.0),
        ("Okafọr", "Chidinma", 10, 5, None),
        ("Umar", "Abdulwahab", 20, 200, 41.0),
        ("Adébáyọ̀", "Ngozi", 40, 1, 63.0),
    ]
    for last, first, minute, active_for, best in specs:
        student = StudentFactory(first_name=first, last_name=last, programmes=[mba])
        _session(student, case, minutes=minute, score=best, graded=best is not None, active_for=active_for)
        people[first] = student
    people["Amara"] = StudentFactory(first_name="Amara", last_name="Zulu", programmes=[mba])  # invited
    return people


ALL_STATUSES = {"statuses": "invited,joined,completed"}


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("joined_at", ["Chidinma", "Abdulwahab", "Tunde", "Ngozi", "Amara"]),
        ("-joined_at", ["Ngozi", "Tunde", "Abdulwahab", "Chidinma", "Amara"]),
        ("last_active_at", ["Chidinma", "Ngozi", "Tunde", "Abdulwahab", "Amara"]),
        ("-last_active_at", ["Abdulwahab", "Tunde", "Ngozi", "Chidinma", "Amara"]),
        ("name", ["Abdulwahab", "Amara", "Chidinma", "Ngozi", "Tunde"]),
        ("-name", ["Tunde", "Ngozi", "Chidinma", "Amara", "Abdulwahab"]),
        ("best_score", ["Abdulwahab", "Ngozi", "Tunde", "Chidinma", "Amara"]),
        ("-best_score", ["Tunde", "Ngozi", "Abdulwahab", "Chidinma", "Amara"]),
    ],
)
def test_each_ordering_in_both_directions_with_nulls_last(operator_client, case, ordered, ordering, expected):
    data = _get(operator_client, case, {**ALL_STATUSES, "ordering": ordering})
    by_id = {student.pk: first for first, student in ordered.items()}
    assert [by_id[user_id] for user_id in _ids(data)] == expected


def test_default_ordering_is_latest_joined_first(operator_client, case, ordered):
    data = _get(operator_client, case)
    assert _ids(data) == [ordered[name].pk for name in ("Ngozi", "Tunde", "Abdulwahab", "Chidinma")]


def test_ties_break_on_user_id_so_pages_never_overlap(operator_client, case, mba):
    students = StudentFactory.create_batch(7, programmes=[mba])
    for student in students:
        _session(student, case, minutes=0)  # identical joined_at for everyone
    seen = []
    for offset in range(0, 7, 3):
        seen += _ids(_get(operator_client, case, {"limit": 3, "offset": offset}))
    assert seen == sorted(s.pk for s in students)


def test_unknown_ordering_is_400(operator_client, case):
    assert _bad(operator_client, case, {"ordering": "email"}, "ordering") == [MSG_UNKNOWN_ORDERING.format(value="email")]
    _bad(operator_client, case, {"ordering": "--name"}, "ordering")


# Paging --------------------------------------------------------------------------------


def test_next_and_previous_are_absolute_urls_keeping_other_parameters(operator_client, case, mba):
    for index, student in enumerate(StudentFactory.create_batch(5, programmes=[mba])):
        _session(student, case, minutes=index)
    first = _get(operator_client, case, {"limit": 2, "search": "uni", "ordering": "name"})
    assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
    following = urlparse(first["next"])
    assert (following.scheme, following.netloc, following.path) == ("http", "test.localhost", _url(case))
    assert parse_qs(following.query) == {"limit": ["2"], "search": ["uni"], "ordering": ["name"], "offset": ["2"]}

    middle = operator_client.get(first["next"]).json()["data"]
    assert parse_qs(urlparse(middle["previous"]).query) == {"limit": ["2"], "search": ["uni"], "ordering": ["name"]}
    assert parse_qs(urlparse(middle["next"]).query)["offset"] == ["4"]
    last = operator_client.get(middle["next"]).json()["data"]
    assert last["next"] is None and len(last["results"]) == 1
    assert parse_qs(urlparse(last["previous"]).query)["offset"] == ["2"]


def test_repeated_statuses_survive_in_page_links(operator_client, case, mba):
    for index, student in enumerate(StudentFactory.create_batch(3, programmes=[mba])):
        _session(student, case, minutes=index)
    data = operator_client.get(_url(case) + "?statuses=joined&statuses=invited&limit=1").json()["data"]
    assert parse_qs(urlparse(data["next"]).query)["statuses"] == ["joined", "invited"]


def test_offset_past_the_end_is_an_empty_page_with_the_count(
    operator_client, case, mba, django_assert_num_queries
):
    _session(StudentFactory(programmes=[mba]), case, minutes=0)
    # the token with its user and roles (one query), case study, page (no row to carry the total),
    # count
    with django_assert_num_queries(4):
        data = _get(operator_client, case, {"offset": 50})
    assert (data["count"], data["results"], data["next"]) == (1, [], None)
    assert parse_qs(urlparse(data["previous"]).query)["offset"] == ["30"]


def test_limit_defaults_to_twenty(operator_client, case, mba):
    students = Student.objects.bulk_create(
        [Student(first_name="Søren", last_name=f"K {i:02d}", email=f"sk{i}@uni.example") for i in range(25)]
    )
    Session.objects.bulk_create(
        [Session(student=s, case_study=case, started_at=T0, last_activity_at=T0) for s in students]
    )
    data = _get(operator_client, case)
    assert data["count"] == 25 and len(data["results"]) == 20


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
    ],
)
def test_bad_paging_is_400_naming_the_field(operator_client, case, params, field):
    _bad(operator_client, case, params, field)


# Case study, permissions, tenants ------------------------------------------------------


def test_answers_with_and_without_trailing_slash(operator_client, case):
    assert _get(operator_client, case, slash=False)["count"] == _get(operator_client, case)["count"] == 0


def test_unknown_case_study_is_404(operator_client):
    response = operator_client.get("/v1/case-studies/5f0000000000000000000000/users/")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_malformed_case_study_id_is_400(operator_client):
    response = operator_client.get("/v1/case-studies/bad%20id/users")
    assert response.status_code == 400 and "case_study_id" in response.json()["errors"]


def test_viewer_without_performance_permission_is_403(viewer_client, case):
    response = viewer_client.get(_url(case))
    assert response.status_code == 403 and response.json()["code"] == "PERMISSION_DENIED"


def test_admin_is_allowed(admin_client, case):
    assert admin_client.get(_url(case)).status_code == 200


def test_anonymous_is_401(anon_client, case):
    response = anon_client.get(_url(case))
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_case_study_of_another_tenant_is_invisible(other_tenant_client, case, mba):
    _session(StudentFactory(programmes=[mba]), case, minutes=0)
    response = other_tenant_client.get(_url(case))
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


# Query counts --------------------------------------------------------------------------


@pytest.mark.parametrize("n_students", [3, 40])
@pytest.mark.parametrize("statuses", ["joined,completed", "invited,joined,completed"])
def test_query_count_does_not_grow_with_participants(
    operator_client, case, mba, django_assert_num_queries, n_students, statuses
):
    students = StudentFactory.create_batch(n_students, programmes=[mba])
    for index, student in enumerate(students):
        if index % 3:
            _session(student, case, minutes=index, score=50 + index, graded=index % 2 == 0)
        if index % 5 == 0:
            AttemptGrantFactory(student=student, case_study=case, delta=1)
    # the token with its user and roles (one query), case study, page with its total (sessions
    # aggregated per student in one GROUP BY subquery)
    with django_assert_num_queries(3):
        data = _get(operator_client, case, {"statuses": statuses, "limit": 100})
    assert len(data["results"]) == data["count"] > 0


def test_openapi_schema_documents_the_participants_endpoint():
    from drf_spectacular.generators import SchemaGenerator

    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"][
        "/v1/case-studies/{case_study_id}/users/"
    ]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert {"limit", "offset", "search", "statuses", "ordering"} <= set(params)
    assert params["statuses"]["schema"]["items"]["enum"] == ["invited", "joined", "completed"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404"}
