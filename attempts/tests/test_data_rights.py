"""Students' data rights: GET /v1/students/{user_id}/data-export (everything held, as a ZIP) and
POST /v1/students/{user_id}/erase (personal data gone, anonymous aggregates kept)."""
import datetime as dt
import io
import json
import shutil
import zipfile

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.audit.services import audit_record
from accounts.events.models import Event
from accounts.events.services import ERASED
from accounts.models import AuditEvent
from attempts.data_rights import services
from attempts.data_rights.archive import FORMAT
from attempts.grants.services import attempts_grant
from attempts.models import AttemptGrant, GradeCriterion, GradeReport, TranscriptMessage
from config.errors import ALREADY_ERASED, LEGAL_HOLD
from students.models import Student
from students.records import services as records
from students.tests.test_avatar import image_bytes, put_avatar
from testing.factories import (
    AttemptGrantFactory,
    CaseStudyFactory,
    GradeCriterionFactory,
    GradeReportFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentFactory,
    StudentGroupFactory,
    TranscriptMessageFactory,
)
from testing.queries import API_REQUEST_QUERIES

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
TRANSCRIPT = "My name is Zoë Brontë and I live at 12 Awolowo Road; I would cut the subsidy in stages."
FEEDBACK = "Zoë quantified the second-order effects well."
GRANT_REASON = "Zoë was in hospital during the first attempt"


@pytest.fixture(autouse=True)
def _clean_media():
    yield
    shutil.rmtree(settings.MEDIA_ROOT / "avatars", ignore_errors=True)


def export_url(user_id):
    return f"/v1/students/{user_id}/data-export"


def erase_url(user_id):
    return f"/v1/students/{user_id}/erase"


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")


@pytest.fixture
def case_study(mba):
    return CaseStudyFactory(title="Fuel subsidy removal in Nigeria", programmes=[mba])


def _session(student, case_study, *, started, score, messages=2):
    session = SessionFactory(
        student=student, case_study=case_study, started_at=started, score=score,
        grading_status="complete" if score is not None else "pending",
    )
    for position in range(messages):
        TranscriptMessageFactory(
            session=session, position=position, role="student" if position % 2 == 0 else "assistant",
            content=TRANSCRIPT, timestamp=started + dt.timedelta(minutes=position),
        )
    if score is not None:
        report = GradeReportFactory(session=session, feedback=FEEDBACK, graded_at=started + dt.timedelta(hours=1))
        GradeCriterionFactory(report=report, position=0, name="Problem framing", score=20, max_score=25, feedback=FEEDBACK)
    return session


@pytest.fixture
def zoe(admin_client, mba, case_study):
    """A student with everything: two graded sessions and one in progress, a grant, a group, a
    photo, and audit events (created by the API, then renamed)."""
    created = admin_client.post("/v1/students", {
        "first_name": "Zoë", "last_name": "Brontë", "email": "zoe.bronte@uni.example",
        "programme_codes": ["MBA1234"], "student_number": "S-0042",
    }, format="json")
    assert created.status_code == 201, created.json()
    user_id = created.json()["data"]["user_id"]
    assert admin_client.patch(f"/v1/students/{user_id}", {"first_name": "Zoe"}, format="json").status_code == 200
    assert put_avatar(admin_client, Student.objects.get(pk=user_id), "me.png", image_bytes("PNG"), "image/png").status_code == 200
    student = Student.objects.get(pk=user_id)
    _session(student, case_study, started=T0, score=64)
    _session(student, case_study, started=T0 + dt.timedelta(days=2), score=81)
    _session(student, case_study, started=T0 + dt.timedelta(days=3), score=None, messages=1)
    attempts_grant(user_id=user_id, case_study_id=case_study.pk, attempts=1, reason=GRANT_REASON, actor=None)
    group = StudentGroupFactory(name="Lagos study group")
    group.members.add(student)
    return student


