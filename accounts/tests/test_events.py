"""The change feed's events (accounts.events): each change of interest writes its event in its
own transaction (kept only if the change is), the dispatcher is woken once per transaction,
and GET /v1/events reads them in position order, page by page, for admins only.

These tests run in the test's rolled-back transaction, where nothing commits: `number()` fires
the commit-time numbering early (SET CONSTRAINTS … IMMEDIATE), as a commit would.
Commit order itself, with real commits on several connections, is test_events_commit_order.py."""
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from drf_spectacular.generators import SchemaGenerator

from accounts.events import types
from accounts.events.filters import MSG_BAD_CURSOR, MSG_UNKNOWN_TYPE
from accounts.events.models import Event, EventCounter
from accounts.events.selectors import MSG_CURSOR_EXPIRED, event_payload, events_after
from accounts.events.services import WEBHOOKS_DISPATCH, event_record, events_prune
from accounts.events.types import EVENT_TYPES
from attempts.grants import services as grants
from attempts.ingestion import services as ingestion
from catalogue.models import CaseStudy
from config.errors import MSG_PERMISSION_DENIED
from students.imports import services as imports
from students.records import services as records
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory, StudentGroupFactory
from testing.jobs import queued_jobs
from testing.queries import API_REQUEST_QUERIES

FEED = "/v1/events"
REASON = "Power cut during the session"


