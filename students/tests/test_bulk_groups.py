"""Bulk group membership: POST /v1/student-groups/{id}/members/bulk-add and /bulk-remove, all or
nothing, each refused student named, one audit event per student changed."""
import pytest

from accounts.models import AuditEvent
from students.groups.services import MSG_BULK_ADD_REFUSED, MSG_BULK_REMOVE_REFUSED, REASON_ARCHIVED
from students.models import ArchivedMembership, GroupMembership
from students.records.services import MSG_BULK_IDS, REASON_BAD_ID, REASON_UNKNOWN
from testing.factories import StudentFactory, StudentGroupFactory


def _url(group, action):
    return f"/v1/student-groups/{group.pk}/members/bulk-{action}"


def _members(group):
    return set(GroupMembership.objects.filter(group=group).values_list("student_id", flat=True))


def test_bulk_add_then_remove_reports_each_student_and_audits_each(admin_client):
    group = StudentGroupFactory()
    students = StudentFactory.create_batch(3)
    GroupMembership.objects.create(group=group, student=students[0])
    ids = [s.pk for s in students]
    response = admin_client.post(_url(group, "add"), {"user_ids": ids + [ids[1]]}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["added"], data["already_members"]) == (ids[1:], ids[:1])
    assert data["group"]["id"] == group.pk and _members(group) == set(ids)
    added = AuditEvent.objects.filter(action="student_group.members_add", target_type="student")
    assert sorted(added.values_list("target_id", flat=True)) == sorted(ids[1:])

    outsider = StudentFactory()
    response = admin_client.post(_url(group, "remove"), {"user_ids": [ids[0], outsider.pk]}, format="json")
    assert response.status_code == 200
    assert (response.json()["data"]["removed"], response.json()["data"]["not_members"]) == ([ids[0]], [outsider.pk])
    assert _members(group) == set(ids[1:])
    removed = AuditEvent.objects.filter(action="student_group.members_remove", target_type="student")
    assert list(removed.values_list("target_id", flat=True)) == [ids[0]]


def test_bulk_remove_forgets_an_archived_students_remembered_membership(admin_client):
    group = StudentGroupFactory()
    student = StudentFactory(archived=True)
    ArchivedMembership.objects.create(group=group, student=student)
    response = admin_client.post(_url(group, "remove"), {"user_ids": [student.pk]}, format="json")
    assert response.json()["data"]["removed"] == [student.pk]
    assert not ArchivedMembership.objects.exists()


def test_one_refusal_adds_nobody_and_names_each_student(admin_client):
    group = StudentGroupFactory()
    fine, archived = StudentFactory(), StudentFactory(archived=True)
    body = {"user_ids": [fine.pk, archived.pk, "nobody-here", "bad id!"]}
    response = admin_client.post(_url(group, "add"), body, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == MSG_BULK_ADD_REFUSED
    assert response.json()["errors"] == {
        "user_ids[1]": [f"{archived.pk}: {REASON_ARCHIVED}"],
        "user_ids[2]": [f"nobody-here: {REASON_UNKNOWN}"],
        "user_ids[3]": [REASON_BAD_ID],
    }
    assert _members(group) == set() and not AuditEvent.objects.exists()


def test_one_unknown_student_removes_nobody(admin_client):
    group = StudentGroupFactory()
    member = StudentFactory()
    GroupMembership.objects.create(group=group, student=member)
    response = admin_client.post(_url(group, "remove"), {"user_ids": [member.pk, "nobody-here"]}, format="json")
    assert response.status_code == 400 and response.json()["message"] == MSG_BULK_REMOVE_REFUSED
    assert _members(group) == {member.pk} and not AuditEvent.objects.exists()


def test_an_unknown_group_is_404_and_a_malformed_one_400(admin_client):
    student = StudentFactory()
    assert admin_client.post("/v1/student-groups/abcdef0123456789abcdef01/members/bulk-add", {"user_ids": [student.pk]},
                             format="json").status_code == 404
    assert admin_client.post("/v1/student-groups/a%00b/members/bulk-add", {"user_ids": [student.pk]},
                             format="json").status_code in (400, 404)


@pytest.mark.parametrize("action", ["add", "remove"])
def test_only_catalogue_editors_may(operator_client, viewer_client, action):
    group = StudentGroupFactory()
    student = StudentFactory()
    for client in (operator_client, viewer_client):
        assert client.post(_url(group, action), {"user_ids": [student.pk]}, format="json").status_code == 403
    assert _members(group) == set()


@pytest.mark.parametrize(
    "body, field",
    [({"user_ids": []}, "user_ids"), ({"user_ids": [f"s{n}" for n in range(501)]}, "user_ids"),
     ({"user_ids": "a1"}, "user_ids"), ({"user_ids": ["x" * 10_000]}, "user_ids[0]"),
     ({"user_ids": ["a1"], "extra": 1}, "extra")],
)
def test_bad_bodies_are_400_naming_the_field(admin_client, body, field):
    group = StudentGroupFactory()
    response = admin_client.post(_url(group, "add"), body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_the_limit_message(admin_client):
    group = StudentGroupFactory()
    response = admin_client.post(_url(group, "remove"), {"user_ids": []}, format="json")
    assert response.json()["errors"] == {"user_ids": [MSG_BULK_IDS]}
