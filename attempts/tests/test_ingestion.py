"""Session ingestion: PUT /v1/sessions/{session_id} (SPEC §7.4)."""
import copy
import datetime as dt
import json
import re
import threading

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from attempts.ingestion import serializers as body_model
from attempts.ingestion import services as ingestion
from attempts.ingestion.serializers import MSG_ENDED_BEFORE_STARTED
from attempts.models import GradeCriterion, GradeReport, Session, TranscriptMessage
from config.errors import MSG_PERMISSION_DENIED, MSG_UNAUTHENTICATED, AppError
from config.ids import MSG_BAD_ID, OPAQUE_ID
from config.query import MSG_DATE_OUT_OF_RANGE
from config.serializers import MSG_NOT_WRITABLE
from config.text import MSG_CONTROL_CHARACTER, MSG_CONTROL_CHARACTER_FREE_TEXT
from students.models import Student
from testing.clients import bearer_client
from testing.factories import CaseStudyFactory, ProgrammeFactory, SessionFactory, StaffUserFactory, StudentFactory

SID = "sess-0001"
URL = f"/v1/sessions/{SID}"


def at(hour, minute=0):
    return dt.datetime(2025, 10, 1, hour, minute, tzinfo=dt.timezone.utc)


def iso(value):
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def student():
    return StudentFactory(first_name="Ngozi", last_name="Adébáyọ̀")


@pytest.fixture
def case_study():
    return CaseStudyFactory(programmes=[ProgrammeFactory(code="MBA1234")])


@pytest.fixture
def body(student, case_study):
    return {
        "user_id": student.user_id,
        "case_study_id": case_study.case_study_id,
        "status": "ended",
        "started_at": iso(at(9)),
        "ended_at": iso(at(9, 24)),
        "last_activity_at": iso(at(9, 20)),
        "score": 82.5,
        "transcript_status": "available",
        "grading_status": "complete",
        "transcript": [
            {"role": "assistant", "content": "Welcome. What would you do first?", "timestamp": iso(at(9, 0))},
            {"role": "student", "content": "Size the market in Lagos — carefully.", "timestamp": iso(at(9, 1))},
        ],
        "grade": {
            "max_score": 100,
            "feedback": "Clear structure.",
            "graded_at": iso(at(10)),
            "criteria": [
                {"name": "Problem framing", "score": 22, "max_score": 25, "feedback": "Good framing."},
                {"name": "Quantification", "score": 18.5, "max_score": 25},
            ],
        },
    }


def put(client, body, url=URL):
    return client.put(url, body, format="json")


# Creating and updating ------------------------------------------------------------------


def test_new_session_is_created_with_201_and_everything_stored(ingest_client, body, student):
    response = put(ingest_client, body)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["result"] == "created" and data["session_id"] == SID and data["user_id"] == student.user_id
    assert data["last_activity_at"] == "2025-10-01T09:24:00Z"  # the latest of started/ended/activity
    session = Session.objects.get(pk=SID)
    assert (session.status, session.score, session.transcript_status, session.grading_status) == (
        "ended", 82.5, "available", "complete",
    )
    assert session.last_activity_at == at(9, 24)
    assert list(session.messages.values_list("position", "role", "content")) == [
        (0, "assistant", "Welcome. What would you do first?"),
        (1, "student", "Size the market in Lagos — carefully."),
    ]
    report = session.grade_report
    assert (report.max_score, report.feedback, report.graded_at) == (100, "Clear structure.", at(10))
    assert list(report.criteria.values_list("name", "score", "max_score", "feedback")) == [
        ("Problem framing", 22, 25, "Good framing."),
        ("Quantification", 18.5, 25, ""),
    ]