@pytest.fixture
def bystander(mba, case_study):
    """Another student of the same tenant, whose data must never show up or change."""
    student = StudentFactory(first_name="Chidinma", last_name="Okafọr", email="chidinma@uni.example", programmes=[mba])
    session = _session(student, case_study, started=T0, score=55)
    AttemptGrantFactory(student=student, case_study=case_study, reason="Chidinma's own reason")
    return student, session


def _zip(response):
    assert response.status_code == 200, response.content[:500]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# Export -----------------------------------------------------------------------------------


def test_export_is_a_zip_of_the_json_the_summary_and_the_photo(admin_client, zoe, tenant):
    response = admin_client.get(export_url(zoe.pk))
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    day = timezone.now().astimezone(tenant.tzinfo).date().isoformat()
    assert f'filename="student_data_test_{zoe.pk}_{day}.zip"' in response["Content-Disposition"]
    archive = _zip(response)
    assert sorted(archive.namelist()) == ["avatar.png", "student.json", "summary.txt"]
    zoe.refresh_from_db()
    with zoe.avatar.open("rb") as photo:
        assert archive.read("avatar.png") == photo.read()


def test_export_holds_every_section_with_the_right_values(admin_client, zoe, case_study):
    document = json.loads(_zip(admin_client.get(export_url(zoe.pk))).read("student.json"))
    assert document["format"] == FORMAT
    assert document["university"] == {"slug": "test", "name": "Test University"}
    record = document["student"]
    assert (record["user_id"], record["first_name"], record["last_name"]) == (zoe.pk, "Zoe", "Brontë")
    assert (record["email"], record["student_number"], record["avatar"]) == ("zoe.bronte@uni.example", "S-0042", "avatar.png")
    assert record["legal_hold"] is False and record["erased_at"] is None
    assert record["created_at"].endswith("Z")
    [programme] = document["programmes"]
    assert (programme["code"], programme["name"]) == ("MBA1234", "Masters in Business Administration")
    assert dt.date.fromisoformat(programme["enrolled_on"])
    sessions = document["sessions"]
    assert [s["score"] for s in sessions] == [64, 81, None]
    assert sessions[0]["started_at"] == "2026-03-02T09:30:00Z"
    assert sessions[0]["case_study_title"] == "Fuel subsidy removal in Nigeria"
    assert [m["role"] for m in sessions[0]["transcript"]] == ["student", "assistant"]
    assert sessions[0]["transcript"][0]["content"] == TRANSCRIPT
    assert sessions[0]["grade_report"]["feedback"] == FEEDBACK
    assert sessions[0]["grade_report"]["criteria"] == [
        {"name": "Problem framing", "score": 20, "max_score": 25, "feedback": FEEDBACK}
    ]
    assert sessions[2]["grade_report"] is None
    [grant] = document["attempt_grants"]
    assert (grant["attempts"], grant["reason"], grant["case_study_id"]) == (1, GRANT_REASON, case_study.pk)
    assert [(g["group_name"], g["current"]) for g in document["groups"]] == [("Lagos study group", True)]
    actions = [e["action"] for e in document["audit_events"]]
    assert actions[:3] == ["student.create", "student.update", "student.avatar_set"]
    assert "attempts.grant" in actions
    assert document["audit_events"][1]["changes"] == {"first_name": ["Zoë", "Zoe"]}


def test_export_summary_is_readable_text_of_the_same(admin_client, zoe):
    summary = _zip(admin_client.get(export_url(zoe.pk))).read("summary.txt").decode()
    assert summary.startswith("Data held about Zoe Brontë by Test University")
    for text in ("zoe.bronte@uni.example", "S-0042", "SESSIONS (3)", TRANSCRIPT, FEEDBACK, GRANT_REASON, "Lagos study group",
                 "student.update by admin@uni.example: first_name changed"):
        assert text in summary


