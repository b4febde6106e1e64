"""Bulk archive and unarchive: POST /v1/students/bulk/archive and /bulk/unarchive, all or
nothing, a refusal naming each student, an audit event per student changed."""
import pytest

from accounts.models import AuditEvent
from students.models import ArchivedMembership, GroupMembership, Student
from students.records.services import (
    MSG_BULK_ARCHIVE_REFUSED,
    MSG_BULK_IDS,
    REASON_ALREADY_ARCHIVED,
    REASON_BAD_ID,
    REASON_NOT_ARCHIVED,
    REASON_UNKNOWN,
)
from testing.factories import StudentFactory, StudentGroupFactory

ARCHIVE, UNARCHIVE = "/v1/students/bulk/archive", "/v1/students/bulk/unarchive"


def _archived(*students):
    return [Student.objects.values_list("archived", flat=True).get(pk=s.pk) for s in students]


def test_archive_several_then_unarchive_them(admin_client):
    students = StudentFactory.create_batch(3)
    group = StudentGroupFactory()
    GroupMembership.objects.create(group=group, student=students[0])
    ids = [s.pk for s in students]
    response = admin_client.post(ARCHIVE, {"user_ids": ids + [ids[0]], "graduated_on": "2026-06-30"}, format="json")
    assert response.status_code == 200 and response.json()["data"] == {"user_ids": ids}
    assert _archived(*students) == [True, True, True]
    assert ArchivedMembership.objects.filter(student=students[0], group=group).exists()
    assert sorted(AuditEvent.objects.filter(action="student.archive").values_list("target_id", flat=True)) == sorted(ids)
    response = admin_client.post(UNARCHIVE, {"user_ids": ids}, format="json")
    assert response.status_code == 200 and _archived(*students) == [False, False, False]
    assert GroupMembership.objects.filter(student=students[0], group=group).exists()
    assert AuditEvent.objects.filter(action="student.unarchive").count() == 3


def test_one_refusal_changes_nothing_and_names_each_student(admin_client):
    fine = StudentFactory()
    already = StudentFactory(archived=True)
    body = {"user_ids": [fine.pk, already.pk, "nobody-here", "bad id!"], "withdrawn_on": "2026-01-05"}
    response = admin_client.post(ARCHIVE, body, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == MSG_BULK_ARCHIVE_REFUSED
    assert response.json()["errors"] == {
        "user_ids[1]": [f"{already.pk}: {REASON_ALREADY_ARCHIVED}"],
        "user_ids[2]": [f"nobody-here: {REASON_UNKNOWN}"],
        "user_ids[3]": [REASON_BAD_ID],
    }
    assert _archived(fine) == [False] and not AuditEvent.objects.exists()
    response = admin_client.post(UNARCHIVE, {"user_ids": [fine.pk]}, format="json")
    assert response.json()["errors"] == {"user_ids[0]": [f"{fine.pk}: {REASON_NOT_ARCHIVED}"]}


@pytest.mark.parametrize(
    "body, field",
    [({"user_ids": [], "graduated_on": "2026-06-30"}, "user_ids"), ({"user_ids": ["a1"]}, "withdrawn_on"),
     ({"user_ids": ["a1"], "graduated_on": "2026-06-30", "withdrawn_on": "2026-06-30"}, "graduated_on"),
     ({"user_ids": [f"s{n}" for n in range(501)], "graduated_on": "2026-06-30"}, "user_ids"),
     ({"user_ids": "a1", "graduated_on": "2026-06-30"}, "user_ids")],
)
def test_bad_bodies_are_400_naming_the_field(admin_client, body, field):
    response = admin_client.post(ARCHIVE, body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_the_limit_message(admin_client):
    response = admin_client.post(UNARCHIVE, {"user_ids": []}, format="json")
    assert response.json()["errors"] == {"user_ids": [MSG_BULK_IDS]}


def test_only_editors_may(operator_client, viewer_client):
    student = StudentFactory()
    for client in (operator_client, viewer_client):
        assert client.post(ARCHIVE, {"user_ids": [student.pk], "graduated_on": "2026-06-30"}, format="json").status_code == 403
    assert _archived(student) == [False]