def test_same_body_twice_changes_nothing(ingest_client, body):
    assert put(ingest_client, body).status_code == 201
    session = Session.objects.get(pk=SID)
    message_ids = list(TranscriptMessage.objects.values_list("pk", flat=True))
    criterion_ids = list(GradeCriterion.objects.values_list("pk", flat=True))
    response = put(ingest_client, body)
    assert response.status_code == 200
    assert response.json()["data"]["result"] == "unchanged"
    again = Session.objects.get(pk=SID)
    assert again.updated_at == session.updated_at
    assert list(TranscriptMessage.objects.values_list("pk", flat=True)) == message_ids
    assert list(GradeCriterion.objects.values_list("pk", flat=True)) == criterion_ids
    assert Session.objects.count() == 1


def test_changed_body_updates_with_200(ingest_client, body):
    put(ingest_client, body)
    before = Session.objects.get(pk=SID).updated_at
    body["score"] = 90
    response = put(ingest_client, body)
    assert response.status_code == 200 and response.json()["data"]["result"] == "updated"
    session = Session.objects.get(pk=SID)
    assert session.score == 90 and session.updated_at > before


def test_replaying_an_earlier_sequence_of_bodies_ends_in_the_same_state(ingest_client, body):
    first = dict(body, status="in_progress", ended_at=None, score=None, grading_status="pending", grade=None)
    first["transcript"] = body["transcript"][:1]
    for payload in (first, body):
        put(ingest_client, payload)
    snapshot = Session.objects.values().get(pk=SID)
    messages = list(TranscriptMessage.objects.values_list("position", "role", "content"))
    assert put(ingest_client, body).json()["data"]["result"] == "unchanged"
    assert Session.objects.values().get(pk=SID) == snapshot
    assert list(TranscriptMessage.objects.values_list("position", "role", "content")) == messages


def test_transcript_is_replaced_when_given_and_kept_when_absent(ingest_client, body):
    put(ingest_client, body)
    body["transcript"] = [{"role": "system", "content": "Session restarted."}]
    assert put(ingest_client, body).json()["data"]["result"] == "updated"
    assert list(TranscriptMessage.objects.values_list("role", "content", "timestamp")) == [("system", "Session restarted.", None)]
    del body["transcript"]
    body["score"] = 50
    put(ingest_client, body)
    assert TranscriptMessage.objects.count() == 1
    body["transcript"] = []
    assert put(ingest_client, body).json()["data"]["result"] == "updated"
    assert TranscriptMessage.objects.count() == 0


def test_grade_is_replaced_when_given_and_kept_when_null(ingest_client, body):
    put(ingest_client, body)
    body["grade"] = {"criteria": [{"name": "Overall", "score": 7, "max_score": 10}]}
    assert put(ingest_client, body).json()["data"]["result"] == "updated"
    report = GradeReport.objects.get(pk=SID)
    assert (report.max_score, report.feedback, report.graded_at) == (100, "", None)
    assert list(report.criteria.values_list("name", flat=True)) == ["Overall"]
    body["grade"] = None
    assert put(ingest_client, body).json()["data"]["result"] == "unchanged"
    assert GradeCriterion.objects.count() == 1


def test_only_a_transcript_change_counts_as_an_update(ingest_client, body):
    put(ingest_client, body)
    body["transcript"][1]["content"] = "Size the market in Abuja."
    response = put(ingest_client, body)
    assert response.json()["data"]["result"] == "updated"
    assert TranscriptMessage.objects.get(position=1).content == "Size the market in Abuja."


def test_in_progress_session_without_end_or_score(ingest_client, body):
    payload = {k: body[k] for k in ("user_id", "case_study_id", "started_at", "transcript_status", "grading_status")}
    payload["status"] = "in_progress"
    response = put(ingest_client, payload, url="/v1/sessions/sess-live/")
    assert response.status_code == 201
    session = Session.objects.get(pk="sess-live")
    assert session.ended_at is None and session.score is None and session.last_activity_at == at(9)


def test_body_may_repeat_the_session_id_of_the_url(ingest_client, body):
    body["session_id"] = SID
    assert put(ingest_client, body).status_code == 201


# last_seen ------------------------------------------------------------------------------


