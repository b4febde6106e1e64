"""The audit trail: every staff write, export and transcript read leaves one event, in the
same transaction, attributed to who did it; events are append-only; admins read them through
GET /v1/audit-events and the console's Audit page; old ones are pruned."""
import datetime as dt
import io
import shutil

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from PIL import Image

from accounts.audit.services import audit_events_prune, audit_record
from accounts.models import AuditEvent
from testing.clients import TenantAPIClient
from testing.factories import (
    CaseStudyFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentFactory,
    TranscriptMessageFactory,
)

URL = "/v1/audit-events"


@pytest.fixture(autouse=True)
def _clean_media():
    yield
    shutil.rmtree(settings.MEDIA_ROOT / "avatars", ignore_errors=True)


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA", name="Business")


def _events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def _last():
    return AuditEvent.objects.order_by("-id").first()


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


# What is recorded ---------------------------------------------------------------------------


def test_a_student_created_through_the_api_names_the_token_user_address_and_request(admin_client, admin_user, mba):
    body = {"first_name": "Ada", "last_name": "Obi", "email": "ada@uni.example", "programme_codes": ["MBA"]}
    response = admin_client.post(URL.replace("audit-events", "students"), body, format="json", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 201
    event = _last()
    assert (event.action, event.target_type, event.target_id) == ("student.create", "student", response.json()["data"]["user_id"])
    assert (event.actor_id, event.actor_email, event.via, event.ip, event.request_id) == (
        admin_user.pk, "admin@uni.example", "token", "127.0.0.1", "req-123"
    )
    assert event.changes["email"] == [None, "ada@uni.example"]
    assert event.changes["programmes"] == [None, ["MBA"]]


def test_student_edits_archive_unarchive_avatar_and_delete_each_leave_their_event(admin_client, mba):
    student = StudentFactory(first_name="Ada", programmes=[mba])
    path = f"/v1/students/{student.pk}"
    assert admin_client.patch(path, {"first_name": "Adaeze"}, format="json").status_code == 200
    assert _last().changes == {"first_name": ["Ada", "Adaeze"]}
    assert admin_client.put(f"{path}/archive", {"withdrawn_on": "2026-01-05"}, format="json").status_code == 200
    assert _last().action == "student.archive"
    assert _last().changes["archived"] == [False, True] and _last().changes["withdrawn_on"] == [None, "2026-01-05"]
    assert admin_client.put(f"{path}/unarchive", format="json").status_code == 200
    assert _last().action == "student.unarchive" and _last().changes["archived"] == [True, False]
    avatar = {"avatar": SimpleUploadedFile("a.png", _png(), content_type="image/png")}
    assert admin_client.put(f"{path}/avatar", avatar, format="multipart").status_code == 200
    assert _last().action == "student.avatar_set" and _last().changes["avatar"][0] is None
    assert admin_client.delete(f"{path}/avatar").status_code in (200, 204)
    assert _last().action == "student.avatar_clear" and _last().changes["avatar"][1] is None
    assert admin_client.delete(path).status_code in (200, 204)
    assert _last().action == "student.delete"
    assert [e.action for e in _events(target_id=student.pk)] == [
        "student.update", "student.archive", "student.unarchive", "student.avatar_set", "student.avatar_clear",
        "student.delete",
    ]


def test_a_refused_write_leaves_no_event(admin_client, mba):
    StudentFactory(email="taken@uni.example")
    body = {"first_name": "A", "last_name": "B", "email": "taken@uni.example", "programme_codes": ["MBA"]}
    assert admin_client.post("/v1/students", body, format="json").status_code == 409
    assert not AuditEvent.objects.exists()


def test_catalogue_changes(admin_client, mba):
    assert admin_client.post("/v1/programmes", {"code": "LAW", "name": "Law"}, format="json").status_code == 201
    assert (_last().action, _last().target_type) == ("programme.create", "programme")
    assert admin_client.patch("/v1/programmes/LAW", {"name": "Laws"}, format="json").status_code == 200
    assert _last().changes == {"name": ["Law", "Laws"]}
    body = {"title": "Fuel subsidy", "programme_codes": ["MBA"], "max_attempts": 2}
    created = admin_client.post("/v1/case-studies", body, format="json")
    assert created.status_code == 201 and _last().action == "case_study.create"
    case_study_id = created.json()["data"]["case_study_id"]
    assert admin_client.patch(f"/v1/case-studies/{case_study_id}", {"programme_codes": ["LAW", "MBA"], "is_active": False},
                              format="json").status_code == 200
    assert _last().changes == {"is_active": [True, False], "programmes": [["MBA"], ["LAW", "MBA"]]}


def test_groups_clusters_and_members(admin_client):
    ada, bo = StudentFactory(), StudentFactory()
    cluster = admin_client.post("/v1/student-clusters", {"name": "Year 2"}, format="json").json()["data"]
    assert _last().action == "student_cluster.create"
    group = admin_client.post("/v1/student-groups", {"name": "Lagos", "student_cluster_id": cluster["id"]}, format="json").json()["data"]
    assert _last().action == "student_group.create"
    assert admin_client.patch(f"/v1/student-groups/{group['id']}", {"name": "Lagos cohort"}, format="json").status_code == 200
    assert _last().changes == {"name": ["Lagos", "Lagos cohort"]}
    members = f"/v1/student-groups/{group['id']}/members"
    assert admin_client.post(members, {"user_ids": [ada.pk, bo.pk]}, format="json").status_code == 200
    added = _events(action="student_group.members_add")
    assert {(e.target_type, e.target_id) for e in added} == {
        ("student_group", group["id"]), ("student", ada.pk), ("student", bo.pk)
    }
    assert admin_client.delete(members, {"user_ids": [bo.pk]}, format="json").status_code == 200
    assert {e.target_id for e in _events(action="student_group.members_remove", target_type="student")} == {bo.pk}
    assert admin_client.delete(f"/v1/student-groups/{group['id']}").status_code in (200, 204)
    assert _last().action == "student_group.delete"


def test_grants_revokes_and_bulk_grants(admin_client, mba):
    case_study = CaseStudyFactory(programmes=[mba])
    ada, bo = StudentFactory(programmes=[mba]), StudentFactory(programmes=[mba])
    body = {"user_id": ada.pk, "case_study_id": case_study.pk, "attempts": 2, "reason": "Outage"}
    assert admin_client.post("/v1/console/attempts/grant", body, format="json").status_code in (200, 201)
    event = _last()
    assert (event.action, event.target_id, event.detail["delta"], event.detail["reason"]) == ("attempts.grant", ada.pk, 2, "Outage")
    assert admin_client.post("/v1/console/attempts/revoke", {**body, "attempts": 1}, format="json").status_code in (200, 201)
    assert (_last().action, _last().detail["delta"]) == ("attempts.revoke", -1)
    bulk = {"user_ids": [ada.pk, bo.pk], "case_study_id": case_study.pk, "attempts": 1, "reason": "Outage"}
    assert admin_client.post("/v1/console/attempts/grant/bulk", bulk, format="json").status_code in (200, 201)
    assert {e.target_id for e in _events(action="attempts.grant")} == {ada.pk, bo.pk}
    assert len(_events(action="attempts.grant")) == 3


def test_grants_and_revokes_show_the_allowance_before_and_after(admin_client, mba):
    case_study = CaseStudyFactory(programmes=[mba], max_attempts=3)
    ada, bo = StudentFactory(programmes=[mba]), StudentFactory(programmes=[mba])
    body = {"user_id": ada.pk, "case_study_id": case_study.pk, "attempts": 2, "reason": "Outage"}
    assert admin_client.post("/v1/console/attempts/grant", body, format="json").status_code == 201
    assert _last().changes == {"extra_attempts": [0, 2], "attempts_allowed": [3, 5]}
    assert admin_client.post("/v1/console/attempts/revoke", {**body, "attempts": 1}, format="json").status_code == 201
    assert _last().changes == {"extra_attempts": [2, 1], "attempts_allowed": [5, 4]}

    bulk = {"user_ids": [ada.pk, bo.pk], "case_study_id": case_study.pk, "attempts": 1, "reason": "Outage"}
    assert admin_client.post("/v1/console/attempts/grant/bulk", bulk, format="json").status_code == 201
    granted = {e.target_id: e.changes for e in _events(action="attempts.grant") if e.detail["delta"] == 1}
    assert granted == {
        ada.pk: {"extra_attempts": [1, 2], "attempts_allowed": [4, 5]},
        bo.pk: {"extra_attempts": [0, 1], "attempts_allowed": [3, 4]},
    }
    assert admin_client.post("/v1/console/attempts/revoke/bulk", bulk, format="json").status_code == 201
    revoked = {e.target_id: e.changes for e in _events(action="attempts.revoke") if e.detail["delta"] == -1}
    assert revoked[bo.pk] == {"extra_attempts": [1, 0], "attempts_allowed": [4, 3]}
    history = admin_client.get(URL, {"target_id": bo.pk}).json()["data"]
    assert [event["changes"] for event in history if event["action"].startswith("attempts.")] == [
        {"extra_attempts": [1, 0], "attempts_allowed": [4, 3]},
        {"extra_attempts": [0, 1], "attempts_allowed": [3, 4]},
    ]


def test_exports_and_transcript_reads(admin_client, admin_user, mba, host):
    StudentFactory(programmes=[mba])
    response = admin_client.get("/v1/console/students/export", {"format": "csv", "programme": "MBA"})
    b"".join(response.streaming_content)
    event = _last()
    assert (event.action, event.detail) == ("students.export", {"format": "csv", "filters": {"programme": "MBA"}})
    session = SessionFactory()
    TranscriptMessageFactory(session=session, position=0)
    assert admin_client.get(f"/v1/console/student-performance/attempts/{session.pk}/transcript").status_code == 200
    assert (_last().action, _last().target_id, _last().detail["student_id"]) == (
        "attempt.transcript_read", session.pk, session.student_id
    )
    page = TenantAPIClient(host)
    page.force_login(admin_user)
    assert page.get(f"/attempts/{session.pk}/").status_code == 200
    assert (_last().action, _last().via) == ("attempt.transcript_read", "session")


def test_staff_created_by_the_command_keeps_no_password(tenant):
    call_command("create_staff", "--tenant", tenant.slug, "--email", "new@uni.example", "--password", "s3cret-Pass!",
                 "--role", "operator")
    event = _last()
    assert (event.action, event.via, event.actor_email) == ("staff.create", "system", "")
    assert event.changes["roles"] == [None, ["operator"]]
    assert "s3cret-Pass!" not in str(event.changes) + str(event.detail)


# Append-only -------------------------------------------------------------------------------


def test_events_cannot_be_changed_or_deleted(admin_user):
    event = audit_record(action="student.update", target_type="student", target_id="x1")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError):
        event.save()
    for sql in ("UPDATE accounts_auditevent SET action = 'forged'", "DELETE FROM accounts_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.get(pk=event.pk).action == "student.update"


def test_pruning_removes_only_events_past_the_retention(tenant):
    old = audit_record(action="student.update", target_type="student", target_id="old")
    recent = audit_record(action="student.update", target_type="student", target_id="new")
    with connection.cursor() as cursor:  # as if written long ago (the trigger allows no UPDATE)
        cursor.execute("ALTER TABLE accounts_auditevent DISABLE TRIGGER audit_append_only")
        cursor.execute("UPDATE accounts_auditevent SET occurred_at = now() - interval '800 days' WHERE id = %s", [old.pk])
        cursor.execute("ALTER TABLE accounts_auditevent ENABLE TRIGGER audit_append_only")
    assert audit_events_prune(days=730) == 1
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    out = io.StringIO()
    call_command("prune_audit_events", "--days", "1", stdout=out)
    assert "pruned in all" in out.getvalue() and AuditEvent.objects.count() == 1


# Reading it ----------------------------------------------------------------------------------


def test_only_admins_read_the_trail(admin_client, operator_client, viewer_client):
    audit_record(action="student.update", target_type="student", target_id="x1")
    assert admin_client.get(URL).status_code == 200
    assert operator_client.get(URL).status_code == 403
    assert viewer_client.get(URL).status_code == 403


def test_filters_newest_first_and_the_list_envelope(admin_client, admin_user, operator_user):
    for n in range(3):
        audit_record(action="student.update", target_type="student", target_id=f"s{n}")
    audit_record(action="case_study.update", target_type="case_study", target_id="c1")
    body = admin_client.get(URL, {"limit": 2}).json()
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (4, 1, 2, 2)
    assert [row["target_id"] for row in body["data"]] == ["c1", "s2"]
    assert [r["target_id"] for r in admin_client.get(URL, {"action": "student"}).json()["data"]] == ["s2", "s1", "s0"]
    assert [r["target_id"] for r in admin_client.get(URL, {"target_type": "student", "target_id": "s1"}).json()["data"]] == ["s1"]
    assert admin_client.get(URL, {"actor": "nobody@uni.example"}).json()["total"] == 0
    soon = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert admin_client.get(URL, {"since": soon}).json()["total"] == 0
    assert admin_client.get(URL, {"until": soon}).json()["total"] == 4


@pytest.mark.parametrize(
    "params, field",
    [({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"), ({"since": "yesterday"}, "since"),
     ({"action": "DROP TABLE"}, "action"), ({"target_id": "a\x00b"}, "target_id"), ({"limit": "500"}, "limit")],
)
def test_bad_filters_are_400_naming_the_field(admin_client, params, field):
    response = admin_client.get(URL, params)
    assert response.status_code == 400 and field in response.json()["errors"]


def _signed_in(host, user):
    client = TenantAPIClient(host)
    client.force_login(user)
    return client


def test_the_console_page_and_the_history_link(host, admin_user, operator_user, mba):
    student = StudentFactory(programmes=[mba])
    audit_record(action="student.update", target_type="student", target_id=student.pk,
                 before={"first_name": "Ada"}, after={"first_name": "Adaeze"})
    admin = _signed_in(host, admin_user)
    detail = admin.get(f"/students/{student.pk}/").content.decode()
    history = f'href="/audit/?target_type=student&amp;target_id={student.pk}">History</a>'
    assert history in detail
    page = admin.get("/audit/", {"target_type": "student", "target_id": student.pk})
    html = page.content.decode()
    assert page.status_code == 200 and "<strong>First name</strong>: Ada → Adaeze" in html
    assert 'aria-current="page">Audit</a>' in html
    assert admin.get("/audit/", {"since": "2026-02-30"}).status_code == 400
    operator = _signed_in(host, operator_user)
    assert operator.get("/audit/").status_code == 403
    assert history not in operator.get(f"/students/{student.pk}/").content.decode()