def number():
    """Give the transaction's events their positions now, as its commit would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS event_position IMMEDIATE")
        cursor.execute("SET CONSTRAINTS event_position DEFERRED")


def recorded(type_=None):
    """The events written so far (numbered), in position order."""
    number()
    events = Event.objects.order_by("position")
    return list(events.filter(type=type_) if type_ else events)


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA")


@pytest.fixture
def case_study(mba):
    return CaseStudyFactory(programmes=[mba])


@pytest.fixture
def student(mba):
    return StudentFactory(programmes=[mba], first_name="Chidinma", last_name="Okafọr")


# Every type is recorded by its change ----------------------------------------------------


def test_a_student_created_through_the_api_is_an_event_with_its_fields_and_actor(admin_client, admin_user, mba):
    body = {"first_name": "Zoë", "last_name": "Brontë", "email": "zoe@uni.example", "programme_codes": ["MBA"]}
    response = admin_client.post("/v1/students", body, format="json")
    assert response.status_code == 201
    user_id = response.json()["data"]["user_id"]
    [event] = recorded()
    assert event_payload(event) | {"id": None, "occurred_at": None} == {
        "id": None,
        "type": "student.created",
        "position": "1",
        "occurred_at": None,
        "actor": {"id": admin_user.pk, "email": "admin@uni.example", "via": "token"},
        "subject": {"type": "student", "id": user_id},
        "student_id": user_id,
        "data": event.data,
    }
    assert event.data["first_name"] == [None, "Zoë"]
    assert event.data["programmes"] == [None, ["MBA"]]
    assert "password" not in event.data


def test_a_student_update_is_an_event_of_the_fields_changed_and_a_save_changing_nothing_is_none(admin_client, student):
    response = admin_client.patch(f"/v1/students/{student.pk}", {"last_name": "Okafor"}, format="json")
    assert response.status_code == 200
    admin_client.patch(f"/v1/students/{student.pk}", {"last_name": "Okafor"}, format="json")  # the same again
    [event] = recorded()
    assert (event.type, event.student_id, event.data) == ("student.updated", student.pk, {"last_name": ["Okafọr", "Okafor"]})


def test_archive_unarchive_and_delete_are_events(admin_client, student):
    assert admin_client.put(f"/v1/students/{student.pk}/archive", {"withdrawn_on": "2026-01-31"}, format="json").status_code == 200
    assert admin_client.put(f"/v1/students/{student.pk}/unarchive", format="json").status_code == 200
    assert admin_client.delete(f"/v1/students/{student.pk}").status_code == 200
    archived, unarchived, deleted = recorded()
    assert [archived.type, unarchived.type, deleted.type] == ["student.archived", "student.unarchived", "student.deleted"]
    assert archived.data["archived"] == [False, True]
    assert archived.data["withdrawn_on"] == [None, "2026-01-31"]
    assert unarchived.data["enrollment_status"] == ["withdrawn", "enrolled"]
    assert deleted.data["email"] == [student.email, None]
    assert [e.position for e in (archived, unarchived, deleted)] == [1, 2, 3]


def test_an_erasure_is_an_event_with_the_pseudonym_and_earlier_events_lose_the_values(admin_client, student):
    assert admin_client.patch(f"/v1/students/{student.pk}", {"first_name": "Ngozi"}, format="json").status_code == 200
    assert admin_client.patch(f"/v1/students/{student.pk}", {"legal_hold": True}, format="json").status_code == 200
    assert admin_client.patch(f"/v1/students/{student.pk}", {"legal_hold": False}, format="json").status_code == 200
    assert admin_client.post(f"/v1/students/{student.pk}/erase", {"reason": "Request"}, format="json").status_code == 200
    renamed, held, lifted, erased = recorded()
    assert renamed.data == {"first_name": ["[erased]", "[erased]"]}
    assert (held.data, lifted.data) == ({"legal_hold": [False, True]}, {"legal_hold": [True, False]})
    assert erased.type == "student.erased" and erased.student_id == student.pk
    assert erased.data["first_name"] == "Erased student" and erased.data["student_number"] is None
    assert erased.data["avatar"] is None and erased.data["erased_at"].endswith("Z")


def test_a_photo_set_and_cleared_is_a_student_update_of_its_file_name(admin_client, student):
    from django.core.files.storage import default_storage

    from students.tests.test_avatar import image_bytes, put_avatar

    assert put_avatar(admin_client, student, "me.png", image_bytes("PNG")).status_code == 200
    assert admin_client.delete(f"/v1/students/{student.pk}/avatar").status_code == 200
    set_, cleared = recorded()
    default_storage.delete(set_.data["avatar"][1])  # the file the rolled-back test leaves
    assert (set_.type, cleared.type) == ("student.updated", "student.updated")
    assert set_.data["avatar"][0] is None and set_.data["avatar"][1].endswith(".png")
    assert cleared.data == {"avatar": [set_.data["avatar"][1], None]}


def test_bulk_archive_is_one_event_per_student(admin_client, mba):
    students = [StudentFactory(programmes=[mba]) for _ in range(3)]
    response = admin_client.post(
        "/v1/students/bulk/archive", {"user_ids": [s.pk for s in students], "graduated_on": "2026-06-30"}, format="json"
    )
    assert response.status_code == 200
    assert sorted(e.student_id for e in recorded("student.archived")) == sorted(s.pk for s in students)


def test_grants_and_revokes_are_events_with_the_allowance_before_and_after(operator_client, operator_user, student, case_study):
    body = {"user_id": student.pk, "case_study_id": case_study.pk, "attempts": 2, "reason": REASON}
    assert operator_client.post("/v1/console/attempts/grant", body, format="json").status_code == 201
    assert operator_client.post("/v1/console/attempts/revoke", body | {"attempts": 1}, format="json").status_code == 201
    granted, revoked = recorded()
    assert granted.type == "attempts.granted" and revoked.type == "attempts.revoked"
    assert granted.subject_type == "attempt_grant" and granted.student_id == student.pk
    assert granted.data == {
        "case_study_id": case_study.pk, "grant_id": granted.subject_id, "attempts": 2, "reason": REASON,
        "extra_attempts": [0, 2], "attempts_allowed": [2, 4],
    }
    assert revoked.data["attempts"] == 1 and revoked.data["extra_attempts"] == [2, 1]
    assert granted.actor == {"id": operator_user.pk, "email": "operator@uni.example", "via": "token"}


def test_a_bulk_grant_is_one_event_per_student(operator_client, mba, case_study):
    students = [StudentFactory(programmes=[mba]) for _ in range(4)]
    body = {"user_ids": [s.pk for s in students], "case_study_id": case_study.pk, "attempts": 1, "reason": REASON}
    assert operator_client.post("/v1/console/attempts/grant/bulk", body, format="json").status_code == 201
    events = recorded()
    assert [e.type for e in events] == ["attempts.granted"] * 4
    assert {e.student_id for e in events} == {s.pk for s in students}


def test_group_member_changes_are_one_event_per_student_changed(admin_client, mba):
    group = StudentGroupFactory()
    a, b, c = (StudentFactory(programmes=[mba]) for _ in range(3))
    url = f"/v1/student-groups/{group.pk}/members"
    assert admin_client.post(url, {"user_ids": [a.pk, b.pk]}, format="json").status_code == 200
    assert admin_client.post(f"{url}/bulk-add", {"user_ids": [c.pk, a.pk]}, format="json").status_code == 200
    # The second removal names b, no member any more: only c's is an event.
    assert admin_client.delete(url, {"user_ids": [b.pk]}, format="json").status_code == 200
    assert admin_client.delete(url, {"user_ids": [b.pk, c.pk]}, format="json").status_code == 200
    events = recorded()
    assert [(e.type, e.student_id) for e in events] == [
        ("group.members_added", a.pk), ("group.members_added", b.pk), ("group.members_added", c.pk),
        ("group.members_removed", b.pk), ("group.members_removed", c.pk),
    ]
    assert {(e.subject_type, e.subject_id) for e in events} == {("student_group", group.pk)}
    assert events[0].data == {"group_id": group.pk, "group_name": group.name}


def _session_body(student, case_study, **overrides):
    return {
        "user_id": student.pk, "case_study_id": case_study.pk, "status": "ended",
        "started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:20:00Z",
        "last_activity_at": "2026-03-02T09:20:00Z", "score": 72.5, "transcript_status": "available",
        "grading_status": "complete",
    } | overrides


def test_a_session_ingested_ended_is_session_completed_and_changes_the_final_score(ingest_client, ingest_user, student, case_study):
    response = ingest_client.put("/v1/sessions/sess-1", _session_body(student, case_study), format="json")
    assert response.status_code == 201
    completed, scored = recorded()
    assert (completed.type, completed.subject_type, completed.subject_id, completed.student_id) == (
        "session.completed", "session", "sess-1", student.pk
    )
    assert completed.data == {
        "case_study_id": case_study.pk, "result": "created", "status": "ended", "started_at": "2026-03-02T09:00:00Z",
        "ended_at": "2026-03-02T09:20:00Z", "last_activity_at": "2026-03-02T09:20:00Z", "score": 72.5,
        "transcript_status": "available", "grading_status": "complete",
    }
    assert completed.actor == {"id": ingest_user.pk, "email": "runtime@uni.example", "via": "token"}
    assert (scored.type, scored.subject_type, scored.subject_id, scored.student_id) == (
        "final_score.changed", "case_study", case_study.pk, student.pk
    )
    assert scored.data == {"case_study_id": case_study.pk, "grading_method": "highest", "final_score": [None, 72.5]}


def test_a_session_report_changing_nothing_is_no_event_and_one_not_changing_the_final_score_is_only_completed(
    ingest_client, student, case_study
):
    ingest_client.put("/v1/sessions/sess-1", _session_body(student, case_study), format="json")
    ingest_client.put("/v1/sessions/sess-1", _session_body(student, case_study), format="json")  # unchanged
    lower = _session_body(student, case_study, score=60, started_at="2026-03-03T09:00:00Z",
                          ended_at="2026-03-03T09:20:00Z", last_activity_at="2026-03-03T09:20:00Z")
    assert ingest_client.put("/v1/sessions/sess-2", lower, format="json").status_code == 201  # highest stays 72.5
    assert [e.type for e in recorded()] == ["session.completed", "final_score.changed", "session.completed"]


def test_an_in_progress_session_is_no_event_until_it_ends(ingest_client, student, case_study):
    running = _session_body(student, case_study, status="in_progress", ended_at=None, score=None, grading_status="pending")
    ingest_client.put("/v1/sessions/sess-1", running, format="json")
    assert recorded() == []
    ingest_client.put("/v1/sessions/sess-1", _session_body(student, case_study, score=None, grading_status="pending"), format="json")
    [event] = recorded()
    assert (event.type, event.data["result"]) == ("session.completed", "updated")
    graded = _session_body(student, case_study, score=90)
    ingest_client.put("/v1/sessions/sess-1", graded, format="json")
    assert [(e.type, e.data.get("final_score")) for e in recorded()][1:] == [
        ("session.completed", None), ("final_score.changed", [None, 90.0]),
    ]


def test_the_final_score_follows_the_grading_method(ingest_client, student, mba):
    average = CaseStudyFactory(programmes=[mba], grading_method=CaseStudy.GradingMethod.AVERAGE)
    for n, score in enumerate((60, 80), start=1):
        body = _session_body(student, average, score=score, started_at=f"2026-03-0{n}T09:00:00Z",
                             ended_at=f"2026-03-0{n}T09:20:00Z", last_activity_at=f"2026-03-0{n}T09:20:00Z")
        ingest_client.put(f"/v1/sessions/avg-{n}", body, format="json")
    assert [e.data["final_score"] for e in recorded("final_score.changed")] == [[None, 60.0], [60.0, 70.0]]


def test_import_sessions_records_the_events_of_each_line(tmp_path, tenant, student, case_study):
    import json

    lines = [
        _session_body(student, case_study, session_id="imp-1"),
        _session_body(student, case_study, session_id="imp-2", status="in_progress", ended_at=None, score=None,
                      grading_status="pending"),
        {"session_id": "imp-3", "user_id": "nobody"},
    ]
    path = tmp_path / "sessions.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    call_command("import_sessions", str(path), tenant=tenant.slug, no_progress=True, stdout=io.StringIO())
    connection.set_tenant(tenant)
    events = recorded()
    assert [(e.type, e.subject_id) for e in events] == [("session.completed", "imp-1"), ("final_score.changed", case_study.pk)]
    assert events[0].actor == {"id": None, "email": "", "via": "system"}


def test_an_import_applied_is_one_event_with_its_counts_and_one_per_student_written(tenant, student, mba):
    data = (
        "first_name,last_name,email,programme_codes\n"
        "Amara,Nwosu,amara@uni.example,MBA\n"
        f"Chidinma,Okafor,{student.email},MBA\n"
    ).encode()
    imports.students_import(data=data, dry_run=True)
    assert recorded() == []
    report = imports.students_import(data=data, dry_run=False)
    assert report.applied
    events = recorded()
    assert sorted(e.type for e in events) == ["student.created", "student.updated", "students.import_applied"]
    [applied] = [e for e in events if e.type == "students.import_applied"]
    assert applied.data == {"file_format": "csv", "rows": 2, "created": 1, "updated": 1, "unchanged": 0}
    assert applied.student_id is None and applied.subject_type == "student_import"
    assert events[-1] == applied  # written after the students' own


def test_export_done_is_recorded_through_event_record(tenant):
    expires = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
    event_record(type=types.EXPORT_DONE, subject_type="export_job", subject_id="job-1",
                 data={"kind": "list", "format": "csv", "rows": 12, "expires_at": expires})
    [event] = recorded()
    assert event.data == {"kind": "list", "format": "csv", "rows": 12, "expires_at": "2026-03-02T09:00:00Z"}


def test_every_declared_type_has_a_recorder_covered_above():
    covered = {
        "student.created", "student.updated", "student.archived", "student.unarchived", "student.deleted",
        "attempts.granted", "attempts.revoked", "group.members_added", "group.members_removed",
        "session.completed", "final_score.changed", "students.import_applied", "export.done", "student.erased",
    }
    assert set(EVENT_TYPES) == covered


def test_an_undeclared_type_or_subject_is_refused(tenant):
    with pytest.raises(ValueError):
        event_record(type="student.renamed", subject_type="student", subject_id="s", student_id="s")
    with pytest.raises(ValueError):
        event_record(type=types.EXPORT_DONE, subject_type="student", subject_id="s")


# Same transaction: a change undone leaves no event ---------------------------------------


def test_a_change_rolled_back_leaves_no_event(admin_client, operator_user, student, case_study):
    with pytest.raises(RuntimeError), transaction.atomic():
        records.student_update(user_id=student.pk, last_name="Okafor")
        grants.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=operator_user)
        assert Event.objects.count() == 2
        raise RuntimeError("undone")
    assert recorded() == []


def test_a_refused_bulk_change_leaves_no_event(admin_client, student):
    archived = StudentFactory(archived=True, enrollment_status="withdrawn", withdrawn_on=dt.date(2026, 1, 5))
    response = admin_client.post(
        "/v1/students/bulk/archive", {"user_ids": [student.pk, archived.pk], "withdrawn_on": "2026-02-01"}, format="json"
    )
    assert response.status_code == 400
    assert recorded() == []


def test_a_rejected_session_line_leaves_no_event_while_the_others_keep_theirs(student, case_study):
    good = ingestion.session_input(data=_session_body(student, case_study, session_id="ok-1"))
    moved = ingestion.session_input(data=_session_body(student, case_study, session_id="ok-1", user_id=StudentFactory().pk))
    outcomes = ingestion.sessions_ingest(items=[good, moved])
    assert [o.result for o in outcomes] == ["created", "rejected"]
    assert [e.type for e in recorded()] == ["session.completed", "final_score.changed"]


# The dispatcher is woken once per transaction ---------------------------------------------


@pytest.fixture
def no_wake_up_waiting(tenant):
    """No committed wake-up of this tenant's dispatcher waiting (a test that committed may have
    left one), for this test's transaction only."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM public.procrastinate_jobs WHERE queueing_lock = %s", [f"{WEBHOOKS_DISPATCH}:{tenant.schema_name}"]
        )