def test_ingested_session_sets_student_last_seen(ingest_client, body, student):
    assert Student.objects.get(pk=student.pk).last_seen is None
    put(ingest_client, body)
    assert Student.objects.get(pk=student.pk).last_seen == at(9, 24)
    body["last_activity_at"] = iso(at(11))
    put(ingest_client, body)
    assert Student.objects.get(pk=student.pk).last_seen == at(11)


def test_last_seen_is_the_latest_over_all_sessions(ingest_client, body, student, case_study):
    SessionFactory(student=student, case_study=case_study, started_at=at(15), ended_at=at(16), last_activity_at=at(16))
    put(ingest_client, body)
    assert Student.objects.get(pk=student.pk).last_seen == at(16)


def test_ingested_session_shows_in_the_console_list_last_seen(ingest_client, admin_client, body, student):
    put(ingest_client, body)
    response = admin_client.get("/v1/console/students", {"search": "Ngozi"})
    assert response.status_code == 200
    rows = response.json()["data"]
    assert [r["user_id"] for r in rows] == [student.user_id]
    assert rows[0]["last_seen"] == "2025-10-01T09:24:00Z"


# Refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        ({"status": "paused"}, "status"),
        ({"transcript_status": "lost"}, "transcript_status"),
        ({"grading_status": "maybe"}, "grading_status"),
        ({"score": -0.5}, "score"),
        ({"score": 100.01}, "score"),
        ({"score": "lots"}, "score"),
        ({"score": True}, "score"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"started_at": "2025-02-30T10:00:00Z"}, "started_at"),
        ({"started_at": None}, "started_at"),
        ({"started_at": "0001-01-01T00:00:00+05:00"}, "started_at"),
        ({"started_at": "2025-10-01T09:00:00+25:00"}, "started_at"),
        ({"ended_at": "9999-12-31T23:59:59-05:00"}, "ended_at"),
        ({"ended_at": "2025-10-01T08:00:00Z"}, "ended_at"),
        ({"last_activity_at": "10/01/2025"}, "last_activity_at"),
        ({"user_id": "not an id"}, "user_id"),
        ({"user_id": 12}, "user_id"),
        ({"case_study_id": ""}, "case_study_id"),
        ({"session_id": "sess-other"}, "session_id"),
        ({"created_at": "2025-01-01T00:00:00Z"}, "created_at"),
        ({"transcript": [{"role": "hacker", "content": "x"}]}, "transcript.0.role"),
        ({"transcript": [{"role": "student"}]}, "transcript.0.content"),
        ({"transcript": [{"role": "student", "content": "x", "timestamp": "soon"}]}, "transcript.0.timestamp"),
        ({"transcript": [{"role": "student", "content": "nul \x00 byte"}]}, "transcript.0.content"),
        ({"transcript": "hello"}, "transcript"),
        ({"grade": {"criteria": [{"name": "A", "score": 11, "max_score": 10}]}}, "grade.criteria.0.score"),
        ({"grade": {"feedback": "no criteria"}}, "grade.criteria"),
        ({"grade": {"criteria": [], "max_score": -1}}, "grade.max_score"),
    ],
)
def test_bad_body_is_400_naming_the_field_and_stores_nothing(ingest_client, body, change, field):
    body.update(change)
    response = put(ingest_client, body)
    assert response.status_code == 400, response.json()
    payload = response.json()
    assert payload["code"] == "VALIDATION_ERROR"
    assert field in payload["errors"], payload["errors"]
    assert not Session.objects.exists()


@pytest.mark.parametrize("field", ["user_id", "case_study_id", "status", "started_at", "transcript_status", "grading_status"])
def test_missing_required_field_is_400(ingest_client, body, field):
    del body[field]
    response = put(ingest_client, body)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_ended_before_started_message(ingest_client, body):
    body["ended_at"] = iso(at(8))
    assert put(ingest_client, body).json()["errors"]["ended_at"] == [MSG_ENDED_BEFORE_STARTED]


def test_unknown_fields_are_refused(ingest_client, body):
    body["student_name"] = "Someone"
    assert put(ingest_client, body).json()["errors"]["student_name"] == [MSG_NOT_WRITABLE]