def test_export_holds_nothing_of_other_students_or_tenants(admin_client, zoe, bystander, other_tenant, tenant):
    with schema_context(other_tenant.schema_name):
        StudentFactory(first_name="Søren", last_name="Kierkegård", email="soren@other.example")
    connection.set_tenant(tenant)
    raw = _zip(admin_client.get(export_url(zoe.pk))).read("student.json").decode()
    for foreign in ("Chidinma", "chidinma@uni.example", "Chidinma's own reason", bystander[1].pk, "Søren", "soren@other.example"):
        assert foreign not in raw


def test_export_is_audited(admin_client, zoe, admin_user):
    admin_client.get(export_url(zoe.pk))
    event = AuditEvent.objects.filter(action="student.data_export").get()
    assert (event.target_type, event.target_id, event.actor_id) == ("student", zoe.pk, admin_user.pk)
    assert event.detail == {"sessions": 3, "attempt_grants": 1, "audit_events": 4, "avatar": True}
    assert event.changes == {}


def test_export_without_a_photo_has_no_avatar_entry(admin_client):
    student = StudentFactory()
    assert sorted(_zip(admin_client.get(export_url(student.pk))).namelist()) == ["student.json", "summary.txt"]


@pytest.mark.parametrize("sessions", [1, 6])
def test_export_costs_the_same_queries_whatever_the_number_of_sessions(admin_client, case_study, sessions, django_assert_num_queries):
    student = StudentFactory()
    for n in range(sessions):
        _session(student, case_study, started=T0 + dt.timedelta(days=n), score=50 + n)
        AttemptGrantFactory(student=student, case_study=case_study)
    # Request: API_REQUEST_QUERIES. Savepoint. Selector: student (cohort and advisor joined),
    # programmes, enrolments, sessions, messages, criteria, grants, memberships, remembered
    # memberships, audit events (10). Audit event and its release: 2 (the insert, the savepoint).
    with django_assert_num_queries(API_REQUEST_QUERIES + 13):
        response = admin_client.get(export_url(student.pk))
    assert len(json.loads(_zip(response).read("student.json"))["sessions"]) == sessions


@pytest.mark.parametrize("client_name", ["viewer_client", "operator_client"])
def test_export_and_erase_are_refused_without_the_permission(request, client_name):
    student = StudentFactory()
    client = request.getfixturevalue(client_name)
    for response in (client.get(export_url(student.pk)), client.post(erase_url(student.pk), {"reason": "x"}, format="json")):
        assert response.status_code == 403
        assert response.json()["code"] == "PERMISSION_DENIED"
    assert not AuditEvent.objects.filter(action__in=["student.data_export", "student.erase"]).exists()


def test_export_and_erase_need_credentials(anon_client):
    student = StudentFactory()
    assert anon_client.get(export_url(student.pk)).status_code == 401
    assert anon_client.post(erase_url(student.pk), {"reason": "x"}, format="json").status_code == 401


