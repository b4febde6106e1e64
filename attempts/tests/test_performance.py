"""Student performance (SPEC §7.3): one attempt, its transcript and its grade report."""
import datetime as dt

import pytest
from django.utils import timezone

from attempts.performance import selectors
from testing.factories import (
    CaseStudyFactory,
    GradeCriterionFactory,
    GradeReportFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentFactory,
    TranscriptMessageFactory,
)
from testing.queries import API_REQUEST_QUERIES

T0 = dt.datetime(2025, 4, 3, 15, 0, tzinfo=dt.timezone.utc)
BASE = "/v1/console/student-performance/attempts"


def _z(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")


@pytest.fixture
def student(mba):
    return StudentFactory(first_name="Abdulwahab", last_name="Umar", programmes=[mba])


@pytest.fixture
def case_study(mba):
    return CaseStudyFactory(title="Fuel Subsidy removal in Nigeria: Economic impact and social impact", programmes=[mba])


@pytest.fixture
def attempts(student, case_study):
    """The seed's card: attempt 1 with a missing transcript, attempt 2 graded 75."""
    first = SessionFactory(
        student=student, case_study=case_study, session_id="6650d3e4f5a6b7c8d9e0f1a2", started_at=T0,
        ended_at=T0 + dt.timedelta(minutes=5), transcript_status="missing", grading_status="pending",
    )
    second = SessionFactory(
        student=student, case_study=case_study, session_id="6650d4e5f6a7b8c9d0e1f2a3", started_at=T0,
        ended_at=T0 + dt.timedelta(minutes=9), score=75.0, grading_status="complete",
    )
    return first, second


# Attempt ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_attempt_shows_the_card_entry_with_student_case_study_and_duration(operator_client, attempts, student, case_study, suffix):
    _, second = attempts
    response = operator_client.get(f"{BASE}/{second.pk}{suffix}")
    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["message"]) == (True, None)
    assert body["data"] == {
        "session_id": "6650d4e5f6a7b8c9d0e1f2a3",
        "attempt_label": "Attempt 2",
        "score": 75.0,
        "status": "ended",
        "transcript_status": "available",
        "grading_status": "complete",
        "used_for_final_score": True,
        "started_at": "2025-04-03T15:00:00Z",
        "ended_at": "2025-04-03T15:09:00Z",
        "last_activity_at": "2025-04-03T15:09:00Z",
        "duration_seconds": 540,
        "user_id": student.pk,
        "student_name": "Abdulwahab Umar",
        "case_study_id": case_study.pk,
        "case_study_title": "Fuel Subsidy removal in Nigeria: Economic impact and social impact",
    }


def test_attempt_numbering_and_final_score_match_the_card(operator_client, attempts):
    first, _ = attempts
    data = operator_client.get(f"{BASE}/{first.pk}").json()["data"]
    assert (data["attempt_label"], data["used_for_final_score"], data["score"]) == ("Attempt 1", False, None)
    assert data["duration_seconds"] == 300


def test_attempt_in_progress_has_no_duration(operator_client, student, case_study):
    live = SessionFactory(student=student, case_study=case_study, status="in_progress", started_at=timezone.now(),
                          transcript_status="processing")
    data = operator_client.get(f"{BASE}/{live.pk}").json()["data"]
    assert (data["status"], data["ended_at"], data["duration_seconds"]) == ("in_progress", None, None)
    assert data["last_activity_at"].endswith("Z")


def test_attempt_of_a_student_with_a_hostile_name_is_returned_verbatim(operator_client, case_study):
    from testing.factories import HOSTILE_NAME

    student = StudentFactory(first_name=HOSTILE_NAME, last_name="Nwosu")
    session = SessionFactory(student=student, case_study=case_study)
    assert operator_client.get(f"{BASE}/{session.pk}").json()["data"]["student_name"] == f"{HOSTILE_NAME} Nwosu"


# Transcript -------------------------------------------------------------------------------


def _messages(session, n):
    roles = ["system", "assistant", "student"]
    # Created out of order: the API orders by position.
    for position in reversed(range(n)):
        TranscriptMessageFactory(
            session=session, position=position, role=roles[position % 3], content=f"Message {position}: Ọ̀rọ̀ àti ìdáhùn",
            timestamp=T0 + dt.timedelta(seconds=position),
        )