def test_the_dispatcher_is_woken_once_per_transaction(tenant, student, no_wake_up_waiting):
    records.student_update(user_id=student.pk, last_name="One")
    records.student_update(user_id=student.pk, last_name="Two")
    jobs = queued_jobs(WEBHOOKS_DISPATCH)
    assert [args for _, _, args, _ in jobs] == [{"schema": tenant.schema_name}]
    with connection.cursor() as cursor:
        cursor.execute("SELECT queueing_lock FROM public.procrastinate_jobs WHERE id = %s", [jobs[0][0]])
        assert cursor.fetchone()[0] == f"webhooks.dispatch:{tenant.schema_name}"


def test_a_savepoint_undoing_the_wake_up_undoes_its_mark_too(tenant, student, no_wake_up_waiting):
    with pytest.raises(RuntimeError), transaction.atomic():
        records.student_update(user_id=student.pk, last_name="Undone")
        assert len(queued_jobs(WEBHOOKS_DISPATCH)) == 1
        raise RuntimeError("undone")
    assert queued_jobs(WEBHOOKS_DISPATCH) == []
    records.student_update(user_id=student.pk, last_name="Kept")
    assert len(queued_jobs(WEBHOOKS_DISPATCH)) == 1


def test_a_change_that_is_no_event_wakes_nothing(admin_client, no_wake_up_waiting):
    assert admin_client.post("/v1/cohorts", {"name": "2026"}, format="json").status_code == 201
    assert Event.objects.count() == 0 and queued_jobs(WEBHOOKS_DISPATCH) == []