@pytest.mark.parametrize("suffix", ["", "/"])
def test_unknown_student_is_a_404_in_the_envelope(admin_client, suffix):
    for response in (
        admin_client.get(export_url("5f0000000000000000000000") + suffix),
        admin_client.post(erase_url("5f0000000000000000000000") + suffix, {"reason": "Request of 1 May"}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "success": False, "data": None, "message": response.json()["message"], "code": "NOT_FOUND", "errors": None,
        }


def test_a_deleted_students_data_is_still_exported_and_erased(admin_client):
    student = StudentFactory(first_name="Ngozi", email="ngozi@uni.example")
    records.student_delete(user_id=student.pk)
    document = json.loads(_zip(admin_client.get(export_url(student.pk))).read("student.json"))
    assert document["student"]["email"] == "ngozi@uni.example" and document["student"]["deleted_at"].endswith("Z")
    assert admin_client.post(erase_url(student.pk), {"reason": "Request"}, format="json").status_code == 200
    student.refresh_from_db()
    assert (student.first_name, student.deleted_at is not None) == ("Erased student", True)


def test_a_malformed_id_is_a_400_naming_it(admin_client):
    for response in (admin_client.get(export_url("bad id!")), admin_client.post(erase_url("bad id!"), {"reason": "x"}, format="json")):
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "VALIDATION_ERROR" and "user_id" in body["errors"]


def test_another_tenants_student_is_a_404(admin_client, other_tenant, tenant):
    with schema_context(other_tenant.schema_name):
        foreign = StudentFactory(email="elsewhere@other.example")
    connection.set_tenant(tenant)
    assert admin_client.get(export_url(foreign.pk)).status_code == 404
    assert admin_client.post(erase_url(foreign.pk), {"reason": "Request"}, format="json").status_code == 404


# Erasure ----------------------------------------------------------------------------------


def _figures(client, student, case_study, group):
    """What the API answers that counts the student: their cards' numbers, the participants
    dashboard's row but for the name and email, the group's results."""
    detail = client.get(f"/v1/console/students/{student.pk}").json()["data"]
    cards = [
        {k: v for k, v in card.items() if k not in ("case_study_title",)}
        for card in detail["case_study_details"]
    ]
    totals = {k: detail[k] for k in ("case_studies_attempted", "total_sessions", "total_attempts", "overall_case_studies", "last_seen")}
    participants = client.get(f"/v1/case-studies/{case_study.pk}/users/?statuses=invited,joined,completed").json()["data"]
    rows = sorted(
        ({k: v for k, v in row.items() if k not in ("student_name", "student_email")} for row in participants["results"]),
        key=lambda row: row["user_id"],
    )
    results = client.get(f"/v1/student-groups/{group.pk}/results").json()["data"]
    return cards, totals, rows, participants["count"], results


def test_erasure_removes_personal_data_and_keeps_every_figure(admin_client, zoe, bystander, case_study, django_capture_on_commit_callbacks):
    group = zoe.student_groups.get()
    before = _figures(admin_client, zoe, case_study, group)
    photo = Student.objects.get(pk=zoe.pk).avatar.name
    assert default_storage.exists(photo)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(erase_url(zoe.pk), {"reason": "  Student's request by email of 1 Dec 2026 "}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    record = data["student"]
    assert record["first_name"] == "Erased student" and len(record["last_name"]) == 8
    assert record["email"].startswith("erased-") and record["email"].endswith("@erased.invalid")
    assert (record["student_number"], record["avatar_url"]) == (None, None)
    assert record["erased_at"] is not None and record["programmes"] == [{"code": "MBA1234", "name": "Masters in Business Administration"}]
    assert (data["transcript_messages"], data["grade_texts"], data["grant_reasons"]) == (5, 4, 1)

    zoe.refresh_from_db()
    assert not default_storage.exists(photo) and not zoe.avatar
    assert not TranscriptMessage.objects.filter(session__student=zoe).exclude(content="").exists()
    assert TranscriptMessage.objects.filter(session__student=zoe).count() == 5  # roles, order and times kept
    assert not GradeReport.objects.filter(session__student=zoe).exclude(feedback="").exists()
    assert not GradeCriterion.objects.filter(report__session__student=zoe).exclude(feedback="").exists()
    assert list(AttemptGrant.objects.filter(student=zoe).values_list("delta", "reason")) == [(1, ERASED)]
    assert _figures(admin_client, zoe, case_study, group) == before

    # The bystander is untouched.
    other, session = bystander
    other.refresh_from_db()
    assert (other.first_name, other.email) == ("Chidinma", "chidinma@uni.example")
    assert TranscriptMessage.objects.filter(session=session, content=TRANSCRIPT).count() == 2
    assert AttemptGrant.objects.get(student=other).reason == "Chidinma's own reason"


def test_erasure_leaves_no_personal_value_anywhere_the_api_answers(admin_client, zoe):
    admin_client.get(export_url(zoe.pk))  # an export before: its event is about the student too
    assert admin_client.post(erase_url(zoe.pk), {"reason": "Student's request"}, format="json").status_code == 200
    raw = _zip(admin_client.get(export_url(zoe.pk))).read("student.json").decode()
    audit = json.dumps(admin_client.get(f"/v1/audit-events?target_id={zoe.pk}").json(), ensure_ascii=False)
    # The feed's events are numbered at the commit, which a test does not reach: read as stored.
    feed = json.dumps(list(Event.objects.values("data", "subject_id")), ensure_ascii=False)
    for personal in ("Zoë", "Zoe", "Brontë", "zoe.bronte@uni.example", "S-0042", "Awolowo", "hospital", "avatar.png", ".png"):
        assert personal not in raw, personal
        assert personal not in audit, personal
        assert personal not in feed, personal
    assert ERASED in audit and ERASED in feed


def test_earlier_audit_events_keep_what_was_done_by_whom_and_when(admin_client, zoe):
    earlier = list(AuditEvent.objects.filter(target_type="student", target_id=zoe.pk).order_by("id").values())
    admin_client.post(erase_url(zoe.pk), {"reason": "Student's request"}, format="json")
    after = list(AuditEvent.objects.filter(target_type="student", target_id=zoe.pk).order_by("id").values())
    assert len(after) == len(earlier) + 1
    kept = ("id", "occurred_at", "actor_id", "actor_email", "via", "ip", "request_id", "action", "target_type", "target_id")
    assert [{k: e[k] for k in kept} for e in after[:-1]] == [{k: e[k] for k in kept} for e in earlier]
    update = next(e for e in after if e["action"] == "student.update")
    assert update["changes"] == {"first_name": [ERASED, ERASED]}
    create = next(e for e in after if e["action"] == "student.create")
    assert create["changes"]["programmes"] == [None, ["MBA1234"]]  # not personal: kept
    assert create["changes"]["first_name"] == [None, ERASED]
    grant = next(e for e in after if e["action"] == "attempts.grant")
    assert grant["detail"]["reason"] == ERASED and grant["changes"] == {"extra_attempts": [0, 1], "attempts_allowed": [2, 3]}


def test_erasure_is_audited_with_its_reason_and_no_erased_value(admin_client, zoe, admin_user):
    admin_client.post(erase_url(zoe.pk), {"reason": "Student's request by email of 1 Dec 2026"}, format="json")
    event = AuditEvent.objects.get(action="student.erase")
    assert (event.target_id, event.actor_id, event.changes) == (zoe.pk, admin_user.pk, {})
    assert event.detail["reason"] == "Student's request by email of 1 Dec 2026"
    assert event.detail["fields"] == ["first_name", "last_name", "email", "student_number", "avatar"]
    assert "Zo" not in json.dumps(event.detail)
    erased = Event.objects.get(type="student.erased")
    assert erased.student_id == zoe.pk
    assert erased.data["first_name"] == "Erased student" and erased.data["email"].endswith("@erased.invalid")


def test_the_pseudonym_is_the_same_for_the_same_student_and_unique(admin_client):
    first, second = StudentFactory(), StudentFactory()
    for student in (first, second):
        assert admin_client.post(erase_url(student.pk), {"reason": "Request"}, format="json").status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.email != second.email and first.last_name != second.last_name
    assert records.erased_pseudonym(first.pk)["email"] == first.email


def test_a_legal_hold_refuses_erasure_and_changes_nothing(admin_client, zoe):
    response = admin_client.patch(f"/v1/students/{zoe.pk}", {"legal_hold": True}, format="json")
    assert response.status_code == 200 and response.json()["data"]["legal_hold"] is True
    audited = AuditEvent.objects.filter(action="student.update").order_by("-id").first()
    assert audited.changes == {"legal_hold": [False, True]}
    snapshot = (list(Student.objects.filter(pk=zoe.pk).values()), list(TranscriptMessage.objects.values_list("content", flat=True)),
                list(AuditEvent.objects.values_list("changes", "detail")), list(Event.objects.values_list("data", flat=True)))
    response = admin_client.post(erase_url(zoe.pk), {"reason": "Student's request"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["message"], body["data"], body["success"]) == (LEGAL_HOLD, records.MSG_LEGAL_HOLD, None, False)
    assert snapshot == (list(Student.objects.filter(pk=zoe.pk).values()), list(TranscriptMessage.objects.values_list("content", flat=True)),
                        list(AuditEvent.objects.values_list("changes", "detail")), list(Event.objects.values_list("data", flat=True)))
    # Lifted, the erasure goes through.
    assert admin_client.patch(f"/v1/students/{zoe.pk}", {"legal_hold": False}, format="json").status_code == 200
    assert admin_client.post(erase_url(zoe.pk), {"reason": "Student's request"}, format="json").status_code == 200


def test_only_data_rights_managers_may_set_a_legal_hold(api_as, zoe):
    from testing.factories import StaffUserFactory

    editor = StaffUserFactory(roles=[])
    editor.roles.create(name="records-editor", permissions=["USER_MANAGEMENT.can_view", "USER_MANAGEMENT.can_edit"])
    client = api_as(editor)
    assert client.patch(f"/v1/students/{zoe.pk}", {"legal_hold": True}, format="json").status_code == 403
    assert client.patch(f"/v1/students/{zoe.pk}", {"first_name": "Zoë"}, format="json").status_code == 200
    assert Student.objects.get(pk=zoe.pk).legal_hold is False


def test_legal_hold_is_a_json_boolean(admin_client, zoe):
    response = admin_client.patch(f"/v1/students/{zoe.pk}", {"legal_hold": "yes"}, format="json")
    assert response.status_code == 400 and "legal_hold" in response.json()["errors"]


def test_a_second_erasure_is_refused(admin_client):
    student = StudentFactory()
    assert admin_client.post(erase_url(student.pk), {"reason": "Request"}, format="json").status_code == 200
    response = admin_client.post(erase_url(student.pk), {"reason": "Request"}, format="json")
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["message"]) == (ALREADY_ERASED, records.MSG_ALREADY_ERASED)
    assert AuditEvent.objects.filter(action="student.erase").count() == 1


@pytest.mark.parametrize("body, message", [
    ({}, None),
    ({"reason": ""}, services.MSG_ERASE_REASON_REQUIRED),
    ({"reason": "   \n\t"}, services.MSG_ERASE_REASON_REQUIRED),
    ({"reason": "x" * 501}, services.MSG_ERASE_REASON_TOO_LONG),
    ({"reason": 5}, None),
    ({"reason": "ok", "extra": 1}, None),
    ({"reason": "bad\x00byte"}, None),
])
def test_bad_erase_bodies_are_400s_in_the_envelope_and_change_nothing(admin_client, zoe, body, message):
    response = admin_client.post(erase_url(zoe.pk), body, format="json")
    assert response.status_code == 400, response.json()
    payload = response.json()
    assert (payload["success"], payload["data"], payload["code"]) == (False, None, "VALIDATION_ERROR")
    if message:
        assert payload["errors"] == {"reason": [message]}
    zoe.refresh_from_db()
    assert zoe.erased_at is None and zoe.email == "zoe.bronte@uni.example"


def test_erasure_is_all_or_nothing(admin_client, zoe, monkeypatch):
    def failing(**kwargs):
        raise IntegrityError("the disk is full")

    monkeypatch.setattr(services, "audit_events_erase_values", failing)
    with pytest.raises(IntegrityError), transaction.atomic():
        services.student_erase(user_id=zoe.pk, reason="Request")
    zoe.refresh_from_db()
    assert (zoe.first_name, zoe.erased_at) == ("Zoe", None)
    assert TranscriptMessage.objects.filter(session__student=zoe, content=TRANSCRIPT).count() == 5
    assert AttemptGrant.objects.get(student=zoe).reason == GRANT_REASON


def test_audit_events_stay_append_only_outside_an_erasure(zoe):
    event = AuditEvent.objects.filter(target_id=zoe.pk).first()
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET changes = '{}'::jsonb WHERE id = %s", [event.pk])
    # The erasure's way through rewrites values only, never who, what or when.
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL audit.erase = 'on'")
        cursor.execute("UPDATE accounts_auditevent SET action = 'student.forged' WHERE id = %s", [event.pk])


def test_the_erased_record_is_still_counted_and_can_be_audited_again(admin_client, zoe):
    admin_client.post(erase_url(zoe.pk), {"reason": "Request"}, format="json")
    audit_record(action="student.update", target_type="student", target_id=zoe.pk, before={"status": "active"}, after={"status": "inactive"})
    assert AuditEvent.objects.filter(target_id=zoe.pk, action="student.update").count() == 2


def test_the_schema_documents_both_endpoints(anon_client):
    schema = anon_client.get("/v1/schema/?format=json").json()
    paths = {path.rstrip("/"): operations for path, operations in schema["paths"].items()}
    export = paths["/v1/students/{user_id}/data-export"]["get"]
    assert list(export["responses"]["200"]["content"]) == ["application/zip"]
    assert {"400", "401", "403", "404"} <= set(export["responses"])
    erase = paths["/v1/students/{user_id}/erase"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(erase["responses"])
    body = erase["requestBody"]["content"]["application/json"]["schema"]
    request = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert request["required"] == ["reason"] and request["properties"]["reason"]["maxLength"] == 500
    assert request["additionalProperties"] is False


def test_a_session_reported_after_erasure_is_stored_without_its_text(admin_client, ingest_client, zoe, case_study):
    admin_client.post(erase_url(zoe.pk), {"reason": "Request"}, format="json")
    report = {
        "user_id": zoe.pk, "case_study_id": case_study.pk, "status": "ended", "started_at": "2026-04-01T09:00:00Z",
        "ended_at": "2026-04-01T09:24:00Z", "last_activity_at": "2026-04-01T09:20:00Z", "score": 82.5,
        "transcript_status": "available", "grading_status": "complete",
        "transcript": [
            {"role": "assistant", "content": "Welcome, Zoë.", "timestamp": "2026-04-01T09:00:00Z"},
            {"role": "student", "content": "I am Zoë Brontë.", "timestamp": "2026-04-01T09:01:00Z"},
        ],
        "grade": {
            "max_score": 100, "feedback": "Zoë was clear.", "graded_at": "2026-04-01T10:00:00Z",
            "criteria": [
                {"name": "Problem framing", "score": 22, "max_score": 25, "feedback": "Good framing by Zoë."},
                {"name": "Quantification", "score": 18.5, "max_score": 25},
            ],
        },
    }
    response = ingest_client.put("/v1/sessions/6650d3e4f5a6b7c8d9e0fff1", report, format="json")
    assert response.status_code == 201, response.json()
    messages = TranscriptMessage.objects.filter(session_id="6650d3e4f5a6b7c8d9e0fff1")
    assert list(messages.values_list("role", "content")) == [("assistant", ""), ("student", "")]
    grade = GradeReport.objects.get(session_id="6650d3e4f5a6b7c8d9e0fff1")
    assert (grade.feedback, grade.session.score) == ("", 82.5)
    assert list(GradeCriterion.objects.filter(report=grade).values_list("name", "score", "feedback")) == [
        ("Problem framing", 22, ""), ("Quantification", 18.5, ""),
    ]
    # Replayed, it changes nothing.
    assert ingest_client.put("/v1/sessions/6650d3e4f5a6b7c8d9e0fff1", report, format="json").status_code == 200


def test_export_answers_without_a_photo_whose_file_is_gone(admin_client, zoe):
    zoe.refresh_from_db()
    default_storage.delete(zoe.avatar.name)
    archive = _zip(admin_client.get(export_url(zoe.pk)))
    assert sorted(archive.namelist()) == ["student.json", "summary.txt"]
    assert json.loads(archive.read("student.json"))["student"]["avatar"] is None
