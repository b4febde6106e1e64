"""GET /v1/console/students/{user_id} — the seed's Get Student Details, sentence by sentence."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from students.models import Student
from testing.clients import bearer_client
from testing.factories import (
    AttemptGrantFactory,
    CaseStudyFactory,
    CohortFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentFactory,
)
from testing.queries import API_REQUEST_QUERIES

USER_ID = "6650a1b2c3d4e5f6a7b8c9d0"
FUEL_ID = "6650c3d4e5f6a7b8c9d0e1f2"
URL = f"/v1/console/students/{USER_ID}"
UTC = dt.timezone.utc

# The seed's example response, verbatim.
SEED_RESPONSE = {
    "success": True,
    "data": {
        "user_id": "6650a1b2c3d4e5f6a7b8c9d0",
        "student_number": "6650a1b2c3d4e5f6a7b8c9d0",
        "student_name": "Abdulwahab Umar",
        "student_email": "abdulwahabumar@miva.university",
        "programmes": [{"code": "MBA1234", "name": "Masters in Business Administration"}],
        "programme_label": "Masters in Business Administration",
        "cohort": None,
        "status": "active",
        "last_seen": "2026-06-04T09:00:00Z",
        "overall_case_studies": 10,
        "case_studies_attempted": 2,
        "total_attempts": 2,
        "total_sessions": 4,
        "created_at": "2026-01-15T08:00:00Z",
        "case_study_details": [
            {
                "case_study_id": "6650c3d4e5f6a7b8c9d0e1f2",
                "case_study_title": "Fuel Subsidy removal in Nigeria: Economic impact and social impact",
                "programme_codes": ["MBA1234"],
                "programme_label": "Masters in Business Administration",
                "attempts_used": 1,
                "attempts_allowed": 2,
                "extra_attempts": 0,
                "best_score": 75.0,
                "attempts": [
                    {
                        "session_id": "6650d4e5f6a7b8c9d0e1f2a3",
                        "attempt_label": "Attempt 2",
                        "score": 75.0,
                        "status": "ended",
                        "transcript_status": "available",
                        "grading_status": "complete",
                        "used_for_final_score": True,
                        "started_at": "2025-04-03T15:00:00Z",
                        "ended_at": "2025-04-03T15:09:00Z",
                    },
                    {
                        "session_id": "6650d3e4f5a6b7c8d9e0f1a2",
                        "attempt_label": "Attempt 1",
                        "score": None,
                        "status": "ended",
                        "transcript_status": "missing",
                        "grading_status": "pending",
                        "used_for_final_score": False,
                        "started_at": "2025-04-03T15:00:00Z",
                        "ended_at": "2025-04-03T15:05:00Z",
                    },
                ],
            }
        ],
    },
    "message": None,
}


def _at(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")


@pytest.fixture
def seed_student(mba):
    """The sessions behind the seed's example. The seed shows one of the student's two cards;
    the other case study was attempted more recently (so its card comes first) and gives
    last_seen: one session failed technically (no attempt used), one is still in progress."""
    fuel = CaseStudyFactory(
        case_study_id=FUEL_ID,
        title="Fuel Subsidy removal in Nigeria: Economic impact and social impact",
        programmes=[mba],
        max_attempts=2,
    )
    pricing = CaseStudyFactory(title="Pricing a Lagos ride-hailing launch", programmes=[mba])
    for n in range(8):
        CaseStudyFactory(title=f"MBA case study {n}", programmes=[mba])
    CaseStudyFactory(title="Retired MBA case", programmes=[mba], is_active=False)
    CaseStudyFactory(title="Not an MBA case", programmes=[ProgrammeFactory(code="ECO1000", name="Economics")])

    student = StudentFactory(
        user_id=USER_ID, first_name="Abdulwahab", last_name="Umar",
        email="abdulwahabumar@miva.university", programmes=[mba],
    )
    Student.objects.filter(pk=USER_ID).update(created_at=_at("2026-01-15T08:00:00Z"))
    # Both fuel attempts started at the same time: numbering falls to session_id.
    SessionFactory(
        session_id="6650d4e5f6a7b8c9d0e1f2a3", student=student, case_study=fuel, status="ended",
        started_at=_at("2025-04-03T15:00:00Z"), ended_at=_at("2025-04-03T15:09:00Z"),
        score=75.0, transcript_status="available", grading_status="complete",
    )
    SessionFactory(
        session_id="6650d3e4f5a6b7c8d9e0f1a2", student=student, case_study=fuel, status="ended",
        started_at=_at("2025-04-03T15:00:00Z"), ended_at=_at("2025-04-03T15:05:00Z"),
        score=None, transcript_status="missing", grading_status="pending",
    )
    SessionFactory(
        student=student, case_study=pricing, status="abandoned",
        started_at=_at("2026-06-04T08:20:00Z"), ended_at=_at("2026-06-04T08:25:00Z"),
        transcript_status="failed", grading_status="failed",
    )
    SessionFactory(
        student=student, case_study=pricing, status="in_progress",
        started_at=_at("2026-06-04T08:45:00Z"), ended_at=None, last_activity_at=_at("2026-06-04T09:00:00Z"),
        transcript_status="processing", grading_status="pending",
    )
    return student


# The seed's example -----------------------------------------------------------------------


def test_seed_example_is_reproduced_field_for_field(viewer_client, seed_student):
    response = viewer_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    cards = body["data"]["case_study_details"]
    assert [c["case_study_id"] for c in cards][1] == FUEL_ID  # the other card was started later
    body["data"]["case_study_details"] = [c for c in cards if c["case_study_id"] == FUEL_ID]
    assert body == SEED_RESPONSE
    # Same keys in the same order, at every level.
    assert list(body) == list(SEED_RESPONSE)
    assert list(body["data"]) == list(SEED_RESPONSE["data"])
    seed_card = SEED_RESPONSE["data"]["case_study_details"][0]
    assert list(body["data"]["case_study_details"][0]) == list(seed_card)
    assert [list(a) for a in body["data"]["case_study_details"][0]["attempts"]] == [list(a) for a in seed_card["attempts"]]


def test_the_other_card_of_the_seed_student(viewer_client, seed_student):
    card = viewer_client.get(URL).json()["data"]["case_study_details"][0]
    assert card["case_study_title"] == "Pricing a Lagos ride-hailing launch"
    assert (card["attempts_used"], card["attempts_allowed"], card["best_score"]) == (1, 2, None)
    assert [(a["attempt_label"], a["status"], a["ended_at"]) for a in card["attempts"]] == [
        ("Attempt 2", "in_progress", None),
        ("Attempt 1", "abandoned", "2026-06-04T08:25:00Z"),
    ]


# Authentication and tenancy ------------------------------------------------------------


def test_requires_user_management_can_view(ingest_client, viewer_client, seed_student):
    denied = ingest_client.get(URL)
    assert denied.status_code == 403 and denied.json()["code"] == "PERMISSION_DENIED"
    assert viewer_client.get(URL).status_code == 200


def test_without_credentials_is_401(anon_client, seed_student):
    response = anon_client.get(URL)
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_a_student_of_another_tenant_is_not_found(other_tenant_client, seed_student):
    response = other_tenant_client.get(URL)
    assert response.status_code == 404
    assert response.json() == {
        "success": False, "data": None, "message": "Student not found in the current tenant.",
        "code": "NOT_FOUND", "errors": None,
    }


def test_a_token_of_another_tenant_is_rejected(host, other_tenant_user, other_tenant, seed_student):
    with schema_context(other_tenant.schema_name):
        client = bearer_client(host, other_tenant_user)
    response = client.get(URL)
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


# Path and query parameters --------------------------------------------------------------


def test_unknown_id_is_404_not_found_in_the_current_tenant(viewer_client):
    response = viewer_client.get("/v1/console/students/6650ffffffffffffffffffff")
    assert response.status_code == 404
    body = response.json()
    assert (body["code"], body["message"]) == ("NOT_FOUND", "Student not found in the current tenant.")


def test_answers_with_and_without_trailing_slash(viewer_client, seed_student):
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.get(URL + "/").status_code == 200


def test_ids_imported_from_other_systems_are_found(viewer_client):
    student = StudentFactory(user_id="SIS:2024-00017")
    assert viewer_client.get(f"/v1/console/students/{student.pk}").json()["data"]["user_id"] == "SIS:2024-00017"


@pytest.mark.parametrize("bad", ["x" * 65, "has space", "-leading-dash", "caf%C3%A9", "%00"])
def test_malformed_user_id_is_400_naming_user_id(viewer_client, bad):
    response = viewer_client.get(f"/v1/console/students/{bad}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and list(body["errors"]) == ["user_id"]


@pytest.mark.parametrize("value", ["false", "FALSE", "0", "False"])
def test_include_case_studies_false_omits_the_array(viewer_client, seed_student, value):
    data = viewer_client.get(URL, {"include_case_studies": value}).json()["data"]
    assert "case_study_details" not in data
    assert list(data) == [k for k in SEED_RESPONSE["data"] if k != "case_study_details"]
    expected = {k: v for k, v in SEED_RESPONSE["data"].items() if k != "case_study_details"}
    assert data == expected


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "True"])
def test_include_case_studies_true_or_absent_includes_the_array(viewer_client, seed_student, value):
    assert len(viewer_client.get(URL, {"include_case_studies": value}).json()["data"]["case_study_details"]) == 2
    assert len(viewer_client.get(URL).json()["data"]["case_study_details"]) == 2


@pytest.mark.parametrize("value", ["yes", "no", "2", "", "on", "t"])
def test_include_case_studies_anything_else_is_400(viewer_client, seed_student, value):
    response = viewer_client.get(URL, {"include_case_studies": value})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["include_case_studies"]


# Field reference ----------------------------------------------------------------------------


def test_student_number_is_the_sis_number_when_set_else_the_user_id(viewer_client):
    with_sis = StudentFactory(student_number="MIVA/2024/0042")
    without = StudentFactory()
    assert viewer_client.get(f"/v1/console/students/{with_sis.pk}").json()["data"]["student_number"] == "MIVA/2024/0042"
    assert viewer_client.get(f"/v1/console/students/{without.pk}").json()["data"]["student_number"] == without.pk


def test_cohort_is_the_cohort_name_when_set_else_null(viewer_client):
    in_cohort = StudentFactory(cohort=CohortFactory(name="Class of 2027"))
    without = StudentFactory()
    assert viewer_client.get(f"/v1/console/students/{in_cohort.pk}").json()["data"]["cohort"] == "Class of 2027"
    assert viewer_client.get(f"/v1/console/students/{without.pk}").json()["data"]["cohort"] is None


def test_a_student_with_no_sessions_has_no_cards_and_null_last_seen(viewer_client, mba):
    CaseStudyFactory(programmes=[mba])
    student = StudentFactory(first_name="Zoë", last_name="Brontë", programmes=[mba])
    data = viewer_client.get(f"/v1/console/students/{student.pk}").json()["data"]
    assert data["student_name"] == "Zoë Brontë"
    assert (data["last_seen"], data["overall_case_studies"], data["case_studies_attempted"]) == (None, 1, 0)
    assert (data["total_attempts"], data["total_sessions"], data["case_study_details"]) == (0, 0, [])


def test_cards_only_for_attempted_case_studies_most_recently_started_first(viewer_client, mba):
    student = StudentFactory(programmes=[mba])
    never, older, newer = (CaseStudyFactory(programmes=[mba]) for _ in range(3))
    t0 = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
    SessionFactory(student=student, case_study=older, started_at=t0)
    SessionFactory(student=student, case_study=newer, started_at=t0 + dt.timedelta(days=1))
    SessionFactory(student=student, case_study=older, started_at=t0 + dt.timedelta(days=2))
    data = viewer_client.get(f"/v1/console/students/{student.pk}").json()["data"]
    assert [c["case_study_id"] for c in data["case_study_details"]] == [older.pk, newer.pk]
    assert never.pk not in [c["case_study_id"] for c in data["case_study_details"]]
    assert [a["attempt_label"] for a in data["case_study_details"][0]["attempts"]] == ["Attempt 2", "Attempt 1"]
    assert (data["case_studies_attempted"], data["total_sessions"], data["overall_case_studies"]) == (2, 3, 3)


def test_a_case_study_no_longer_assigned_still_has_its_card(viewer_client, mba):
    student = StudentFactory(programmes=[mba])
    elsewhere = CaseStudyFactory(programmes=[ProgrammeFactory(code="LAW1000", name="Law")], is_active=False)
    SessionFactory(student=student, case_study=elsewhere)
    data = viewer_client.get(f"/v1/console/students/{student.pk}").json()["data"]
    assert data["overall_case_studies"] == 0
    assert [c["case_study_id"] for c in data["case_study_details"]] == [elsewhere.pk]
    assert data["case_study_details"][0]["programme_codes"] == ["LAW1000"]


def test_extra_attempts_are_granted_on_top_of_the_base_allowance(viewer_client, mba):
    student = StudentFactory(programmes=[mba])
    case_study = CaseStudyFactory(programmes=[mba], max_attempts=2)
    SessionFactory(student=student, case_study=case_study)
    AttemptGrantFactory(student=student, case_study=case_study, delta=2)
    AttemptGrantFactory(student=student, case_study=case_study, delta=-1)
    card = viewer_client.get(f"/v1/console/students/{student.pk}").json()["data"]["case_study_details"][0]
    assert (card["attempts_used"], card["extra_attempts"], card["attempts_allowed"]) == (1, 1, 3)


def test_best_score_is_the_highest_graded_score_or_null(viewer_client):
    student = StudentFactory()
    graded, ungraded = CaseStudyFactory(max_attempts=5), CaseStudyFactory()
    t0 = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
    SessionFactory(student=student, case_study=graded, started_at=t0, score=61.5, grading_status="complete")
    SessionFactory(student=student, case_study=graded, started_at=t0 + dt.timedelta(hours=1), score=88.0,
                   grading_status="complete")
    SessionFactory(student=student, case_study=graded, started_at=t0 + dt.timedelta(hours=2), score=99.0,
                   grading_status="failed")  # not graded: ignored
    SessionFactory(student=student, case_study=ungraded, started_at=t0)
    cards = {c["case_study_id"]: c for c in viewer_client.get(f"/v1/console/students/{student.pk}").json()["data"]["case_study_details"]}
    assert cards[graded.pk]["best_score"] == 88.0
    assert [a["used_for_final_score"] for a in cards[graded.pk]["attempts"]] == [False, True, False]
    assert cards[ungraded.pk]["best_score"] is None


@pytest.mark.parametrize("transcript_status", ["available", "partial", "processing", "missing", "failed"])
def test_each_transcript_status_is_reported_and_only_missing_or_failed_is_free(viewer_client, transcript_status):
    student = StudentFactory()
    SessionFactory(student=student, transcript_status=transcript_status)
    data = viewer_client.get(f"/v1/console/students/{student.pk}").json()["data"]
    card = data["case_study_details"][0]
    assert card["attempts"][0]["transcript_status"] == transcript_status
    free = transcript_status in ("missing", "failed")
    assert card["attempts_used"] == data["total_attempts"] == (0 if free else 1)


def test_archived_students_have_a_detail_and_deleted_ones_do_not(viewer_client):
    archived = StudentFactory(archived=True, enrollment_status="graduated", graduated_on=dt.date(2026, 5, 30))
    deleted = StudentFactory(deleted_at=dt.datetime(2026, 6, 1, tzinfo=UTC))
    assert viewer_client.get(f"/v1/console/students/{archived.pk}").status_code == 200
    assert viewer_client.get(f"/v1/console/students/{deleted.pk}").status_code == 404


def test_export_is_not_read_as_a_user_id(viewer_client):
    # viewer lacks can_export: the export route answers (403), not the detail route (404)
    assert viewer_client.get("/v1/console/students/export").status_code == 403


# Queries ----------------------------------------------------------------------------------


def _student_with_history(n_programmes, n_case_studies, n_sessions_each):
    programmes = [ProgrammeFactory() for _ in range(n_programmes)]
    student = StudentFactory(programmes=programmes, cohort=CohortFactory())
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    for c in range(n_case_studies):
        case_study = CaseStudyFactory(programmes=programmes)
        AttemptGrantFactory(student=student, case_study=case_study, delta=1)
        for s in range(n_sessions_each):
            SessionFactory(student=student, case_study=case_study, started_at=t0 + dt.timedelta(hours=c * 10 + s),
                           score=50.0 + s, grading_status="complete")
    return student


@pytest.mark.parametrize("shape", [(1, 1, 1), (4, 6, 5)])
def test_detail_uses_a_fixed_number_of_queries(viewer_client, django_assert_num_queries, shape):
    student = _student_with_history(*shape)
    StudentFactory.create_batch(3)
    # authentication; student with cohort, overall_case_studies and programmes;
    # sessions (the totals are counted from them); their case studies with the student's extra
    # attempts and programmes
    with django_assert_num_queries(API_REQUEST_QUERIES + 3):
        response = viewer_client.get(f"/v1/console/students/{student.pk}")
    assert response.status_code == 200
    assert response.json()["data"]["total_sessions"] == shape[1] * shape[2]


def test_header_only_detail_uses_two_queries(viewer_client, django_assert_num_queries):
    student = _student_with_history(3, 4, 3)
    # authentication; student with cohort, overall_case_studies and programmes; totals
    with django_assert_num_queries(API_REQUEST_QUERIES + 2):
        response = viewer_client.get(f"/v1/console/students/{student.pk}", {"include_case_studies": "false"})
    assert response.status_code == 200


def test_is_browsable_in_html(viewer_client, seed_student):
    response = viewer_client.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and "Abdulwahab Umar" in response.content.decode()


def test_schema_carries_the_seed_detail_example(anon_client):
    paths = anon_client.get("/v1/schema/", {"format": "json"}).json()["paths"]
    content = paths["/v1/console/students/{user_id}/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert content["examples"]["SeedExample"]["value"] == SEED_RESPONSE


@pytest.mark.parametrize("score, ended, grading", [(82.5, True, "complete"), (None, False, "pending"), (0, True, "failed")])
def test_the_attempt_built_directly_is_what_drf_would_build_from_the_fields(score, ended, grading):
    from rest_framework import serializers as drf

    from attempts.selectors import student_case_study_cards
    from console.students.serializers import ConsoleAttemptSerializer

    session = SessionFactory(score=score, grading_status=grading, **({} if ended else {"status": "in_progress", "ended_at": None}))
    attempt = student_case_study_cards(student_id=session.student_id)[0].attempts[0]
    serializer = ConsoleAttemptSerializer()
    fast = serializer.to_representation(attempt)
    assert fast == drf.Serializer.to_representation(serializer, attempt)
    assert list(fast) == list(serializer.fields)


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 6, 4, 9, 0, tzinfo=UTC),
        dt.datetime(2026, 6, 4, 9, 0, 59, 999999, tzinfo=UTC),  # truncated, never rounded up
        dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),  # next day in UTC
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/London")),
        dt.datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=dt.timezone(dt.timedelta(hours=14))),
    ],
)
def test_the_timestamp_text_from_postgresql_is_the_drf_fields(moment):
    from attempts.selectors import student_case_study_cards
    from console.students.serializers import ConsoleAttemptSerializer

    session = SessionFactory(started_at=moment, ended_at=moment, last_activity_at=moment)
    row = student_case_study_cards(student_id=session.student_id)[0].attempts[0].session
    field = ConsoleAttemptSerializer().fields["started_at"]
    assert row.started_at_text == row.ended_at_text == field.to_representation(moment)


@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("with_cohort", [True, False])
def test_the_detail_built_directly_is_what_drf_would_build_from_the_fields(include, with_cohort):
    from rest_framework import serializers as drf

    from console.students.selectors import student_detail
    from console.students.serializers import ConsoleStudentDetailSerializer, ConsoleStudentHeaderSerializer
    from testing.factories import CohortFactory, ProgrammeFactory

    student = StudentFactory(
        cohort=CohortFactory(name="Spring") if with_cohort else None, student_number="SN-1" if with_cohort else None,
        programmes=[ProgrammeFactory(code="MBA"), ProgrammeFactory(code="ACC")] if with_cohort else [],
    )
    SessionFactory(student=student, score=71.5)
    SessionFactory(student=student, score=None, status="in_progress", ended_at=None)
    detail = student_detail(user_id=student.pk, include_case_studies=include)
    serializer = (ConsoleStudentDetailSerializer if include else ConsoleStudentHeaderSerializer)(detail)
    fast = serializer.to_representation(detail)
    assert fast == drf.Serializer.to_representation(serializer, detail)
    assert list(fast) == list(serializer.fields)
    assert fast["last_seen"] is not None and fast["created_at"].endswith("Z")