@pytest.mark.parametrize("suffix", ["", "/"])
def test_available_transcript_returns_every_message_in_order(operator_client, student, case_study, suffix):
    session = SessionFactory(student=student, case_study=case_study, transcript_status="available")
    _messages(session, 4)
    response = operator_client.get(f"{BASE}/{session.pk}/transcript{suffix}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["session_id"], data["transcript_status"], data["detail"]) == (session.pk, "available", None)
    assert data["messages"][0] == {"role": "system", "content": "Message 0: Ọ̀rọ̀ àti ìdáhùn", "timestamp": "2025-04-03T15:00:00Z"}
    assert [m["content"][:9] for m in data["messages"]] == ["Message 0", "Message 1", "Message 2", "Message 3"]
    assert [m["role"] for m in data["messages"]] == ["system", "assistant", "student", "system"]


def test_partial_transcript_returns_what_exists_and_says_so(operator_client, student, case_study):
    session = SessionFactory(student=student, case_study=case_study, transcript_status="partial")
    _messages(session, 2)
    data = operator_client.get(f"{BASE}/{session.pk}/transcript").json()["data"]
    assert data["transcript_status"] == "partial"
    assert data["detail"] == selectors.MSG_TRANSCRIPT_PARTIAL
    assert len(data["messages"]) == 2


@pytest.mark.parametrize(
    "status, detail",
    [
        ("processing", selectors.MSG_TRANSCRIPT_PROCESSING),
        ("missing", selectors.MSG_TRANSCRIPT_MISSING),
        ("failed", selectors.MSG_TRANSCRIPT_FAILED),
    ],
)
def test_transcript_without_a_usable_status_returns_no_messages_and_says_why(operator_client, student, case_study, status, detail):
    session = SessionFactory(student=student, case_study=case_study, transcript_status=status)
    _messages(session, 3)  # stray rows from a half-finished upload are not shown as a transcript
    data = operator_client.get(f"{BASE}/{session.pk}/transcript").json()["data"]
    assert (data["transcript_status"], data["messages"], data["detail"]) == (status, [], detail)


def test_message_without_a_timestamp_shows_null(operator_client, student, case_study):
    session = SessionFactory(student=student, case_study=case_study)
    TranscriptMessageFactory(session=session, position=0, timestamp=None)
    assert operator_client.get(f"{BASE}/{session.pk}/transcript").json()["data"]["messages"][0]["timestamp"] is None


# Grade ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_complete_grade_returns_criteria_in_order_with_feedback(operator_client, student, case_study, suffix):
    session = SessionFactory(student=student, case_study=case_study, score=72.5, grading_status="complete")
    graded_at = T0 + dt.timedelta(hours=1)
    report = GradeReportFactory(session=session, max_score=100, feedback="Strong analysis; cite sources.", graded_at=graded_at)
    GradeCriterionFactory(report=report, position=1, name="Evidence", score=18, max_score=25, feedback="Cite the CBN data.")
    GradeCriterionFactory(report=report, position=0, name="Problem framing", score=22.5, max_score=25, feedback="Clear.")
    response = operator_client.get(f"{BASE}/{session.pk}/grade{suffix}")
    assert response.status_code == 200
    assert response.json()["data"] == {
        "session_id": session.pk,
        "grading_status": "complete",
        "detail": None,
        "score": 72.5,
        "max_score": 100.0,
        "criteria": [
            {"name": "Problem framing", "score": 22.5, "max_score": 25.0, "feedback": "Clear."},
            {"name": "Evidence", "score": 18.0, "max_score": 25.0, "feedback": "Cite the CBN data."},
        ],
        "feedback": "Strong analysis; cite sources.",
        "graded_at": _z(graded_at),
    }


@pytest.mark.parametrize(
    "status, score, detail",
    [("pending", None, selectors.MSG_GRADE_PENDING), ("failed", 40.0, selectors.MSG_GRADE_FAILED)],
)
def test_pending_or_failed_grade_shows_no_report_and_the_score_as_stored(operator_client, student, case_study, status, score, detail):
    session = SessionFactory(student=student, case_study=case_study, score=score, grading_status=status)
    report = GradeReportFactory(session=session, feedback="Draft feedback")
    GradeCriterionFactory(report=report, position=0)
    data = operator_client.get(f"{BASE}/{session.pk}/grade").json()["data"]
    assert data == {
        "session_id": session.pk,
        "grading_status": status,
        "detail": detail,
        "score": score,
        "max_score": 100.0,
        "criteria": [],
        "feedback": None,
        "graded_at": None,
    }


def test_complete_grade_without_a_report_says_so(operator_client, student, case_study):
    session = SessionFactory(student=student, case_study=case_study, score=90.0, grading_status="complete")
    data = operator_client.get(f"{BASE}/{session.pk}/grade").json()["data"]
    assert (data["score"], data["max_score"], data["criteria"], data["feedback"], data["graded_at"]) == (90.0, 100.0, [], None, None)
    assert data["detail"] == selectors.MSG_GRADE_NO_REPORT


# Not found, bad ids, permissions ------------------------------------------------------------

PATHS = ["", "/transcript", "/grade"]


@pytest.mark.parametrize("path", PATHS)
def test_unknown_session_is_404_in_the_envelope(operator_client, path):
    response = operator_client.get(f"{BASE}/ffffffffffffffffffffffff{path}")
    assert response.status_code == 404
    assert response.json() == {
        "success": False, "data": None, "message": "The requested resource was not found.", "code": "NOT_FOUND", "errors": None
    }


@pytest.mark.parametrize("path", PATHS)
def test_session_of_a_deleted_student_is_404(operator_client, student, case_study, path):
    session = SessionFactory(student=student, case_study=case_study)
    type(student).objects.filter(pk=student.pk).update(deleted_at=timezone.now())
    assert operator_client.get(f"{BASE}/{session.pk}{path}").status_code == 404


@pytest.mark.parametrize("path", PATHS)
def test_malformed_session_id_is_400_naming_it(operator_client, path):
    response = operator_client.get(f"{BASE}/bad%20id!{path}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["session_id"]


@pytest.mark.parametrize("path", PATHS)
def test_performance_needs_credentials(anon_client, attempts, path):
    response = anon_client.get(f"{BASE}/{attempts[1].pk}{path}")
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("path", PATHS)
def test_performance_needs_student_performance_view(viewer_client, ingest_client, attempts, path):
    for client in (viewer_client, ingest_client):
        response = client.get(f"{BASE}/{attempts[1].pk}{path}")
        assert response.status_code == 403
        assert response.json()["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("path", PATHS)
def test_performance_allows_admins(admin_client, attempts, path):
    assert admin_client.get(f"{BASE}/{attempts[1].pk}{path}").status_code == 200


@pytest.mark.parametrize("path", PATHS)
def test_another_tenants_sessions_are_invisible(other_tenant_client, attempts, path):
    response = other_tenant_client.get(f"{BASE}/{attempts[1].pk}{path}")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize("path", PATHS)
def test_performance_refuses_writes(operator_client, attempts, path):
    assert operator_client.post(f"{BASE}/{attempts[1].pk}{path}", {}, format="json").status_code == 405


# Query counts -----------------------------------------------------------------------------



@pytest.mark.parametrize("n", [1, 8])
def test_attempt_query_count_does_not_grow_with_attempts(operator_client, student, case_study, django_assert_num_queries, n):
    sessions = [SessionFactory(student=student, case_study=case_study, started_at=T0 + dt.timedelta(minutes=i)) for i in range(n)]
    # session with student and case study; the card: sessions, case study with programmes and
    # the ledger's sum
    with django_assert_num_queries(API_REQUEST_QUERIES + 3):
        assert operator_client.get(f"{BASE}/{sessions[-1].pk}").json()["data"]["attempt_label"] == f"Attempt {n}"


@pytest.mark.parametrize("n", [1, 40])
def test_transcript_query_count_does_not_grow_with_messages(operator_client, student, case_study, django_assert_num_queries, n):
    session = SessionFactory(student=student, case_study=case_study)
    _messages(session, n)
    # session with student and case study; the audit event of the read; messages
    with django_assert_num_queries(API_REQUEST_QUERIES + 3):
        assert len(operator_client.get(f"{BASE}/{session.pk}/transcript").json()["data"]["messages"]) == n


@pytest.mark.parametrize("n", [1, 12])
def test_grade_query_count_does_not_grow_with_criteria(operator_client, student, case_study, django_assert_num_queries, n):
    session = SessionFactory(student=student, case_study=case_study, score=70.0, grading_status="complete")
    report = GradeReportFactory(session=session)
    for position in range(n):
        GradeCriterionFactory(report=report, position=position)
    # session with student and case study; report; criteria
    with django_assert_num_queries(API_REQUEST_QUERIES + 3):
        assert len(operator_client.get(f"{BASE}/{session.pk}/grade").json()["data"]["criteria"]) == n