# The feed ---------------------------------------------------------------------------------


def _exports(n):
    for index in range(n):
        event_record(type=types.EXPORT_DONE, subject_type="export_job", subject_id=f"job-{index}", data={"rows": index})
    number()


def _page(client, **params):
    response = client.get(FEED, params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_feed_pages_through_every_event_once_in_position_order(admin_client):
    _exports(7)
    seen, after = [], None
    while True:
        body = _page(admin_client, **({"after": after} if after is not None else {}), limit=3)
        seen.extend(body["data"])
        assert body["next"] == (body["data"][-1]["position"] if body["data"] else after)
        after = body["next"]
        if not body["has_more"]:
            break
    assert [e["position"] for e in seen] == [str(n) for n in range(1, 8)]
    assert [e["subject"]["id"] for e in seen] == [f"job-{n}" for n in range(7)]
    assert _page(admin_client, after=after) == {"success": True, "data": [], "next": "7", "has_more": False, "message": None}


def test_the_feed_answers_the_payload_webhooks_send(admin_client, admin_user):
    _exports(1)
    body = _page(admin_client)
    assert body["data"] == [event_payload(Event.objects.get())]
    assert set(body["data"][0]) == {"id", "type", "position", "occurred_at", "actor", "subject", "student_id", "data"}
    assert body["data"][0]["occurred_at"].endswith("Z")


def test_the_feed_filters_by_types_repeated_or_comma_separated(admin_client, operator_user, student, case_study):
    records.student_update(user_id=student.pk, last_name="Adeyemi")
    grants.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=operator_user)
    _exports(1)
    assert [e["type"] for e in _page(admin_client, types="attempts.granted")["data"]] == ["attempts.granted"]
    both = admin_client.get(f"{FEED}?types=student.updated&types=export.done").json()["data"]
    assert [e["type"] for e in both] == ["student.updated", "export.done"]
    assert [e["type"] for e in _page(admin_client, types="export.done,,attempts.granted")["data"]] == [
        "attempts.granted", "export.done"
    ]
    assert len(_page(admin_client, types="")["data"]) == 3  # empty: no filter


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"after": "-1"}, "after", MSG_BAD_CURSOR),
        ({"after": "abc"}, "after", MSG_BAD_CURSOR),
        ({"after": "1" * 19}, "after", MSG_BAD_CURSOR),
        ({"after": "007"}, "after", MSG_BAD_CURSOR),
        ({"types": "student.renamed"}, "types", MSG_UNKNOWN_TYPE.format(names="student.renamed", types=", ".join(EVENT_TYPES))),
        ({"types": "student.created, export.done"}, "types", None),
        ({"limit": "0"}, "limit", None),
        ({"limit": "1001"}, "limit", None),
    ],
)
def test_a_bad_cursor_type_or_limit_is_a_400_naming_it(admin_client, params, field, message):
    response = admin_client.get(FEED, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and list(body["errors"]) == [field]
    if message:
        assert body["errors"][field] == [message]


def test_bad_parameters_are_named_together(admin_client):
    body = admin_client.get(FEED, {"after": "x", "types": "nope", "limit": "0"}).json()
    assert sorted(body["errors"]) == ["after", "limit", "types"]


def test_a_cursor_from_before_the_pruned_events_is_a_410_and_the_feed_starts_after_them(admin_client):
    _exports(3)
    Event.objects.filter(position__lte=2).update(occurred_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    assert events_prune(days=30) == 2
    assert EventCounter.objects.get().pruned_through == 2
    for after in ("0", "1"):
        response = admin_client.get(FEED, {"after": after})
        assert response.status_code == 410
        assert response.json() == {
            "success": False, "data": None, "message": MSG_CURSOR_EXPIRED, "code": "CURSOR_EXPIRED",
            "errors": {"after": [MSG_CURSOR_EXPIRED]},
        }
    assert [e["position"] for e in _page(admin_client, after="2")["data"]] == ["3"]
    assert [e["position"] for e in _page(admin_client)["data"]] == ["3"]
    assert events_prune(days=30) == 0


def test_prune_keeps_every_position_from_the_first_recent_event_on(tenant):
    _exports(4)
    old = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    # Position 3 is old but committed after a recent one: kept, so what stays has no hole.
    Event.objects.filter(position__in=[1, 3]).update(occurred_at=old)
    assert events_prune(days=30) == 1
    assert list(Event.objects.order_by("position").values_list("position", flat=True)) == [2, 3, 4]
    Event.objects.update(occurred_at=old)
    assert events_prune(days=30) == 3
    assert EventCounter.objects.get().pruned_through == 4


def test_an_empty_feed_after_a_prune_of_everything_answers_the_pruned_cursor(admin_client):
    _exports(2)
    Event.objects.update(occurred_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    events_prune(days=1)
    assert _page(admin_client) == {"success": True, "data": [], "next": "2", "has_more": False, "message": None}


def test_unnumbered_events_of_a_transaction_not_yet_committed_are_not_read(tenant):
    event_record(type=types.EXPORT_DONE, subject_type="export_job", subject_id="job-1")
    assert events_after(0, limit=10) == []
    number()
    assert len(events_after(0, limit=10)) == 1


@pytest.mark.parametrize("client_name", ["operator_client", "viewer_client", "ingest_client"])
def test_the_feed_needs_events_can_read(request, client_name):
    response = request.getfixturevalue(client_name).get(FEED)
    assert response.status_code == 403
    assert response.json()["message"] == MSG_PERMISSION_DENIED


def test_the_feed_needs_credentials(anon_client):
    assert anon_client.get(FEED).status_code == 401


def test_another_tenants_events_are_not_in_the_feed(admin_client, other_tenant_client, other_tenant, tenant):
    _exports(2)
    assert other_tenant_client.get(FEED).json()["data"] == []
    assert len(_page(admin_client)["data"]) == 2


def test_the_feed_costs_two_queries_whatever_the_page(admin_client, django_assert_num_queries):
    _exports(30)
    # The request's own (the token); the events of the page; the counter row.
    with django_assert_num_queries(API_REQUEST_QUERIES + 2):
        body = _page(admin_client, limit=25)
    assert len(body["data"]) == 25 and body["has_more"]


def test_the_trailing_slash_is_served_too(admin_client):
    assert admin_client.get(f"{FEED}/").status_code == 200


# The schema --------------------------------------------------------------------------------


def test_the_schema_documents_every_event_type_and_its_data():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    components = spec["components"]["schemas"]
    event = components["Event"]
    assert set(event["discriminator"]["mapping"]) == set(EVENT_TYPES)
    for name, ref in event["discriminator"]["mapping"].items():
        schema = components[ref.rsplit("/", 1)[-1]]
        assert schema["properties"]["type"]["pattern"] == "^" + name.replace(".", r"\.") + "$"
        assert "data" in schema["properties"], name
    operation = spec["paths"]["/v1/events/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"after", "types", "limit"}
    assert "410" in operation["responses"]
    granted = components["AttemptsGrantedEvent"]["properties"]["data"]
    assert "AttemptsChangeData" in str(granted)