def test_non_finite_score_is_refused_by_the_parser(ingest_client, body):
    import json

    raw = json.dumps(body).replace("82.5", "NaN")
    response = ingest_client.put(URL, raw, content_type="application/json")
    assert response.status_code == 400 and not Session.objects.exists()


def test_body_that_is_not_an_object_is_400(ingest_client):
    response = ingest_client.put(URL, [1, 2], format="json")
    assert response.status_code == 400


def test_malformed_session_id_in_url_is_400(ingest_client, body):
    response = put(ingest_client, body, url="/v1/sessions/bad%20id")
    assert response.status_code == 400 and "session_id" in response.json()["errors"]


def test_oversized_body_is_400(ingest_client, body):
    body["transcript"] = [{"role": "student", "content": "x" * 40_000} for _ in range(60)]
    response = put(ingest_client, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": [ingestion.MSG_BODY_TOO_LARGE]}


def test_unknown_student_is_400(ingest_client, body):
    body["user_id"] = "nobody"
    response = put(ingest_client, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"user_id": [ingestion.MSG_UNKNOWN_STUDENT]}


def test_deleted_student_counts_as_unknown(ingest_client, body, student):
    Student.objects.filter(pk=student.pk).update(deleted_at=at(8))
    assert put(ingest_client, body).json()["errors"] == {"user_id": [ingestion.MSG_UNKNOWN_STUDENT]}


def test_unknown_case_study_is_400(ingest_client, body):
    body["case_study_id"] = "no-such-case"
    response = put(ingest_client, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"case_study_id": [ingestion.MSG_UNKNOWN_CASE_STUDY]}


def test_session_cannot_move_to_another_student(ingest_client, body, student):
    put(ingest_client, body)
    body["user_id"] = StudentFactory().user_id
    response = put(ingest_client, body)
    assert response.status_code == 409 and response.json()["code"] == "CONFLICT"
    assert "user_id" in response.json()["errors"]
    assert Session.objects.get(pk=SID).student_id == student.user_id


def test_session_cannot_move_to_another_case_study(ingest_client, body, case_study):
    put(ingest_client, body)
    body["case_study_id"] = CaseStudyFactory().case_study_id
    response = put(ingest_client, body)
    assert response.status_code == 409 and "case_study_id" in response.json()["errors"]
    assert Session.objects.get(pk=SID).case_study_id == case_study.case_study_id


def test_get_is_not_allowed(ingest_client):
    assert ingest_client.get(URL).status_code == 405


# Permissions and tenancy ----------------------------------------------------------------


def test_put_is_401_without_credentials(anon_client, body):
    response = put(anon_client, body)
    assert response.status_code == 401 and response.json()["message"] == MSG_UNAUTHENTICATED


def test_put_is_403_without_sessions_ingest_even_for_an_admin(admin_client, body):
    response = put(admin_client, body)
    assert response.status_code == 403 and response.json()["message"] == MSG_PERMISSION_DENIED
    assert not Session.objects.exists()


def test_another_tenants_runtime_cannot_report_for_our_students(other_tenant, other_host, tenant, body, student):
    with schema_context(other_tenant.schema_name):
        runtime = StaffUserFactory(email="runtime@other.example", roles=["ingest"])
        client = bearer_client(other_host, runtime)
    connection.set_tenant(tenant)
    response = put(client, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"user_id": [ingestion.MSG_UNKNOWN_STUDENT]}
    assert not Session.objects.exists()
    assert Student.objects.get(pk=student.pk).last_seen is None


def test_our_runtime_token_is_rejected_on_another_tenants_host(ingest_client, other_host, body):
    ingest_client.defaults["HTTP_HOST"] = other_host
    assert put(ingest_client, body).status_code == 401


# Service level --------------------------------------------------------------------------


def test_repeated_session_ids_in_one_batch_apply_in_order(body):
    first = ingestion.session_input(data=dict(body, score=10), session_id=SID)
    second = ingestion.session_input(data=dict(body, score=20), session_id=SID)
    outcomes = ingestion.sessions_ingest(items=[first, second, second])
    assert [o.result for o in outcomes] == ["created", "updated", "unchanged"]
    assert Session.objects.get(pk=SID).score == 20


def test_one_failing_item_does_not_stop_the_batch(body, monkeypatch):
    from django.db import IntegrityError

    good = ingestion.session_input(data=body, session_id="sess-good")
    bad = ingestion.session_input(data=body, session_id="sess-bad")
    real_write = ingestion._write

    def write(items, existing):
        if any(i.session_id == "sess-bad" for i in items):
            raise IntegrityError("simulated failure")
        return real_write(items, existing)

    monkeypatch.setattr(ingestion, "_write", write)
    outcomes = ingestion.sessions_ingest(items=[good, bad])
    assert [o.result for o in outcomes] == ["created", "rejected"]
    assert "simulated failure" in outcomes[1].reason
    assert list(Session.objects.values_list("pk", flat=True)) == ["sess-good"]


def test_concurrent_puts_of_one_new_session_never_fail(committed_tenant, host):
    student = StudentFactory()
    case_study = CaseStudyFactory()
    runtime = StaffUserFactory(email="runtime@uni.example", roles=["ingest"])
    payload = {
        "user_id": student.user_id, "case_study_id": case_study.case_study_id, "status": "ended",
        "started_at": iso(at(9)), "ended_at": iso(at(9, 30)), "score": 70,
        "transcript_status": "available", "grading_status": "complete",
        "transcript": [{"role": "student", "content": f"message {n}"} for n in range(20)],
    }
    clients = [bearer_client(host, runtime) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    statuses = []

    def worker(client):
        try:
            barrier.wait()
            statuses.append(client.put("/v1/sessions/sess-race", payload, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [201]
    assert Session.objects.filter(pk="sess-race").count() == 1
    assert TranscriptMessage.objects.filter(session_id="sess-race").count() == 20
    assert Student.objects.get(pk=student.pk).last_seen == at(9, 30)


# The body model: one declaration that validates and documents ------------------------------


def _refusal(data, session_id=SID):
    with pytest.raises(AppError) as caught:
        ingestion.session_input(data=data, session_id=session_id)
    return caught.value.errors


@pytest.mark.parametrize(
    "change, errors",
    [
        ({"status": None}, {"status": [body_model.MSG_NULL]}),
        ({"status": "paused"}, {"status": ['"paused" is not a valid choice.']}),
        ({"status": "\ud800"}, {"status": ['"\ud800" is not a valid choice.']}),
        ({"started_at": "2025-１０-01T09:00:00Z"}, {"started_at": [body_model.MSG_DATETIME]}),
        ({"started_at": "2025-02-30T10:00:00Z"}, {"started_at": [body_model.MSG_DATETIME]}),
        ({"started_at": "1899-12-31T23:59:59Z"}, {"started_at": [MSG_DATE_OUT_OF_RANGE]}),
        ({"ended_at": "9999-12-31T23:59:59-05:00"}, {"ended_at": [MSG_DATE_OUT_OF_RANGE]}),
        ({"transcript": [{"role": "student", "content": "x", "timestamp": "2101-01-01T00:00:00Z"}]},
         {"transcript.0.timestamp": [MSG_DATE_OUT_OF_RANGE]}),
        ({"score": 100.5}, {"score": ["Must be a number from 0 to 100."]}),
        ({"score": "82.5"}, {"score": [body_model.MSG_NUMBER]}),
        ({"score": 10**400}, {"score": [body_model.MSG_NUMBER]}),
        ({"user_id": 12}, {"user_id": [MSG_BAD_ID]}),
        ({"user_id": None}, {"user_id": [body_model.MSG_NULL]}),
        ({"session_id": "sess-other"}, {"session_id": [ingestion.MSG_SESSION_ID_MISMATCH]}),
        ({"transcript": "hello"}, {"transcript": [body_model.MSG_LIST]}),
        ({"transcript": [None, 5]}, {"transcript.0": [body_model.MSG_OBJECT], "transcript.1": [body_model.MSG_OBJECT]}),
        ({"transcript": [{"role": "student", "content": 5}]}, {"transcript.0.content": [body_model.MSG_STRING]}),
        ({"transcript": [{"role": "student", "content": "x" * 50_001}]},
         {"transcript.0.content": ["Ensure this field has no more than 50000 characters."]}),
        ({"transcript": [{"role": "student", "content": "a\x00b"}]}, {"transcript.0.content": [MSG_CONTROL_CHARACTER_FREE_TEXT]}),
        ({"transcript": [{"role": "student", "content": "x"}] * 2001},
         {"transcript": ["Ensure this field has no more than 2000 elements."]}),
        ({"grade": []}, {"grade": [body_model.MSG_OBJECT]}),
        ({"grade": {"criteria": [], "max_score": None}}, {"grade.max_score": [body_model.MSG_NULL]}),
        ({"grade": {"criteria": [], "max_score": True}}, {"grade.max_score": [body_model.MSG_NUMBER]}),
        ({"grade": {"criteria": [], "max_score": -1}}, {"grade.max_score": ["Must be a number of at least 0."]}),
        ({"grade": {"criteria": [{"name": " ", "score": 1, "max_score": 2}]}}, {"grade.criteria.0.name": [body_model.MSG_BLANK]}),
        ({"grade": {"criteria": [{"name": "A\tB", "score": 1, "max_score": 2}]}}, {"grade.criteria.0.name": [MSG_CONTROL_CHARACTER]}),
        ({"grade": {"criteria": [{"name": " " + "x" * 199 + " ", "score": 1, "max_score": 2}]}},
         {"grade.criteria.0.name": ["Ensure this field has no more than 200 characters."]}),
        ({"grade": {"criteria": [{"name": "A", "max_score": 2}]}}, {"grade.criteria.0.score": [body_model.MSG_REQUIRED]}),
        ({"grade": {"criteria": [{"name": "A", "score": 3, "max_score": 2}]}},
         {"grade.criteria.0.score": [body_model.MSG_CRITERION_ABOVE_MAX]}),
        ({"grade": {"criteria": [{"name": "A", "score": 1, "max_score": 2, "weight": 1}]}},
         {"grade.criteria.0.weight": [MSG_NOT_WRITABLE]}),
    ],
)
def test_each_refusal_names_its_field_with_its_message(body, change, errors):
    body.update(change)
    assert _refusal(body) == errors


def test_a_date_time_in_range_as_written_is_stored_in_utc(body):
    body["ended_at"] = "2100-12-31T23:59:59-14:00"
    item = ingestion.session_input(data=body, session_id=SID)
    assert item.values["ended_at"] == dt.datetime(2101, 1, 1, 13, 59, 59, tzinfo=dt.timezone.utc)


def test_every_bad_field_of_a_body_is_named_at_once(body):
    body.update(status="paused", ended_at=iso(at(8)), score=-1, student_name="x")
    body["transcript"][1]["content"] = "\x07"
    body["grade"]["criteria"][1]["score"] = 26
    assert _refusal(body) == {
        "status": ['"paused" is not a valid choice.'],
        "score": ["Must be a number from 0 to 100."],
        "transcript.1.content": [MSG_CONTROL_CHARACTER_FREE_TEXT],
        "grade.criteria.1.score": [body_model.MSG_CRITERION_ABOVE_MAX],
        "student_name": [MSG_NOT_WRITABLE],
    }  # ended_at before started_at is only checked once every field is valid


def test_an_import_line_needs_a_session_id_and_the_body_is_checked_all_the_same(body):
    body["status"] = "paused"
    assert _refusal(body, session_id=None) == {
        "status": ['"paused" is not a valid choice.'], "session_id": [ingestion.MSG_SESSION_ID_REQUIRED],
    }


def test_a_body_that_is_not_an_object_is_named_as_a_whole():
    assert _refusal([1, 2]) == {"non_field_errors": [body_model.MSG_OBJECT]}


PLACEHOLDER = re.compile(r"\{(value|n|low|high)\b")
HOSTILE = [None, True, 0, -1, 1e308, 10**400, "", " ", "x" * 300, "\x00", "\ud800", "２０２５", "NaN", [], [None], {}, {"x": {}}]


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def test_any_value_anywhere_is_accepted_or_refused_with_messages_never_an_exception(body):
    for path in list(_paths(body)):
        for value in HOSTILE:
            data = copy.deepcopy(body)
            parent = data
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = value
            try:
                ingestion.session_input(data=data, session_id=SID)
            except AppError as exc:
                messages = [m for ms in exc.errors.values() for m in ms]
                assert messages and all(isinstance(m, str) and not PLACEHOLDER.search(m) for m in messages), (
                    path, value, exc.errors,
                )


def test_text_is_stored_in_nfc(ingest_client, body):
    body["transcript"][0]["content"] = "Zoe\u0308 Bronte\u0308"
    body["grade"]["feedback"] = "Cafe\u0301"
    body["grade"]["criteria"][0]["name"] = "  Re\u0301sume\u0301  "
    assert put(ingest_client, body).status_code == 201
    assert TranscriptMessage.objects.get(position=0).content == "Zoë Brontë"
    assert GradeReport.objects.get().feedback == "Café"
    assert GradeCriterion.objects.get(position=0).name == "Résumé"
    assert put(ingest_client, body).json()["data"]["result"] == "unchanged"


def test_the_schema_of_the_body_is_the_model_that_validates_it():
    from drf_spectacular.generators import SchemaGenerator

    from config.openapi import FREE_TEXT_PATTERN, NOT_BLANK_PATTERN

    spec = SchemaGenerator().get_schema(request=None, public=True)
    operation = spec["paths"]["/v1/sessions/{session_id}/"]["put"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SessionIngestRequest"
    }
    components = spec["components"]["schemas"]
    session, grade = components["SessionIngestRequest"], components["GradeInRequest"]
    message, criterion = components["TranscriptMessageInRequest"], components["GradeCriterionInRequest"]
    for component, model in [(session, body_model.SessionIngest), (grade, body_model.GradeIn),
                             (message, body_model.TranscriptMessageIn), (criterion, body_model.GradeCriterionIn)]:
        fields = model.__pydantic_fields__
        assert set(component["properties"]) == set(fields)
        assert set(component["required"]) == {name for name, f in fields.items() if f.is_required()}
        assert component["additionalProperties"] is False
        assert "anyOf" not in json.dumps(component) and "title" not in component
    assert set(session["required"]) == {"user_id", "case_study_id", "status", "started_at", "transcript_status", "grading_status"}
    assert session["properties"]["status"] == {"$ref": "#/components/schemas/SessionStatusEnum"}
    assert message["properties"]["role"] == {"$ref": "#/components/schemas/TranscriptRoleEnum"}
    assert components["SessionStatusEnum"]["enum"] == list(Session.Status.values)
    assert session["properties"]["user_id"]["pattern"] == f"^{OPAQUE_ID}$"
    assert session["properties"]["score"] == {"type": "number", "format": "double", "minimum": 0, "maximum": 100, "nullable": True}
    assert session["properties"]["transcript"]["nullable"] is True
    assert session["properties"]["transcript"]["maxItems"] == body_model.MAX_MESSAGES
    assert session["properties"]["grade"] == {
        "allOf": [{"$ref": "#/components/schemas/GradeInRequest"}], "nullable": True,
        "description": session["properties"]["grade"]["description"],
    }
    assert message["properties"]["content"] == {"type": "string", "maxLength": 50_000, "pattern": FREE_TEXT_PATTERN}
    assert criterion["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NOT_BLANK_PATTERN}
    assert "nullable" not in session["properties"]["session_id"] and "default" not in session["properties"]["session_id"]


def test_form_encoded_body_is_refused(ingest_client, body):
    response = ingest_client.put(URL, "user_id=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and not Session.objects.exists()
