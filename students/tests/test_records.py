"""Student records API (ManageBac parity, SPEC §7.5): list filters, create, update,
soft delete, archive and unarchive, permissions and tenant isolation."""
import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from catalogue.models import Programme
from config.errors import MSG_PERMISSION_DENIED, MSG_UNAUTHENTICATED
from config.serializers import MSG_NOT_WRITABLE
from students.models import ArchivedMembership, GroupMembership, Student
from students.records import services
from testing.factories import (
    CohortFactory,
    ProgrammeFactory,
    StaffUserFactory,
    StudentFactory,
    StudentGroupFactory,
)

RECORD_KEYS = {
    "user_id", "first_name", "last_name", "email", "status", "enrollment_status", "archived", "withdrawn_on",
    "graduated_on", "student_number", "cohort", "advisor", "programmes", "avatar_url", "created_at", "updated_at",
    # Beyond SPEC §7.5: students' data rights (README).
    "legal_hold", "erased_at",
}


@pytest.fixture
def programmes():
    return (
        ProgrammeFactory(code="MBA1234", name="Master of Business Administration"),
        ProgrammeFactory(code="ACC2001", name="Accounting and Finance"),
    )


def ids_of(response):
    return [row["user_id"] for row in response.json()["data"]]


def backdate(*students, to):
    Student.objects.filter(pk__in=[s.pk for s in students]).update(updated_at=to)


# Reading --------------------------------------------------------------------------------


def test_record_has_every_field_with_programmes_ordered_by_code(viewer_client, programmes):
    cohort = CohortFactory(name="Class of 2027")
    advisor = StaffUserFactory(email="advisor@uni.example", full_name="Adaeze Nnamdi")
    student = StudentFactory(
        first_name="Chidinma", last_name="Okafọr", email="chidinma@uni.example", student_number="S-001",
        cohort=cohort, advisor=advisor, programmes=list(programmes),
    )
    response = viewer_client.get(f"/v1/students/{student.user_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["message"] is None
    record = body["data"]
    assert set(record) == RECORD_KEYS
    assert record["first_name"] == "Chidinma" and record["last_name"] == "Okafọr"
    assert record["status"] == "active" and record["enrollment_status"] == "enrolled"
    assert record["archived"] is False and record["withdrawn_on"] is None and record["graduated_on"] is None
    assert record["student_number"] == "S-001"
    assert record["cohort"] == {"id": cohort.id, "name": "Class of 2027"}
    assert record["advisor"] == {"id": advisor.id, "full_name": "Adaeze Nnamdi", "email": "advisor@uni.example"}
    assert record["programmes"] == [
        {"code": "ACC2001", "name": "Accounting and Finance"},
        {"code": "MBA1234", "name": "Master of Business Administration"},
    ]
    assert record["avatar_url"] is None
    assert record["legal_hold"] is False and record["erased_at"] is None
    assert record["created_at"].endswith("Z") and record["updated_at"].endswith("Z")


def test_record_without_cohort_or_advisor_has_nulls(viewer_client):
    student = StudentFactory()
    record = viewer_client.get(f"/v1/students/{student.user_id}/").json()["data"]
    assert record["cohort"] is None and record["advisor"] is None and record["programmes"] == []


def test_list_is_paged_in_the_console_envelope_and_ordered_by_user_id(viewer_client):
    students = [StudentFactory(user_id=f"stu-{i:02d}") for i in range(5)]
    response = viewer_client.get("/v1/students", {"page": 2, "per_page": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (5, 2, 2, 3)
    assert ids_of(response) == [students[2].user_id, students[3].user_id]
    assert viewer_client.get("/v1/students/", {"page": 9, "per_page": 2}).json()["data"] == []


def test_list_query_count_does_not_grow_with_rows(viewer_client, django_assert_num_queries, programmes):
    cohort = CohortFactory()
    advisor = StaffUserFactory()
    for _ in range(6):
        StudentFactory(cohort=cohort, advisor=advisor, programmes=list(programmes))
    # Queries: the token with its user and the user's roles (one query), count, the page (cohort
    # and advisor joined), programmes of the page.
    with django_assert_num_queries(4):
        response = viewer_client.get("/v1/students", {"per_page": 100})
    assert len(response.json()["data"]) == 6


def test_list_filters_by_ids_repeated_or_comma_separated(viewer_client):
    a, b, c = StudentFactory(), StudentFactory(), StudentFactory()
    response = viewer_client.get(f"/v1/students?ids[]={a.user_id}&ids[]={c.user_id}")
    assert sorted(ids_of(response)) == sorted([a.user_id, c.user_id])
    response = viewer_client.get("/v1/students", {"ids": f"{b.user_id},{c.user_id}"})
    assert sorted(ids_of(response)) == sorted([b.user_id, c.user_id])


def test_list_filters_on_archived_zero_or_one(viewer_client):
    live = StudentFactory()
    archived = StudentFactory(archived=True, enrollment_status="withdrawn", withdrawn_on=dt.date(2025, 1, 10))
    assert ids_of(viewer_client.get("/v1/students", {"archived": 1})) == [archived.user_id]
    assert ids_of(viewer_client.get("/v1/students", {"archived": 0})) == [live.user_id]
    assert len(ids_of(viewer_client.get("/v1/students"))) == 2


def test_list_filters_on_enrollment_status(viewer_client):
    StudentFactory()
    graduated = StudentFactory(archived=True, enrollment_status="graduated", graduated_on=dt.date(2025, 6, 30))
    assert ids_of(viewer_client.get("/v1/students", {"status": "graduated"})) == [graduated.user_id]
    assert viewer_client.get("/v1/students", {"status": "withdrawn"}).json()["total"] == 0


def test_modified_since_sees_a_student_updated_after_it(admin_client):
    old, touched = StudentFactory(), StudentFactory()
    backdate(old, touched, to=timezone.now() - dt.timedelta(days=3))
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert admin_client.get("/v1/students", {"modified_since": since}).json()["total"] == 0
    assert admin_client.patch(f"/v1/students/{touched.user_id}", {"first_name": "Zoë"}, format="json").status_code == 200
    assert ids_of(admin_client.get("/v1/students", {"modified_since": since})) == [touched.user_id]


def test_modified_since_accepts_a_date_and_means_midnight_utc(viewer_client):
    student = StudentFactory()
    backdate(student, to=dt.datetime(2025, 3, 2, 0, 30, tzinfo=dt.timezone.utc))
    assert ids_of(viewer_client.get("/v1/students", {"modified_since": "2025-03-02"})) == [student.user_id]
    assert ids_of(viewer_client.get("/v1/students", {"modified_since": "2025-03-03"})) == []


def test_deleted_since_returns_tombstones_of_students_deleted_since_then(admin_client):
    kept, deleted = StudentFactory(), StudentFactory()
    before = timezone.now() - dt.timedelta(seconds=1)
    assert admin_client.delete(f"/v1/students/{deleted.user_id}").status_code == 200
    response = admin_client.get("/v1/students", {"deleted_since": before.isoformat()})
    assert response.status_code == 200
    data = response.json()["data"]
    assert [row["user_id"] for row in data] == [deleted.user_id]
    assert set(data[0]) == {"user_id", "deleted_at"} and data[0]["deleted_at"].endswith("Z")
    later = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
    assert admin_client.get("/v1/students", {"deleted_since": later}).json()["total"] == 0
    assert ids_of(admin_client.get("/v1/students")) == [kept.user_id]


def test_list_filters_on_cohort_ids(viewer_client):
    c1, c2 = CohortFactory(name="Class of 2026"), CohortFactory(name="Class of 2027")
    s1, s2 = StudentFactory(cohort=c1), StudentFactory(cohort=c2)
    StudentFactory()
    assert ids_of(viewer_client.get(f"/v1/students?cohort_ids[]={c1.id}")) == [s1.user_id]
    both = ids_of(viewer_client.get(f"/v1/students?cohort_ids[]={c1.id}&year_group_ids[]={c2.id}"))
    assert sorted(both) == sorted([s1.user_id, s2.user_id])


def test_list_filters_on_advisor_ids(viewer_client):
    advisor = StaffUserFactory()
    advised = StudentFactory(advisor=advisor)
    StudentFactory()
    assert ids_of(viewer_client.get(f"/v1/students?advisor_ids[]={advisor.id}")) == [advised.user_id]


@pytest.mark.parametrize(
    "term, expected",
    [("CHIDI", "first"), ("nobody", None), ("okafọr", "first"), ("brontë", "second"), ("zoe@", "second"), ("SIS-77", "second"),
     # Typed decomposed (NFD), as the console list reads it: the stored names are NFC.
     ("Zoe\u0308", "second"), ("Okafo\u0323r", "first")],
)
def test_q_searches_first_last_email_and_student_number(viewer_client, term, expected):
    first = StudentFactory(first_name="Chidinma", last_name="Okafọr", email="c.okafor@uni.example")
    second = StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@uni.example", student_number="sis-77")
    expected_ids = {"first": [first.user_id], "second": [second.user_id], None: []}[expected]
    assert ids_of(viewer_client.get("/v1/students", {"q": term})) == expected_ids


@pytest.mark.parametrize(
    "params, field",
    [
        ({"archived": "yes"}, "archived"),
        ({"status": "expelled"}, "status"),
        ({"modified_since": "last tuesday"}, "modified_since"),
        ({"modified_since": "2025-13-45"}, "modified_since"),
        ({"deleted_since": "2025-02-30T00:00:00Z"}, "deleted_since"),
        ({"ids[]": "bad id!"}, "ids[]"),
        ({"cohort_ids[]": "x y"}, "cohort_ids[]"),
        ({"advisor_ids[]": "abc"}, "advisor_ids[]"),
        ({"advisor_ids[]": "-3"}, "advisor_ids[]"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "501"}, "per_page"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(viewer_client, params, field):
    response = viewer_client.get("/v1/students", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and field in body["errors"]


def test_too_many_ids_is_400(viewer_client):
    response = viewer_client.get("/v1/students", {"ids": ",".join(f"id{i}" for i in range(501))})
    assert response.status_code == 400 and "ids[]" in response.json()["errors"]


def test_deleted_students_are_not_in_normal_results_or_retrievable(admin_client):
    student = StudentFactory()
    admin_client.delete(f"/v1/students/{student.user_id}")
    assert admin_client.get("/v1/students").json()["total"] == 0
    assert admin_client.get(f"/v1/students/{student.user_id}").status_code == 404
    assert admin_client.patch(f"/v1/students/{student.user_id}", {"first_name": "X"}, format="json").status_code == 404
    assert admin_client.delete(f"/v1/students/{student.user_id}").status_code == 404


def test_unknown_student_is_404_and_malformed_id_is_400(viewer_client):
    response = viewer_client.get("/v1/students/nobody")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    response = viewer_client.get("/v1/students/bad%20id")
    assert response.status_code == 400 and "user_id" in response.json()["errors"]


# Creating -------------------------------------------------------------------------------


def test_create_returns_201_with_the_record_and_refreshes_programme_label(admin_client, programmes):
    cohort = CohortFactory()
    advisor = StaffUserFactory()
    response = admin_client.post(
        "/v1/students",
        {
            "first_name": "Søren", "last_name": "Kierkegård", "email": "soren@uni.example",
            "programme_codes": ["MBA1234", "ACC2001"], "student_number": "SIS-1", "cohort_id": cohort.id,
            "advisor_id": advisor.id,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    record = response.json()["data"]
    assert len(record["user_id"]) == 24
    assert [p["code"] for p in record["programmes"]] == ["ACC2001", "MBA1234"]
    assert record["cohort"]["id"] == cohort.id and record["advisor"]["id"] == advisor.id
    student = Student.objects.get(pk=record["user_id"])
    assert student.programme_label == "Accounting and Finance, Master of Business Administration"
    assert student.programme_ids == [p.pk for p in sorted(programmes, key=lambda p: p.code)]
    assert student.status == "active" and student.full_name == "Søren Kierkegård"


def test_create_keeps_an_imported_user_id(admin_client):
    response = admin_client.post(
        "/v1/students",
        {"first_name": "Amara", "last_name": "Nwosu", "email": "amara@uni.example", "programme_codes": [], "user_id": "mb-12345"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["data"]["user_id"] == "mb-12345"


def test_create_with_an_existing_user_id_is_409(admin_client):
    StudentFactory(user_id="mb-1")
    response = admin_client.post(
        "/v1/students",
        {"first_name": "A", "last_name": "B", "email": "new@uni.example", "programme_codes": [], "user_id": "mb-1"},
        format="json",
    )
    assert response.status_code == 409 and "user_id" in response.json()["errors"]


def test_create_with_a_malformed_user_id_is_400(admin_client):
    response = admin_client.post(
        "/v1/students",
        {"first_name": "A", "last_name": "B", "email": "new@uni.example", "programme_codes": [], "user_id": "../etc"},
        format="json",
    )
    assert response.status_code == 400 and "user_id" in response.json()["errors"]


def test_duplicate_email_is_409_case_insensitively(admin_client):
    StudentFactory(email="Zoe.Bronte@uni.example")
    response = admin_client.post(
        "/v1/students",
        {"first_name": "Zoë", "last_name": "Brontë", "email": "zoe.bronte@UNI.example", "programme_codes": []},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "CONFLICT" and body["message"] == services.MSG_EMAIL_TAKEN and "email" in body["errors"]
    assert Student.objects.count() == 1


def test_email_of_a_deleted_student_can_be_reused(admin_client):
    gone = StudentFactory(email="reuse@uni.example")
    services.student_delete(user_id=gone.pk)
    response = admin_client.post(
        "/v1/students", {"first_name": "A", "last_name": "B", "email": "reuse@uni.example", "programme_codes": []}, format="json"
    )
    assert response.status_code == 201


def test_duplicate_email_race_caught_by_the_constraint_is_409(admin_client):
    StudentFactory(email="race@uni.example")
    with mock.patch.object(services, "_check_unique"):  # as if the other insert committed after our check
        response = admin_client.post(
            "/v1/students", {"first_name": "A", "last_name": "B", "email": "RACE@uni.example", "programme_codes": []}, format="json"
        )
    assert response.status_code == 409 and "email" in response.json()["errors"]
    assert Student.objects.count() == 1


def test_duplicate_student_number_is_409(admin_client):
    StudentFactory(student_number="SIS-9")
    response = admin_client.post(
        "/v1/students",
        {"first_name": "A", "last_name": "B", "email": "x@uni.example", "programme_codes": [], "student_number": "SIS-9"},
        format="json",
    )
    assert response.status_code == 409 and "student_number" in response.json()["errors"]


def test_unknown_programme_code_is_400_naming_programme_codes(admin_client, programmes):
    response = admin_client.post(
        "/v1/students",
        {"first_name": "A", "last_name": "B", "email": "x@uni.example", "programme_codes": ["MBA1234", "NOPE999"]},
        format="json",
    )
    assert response.status_code == 400
    assert "NOPE999" in response.json()["errors"]["programme_codes"][0]
    assert not Student.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"last_name": "B", "email": "x@uni.example", "programme_codes": []}, "first_name"),
        ({"first_name": "A", "last_name": "B", "email": "not-an-email", "programme_codes": []}, "email"),
        ({"first_name": "A", "last_name": "B", "email": "x@uni.example"}, "programme_codes"),
        ({"first_name": "A", "last_name": "B", "email": "x@uni.example", "programme_codes": [], "status": "gone"}, "status"),
        ({"first_name": "A", "last_name": "B", "email": "x@uni.example", "programme_codes": [], "cohort_id": "nope"}, "cohort_id"),
        ({"first_name": "A", "last_name": "B", "email": "x@uni.example", "programme_codes": [], "advisor_id": 999999}, "advisor_id"),
        ({"first_name": "A", "last_name": "B", "email": "x@uni.example", "programme_codes": [], "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"first_name": "A", "last_name": "B", "email": "x@uni.example", "programme_codes": [], "last_seen": "2020-01-01T00:00:00Z"}, "last_seen"),
        ({"first_name": "A", "last_name": "B", "email": "x@uni.example", "programme_codes": [], "archived": True}, "archived"),
    ],
)
def test_bad_create_body_is_400_naming_the_field(admin_client, body, field):
    response = admin_client.post("/v1/students", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Student.objects.exists()


# Updating -------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields_and_bumps_updated_at(admin_client):
    student = StudentFactory(first_name="Tunde", last_name="Bello", email="tunde@uni.example")
    backdate(student, to=timezone.now() - dt.timedelta(days=2))
    response = admin_client.patch(f"/v1/students/{student.user_id}/", {"last_name": "Adébáyọ̀"}, format="json")
    assert response.status_code == 200
    student.refresh_from_db()
    assert (student.first_name, student.last_name, student.email) == ("Tunde", "Adébáyọ̀", "tunde@uni.example")
    assert student.updated_at > timezone.now() - dt.timedelta(minutes=1)
    assert response.json()["data"]["last_name"] == "Adébáyọ̀"


def test_patch_programme_codes_replaces_enrolments_and_refreshes_label(admin_client, programmes):
    student = StudentFactory(programmes=[programmes[0]])
    response = admin_client.patch(f"/v1/students/{student.user_id}", {"programme_codes": ["ACC2001"]}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["programmes"] == [{"code": "ACC2001", "name": "Accounting and Finance"}]
    student.refresh_from_db()
    assert student.programme_label == "Accounting and Finance"
    assert student.programme_ids == [Programme.objects.get(code="ACC2001").pk]
    assert admin_client.patch(f"/v1/students/{student.user_id}", {"programme_codes": []}, format="json").status_code == 200
    student.refresh_from_db()
    assert student.programme_label == "" and student.programme_ids == []


def test_patch_does_not_overwrite_maintained_last_seen(admin_client):
    seen = timezone.now() - dt.timedelta(hours=3)
    student = StudentFactory()
    Student.objects.filter(pk=student.pk).update(last_seen=seen)
    admin_client.patch(f"/v1/students/{student.user_id}", {"first_name": "Ngozi"}, format="json")
    student.refresh_from_db()
    assert student.last_seen == seen


@pytest.mark.parametrize(
    "field, value",
    [
        ("user_id", "hijacked"),
        ("created_at", "2001-01-01T00:00:00Z"),
        ("updated_at", "2001-01-01T00:00:00Z"),
        ("deleted_at", "2001-01-01T00:00:00Z"),
        ("last_seen", "2001-01-01T00:00:00Z"),
        ("programme_label", "Forged"),
        ("archived", True),
        ("enrollment_status", "graduated"),
        ("avatar_url", "http://evil.example/x.png"),
    ],
)
def test_patch_of_read_only_fields_is_400_and_nothing_is_applied(admin_client, field, value):
    student = StudentFactory(first_name="Aïcha")
    response = admin_client.patch(
        f"/v1/students/{student.user_id}", {field: value, "first_name": "Changed"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][field] == [MSG_NOT_WRITABLE]
    student.refresh_from_db()
    assert student.first_name == "Aïcha" and student.user_id != "hijacked" and not student.archived
    assert student.created_at.year != 2001 and student.deleted_at is None


def test_patch_to_another_students_email_is_409(admin_client):
    StudentFactory(email="taken@uni.example")
    student = StudentFactory()
    response = admin_client.patch(f"/v1/students/{student.user_id}", {"email": "TAKEN@uni.example"}, format="json")
    assert response.status_code == 409


def test_patch_keeping_own_email_in_other_case_is_fine(admin_client):
    student = StudentFactory(email="me@uni.example")
    response = admin_client.patch(f"/v1/students/{student.user_id}", {"email": "Me@uni.example"}, format="json")
    assert response.status_code == 200


def test_patch_unknown_programme_is_400(admin_client):
    student = StudentFactory()
    response = admin_client.patch(f"/v1/students/{student.user_id}", {"programme_codes": ["ZZZ"]}, format="json")
    assert response.status_code == 400 and "programme_codes" in response.json()["errors"]


def test_patch_can_clear_cohort_and_advisor(admin_client):
    student = StudentFactory(cohort=CohortFactory(), advisor=StaffUserFactory())
    response = admin_client.patch(f"/v1/students/{student.user_id}", {"cohort_id": None, "advisor_id": None}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["cohort"] is None and response.json()["data"]["advisor"] is None


# Deleting -------------------------------------------------------------------------------


def test_delete_is_soft_and_bumps_updated_at(admin_client):
    student = StudentFactory()
    backdate(student, to=timezone.now() - dt.timedelta(days=2))
    response = admin_client.delete(f"/v1/students/{student.user_id}")
    assert response.status_code == 200
    assert response.json()["data"]["user_id"] == student.user_id
    student.refresh_from_db()
    assert student.deleted_at is not None
    assert student.updated_at > timezone.now() - dt.timedelta(minutes=1)


# Archiving ------------------------------------------------------------------------------


def test_archive_and_unarchive_round_trip_restores_group_memberships(admin_client):
    student = StudentFactory()
    classmate = StudentFactory()
    g1, g2, g3 = StudentGroupFactory(), StudentGroupFactory(), StudentGroupFactory()
    for group in (g1, g2):
        GroupMembership.objects.create(group=group, student=student)
    GroupMembership.objects.create(group=g1, student=classmate)

    response = admin_client.put(f"/v1/students/{student.user_id}/archive", {"withdrawn_on": "2025-11-03"}, format="json")
    assert response.status_code == 200
    record = response.json()["data"]
    assert record["archived"] is True and record["enrollment_status"] == "withdrawn"
    assert record["withdrawn_on"] == "2025-11-03" and record["graduated_on"] is None
    assert not GroupMembership.objects.filter(student=student).exists()
    assert set(ArchivedMembership.objects.filter(student=student).values_list("group_id", flat=True)) == {g1.id, g2.id}
    assert GroupMembership.objects.filter(student=classmate).count() == 1

    g2.delete()  # a group deleted while the student was archived is not restored
    response = admin_client.put(f"/v1/students/{student.user_id}/unarchive/")
    assert response.status_code == 200
    record = response.json()["data"]
    assert record["archived"] is False and record["enrollment_status"] == "enrolled"
    assert record["withdrawn_on"] is None and record["graduated_on"] is None
    assert list(GroupMembership.objects.filter(student=student).values_list("group_id", flat=True)) == [g1.id]
    assert not ArchivedMembership.objects.filter(student=student).exists()
    assert g3.memberships.count() == 0


def test_archive_as_graduated(admin_client):
    student = StudentFactory()
    response = admin_client.put(f"/v1/students/{student.user_id}/archive", {"graduated_on": "2026-06-30"}, format="json")
    assert response.status_code == 200
    record = response.json()["data"]
    assert record["enrollment_status"] == "graduated" and record["graduated_on"] == "2026-06-30"


def test_archive_bumps_updated_at_for_sync(admin_client):
    student = StudentFactory()
    backdate(student, to=timezone.now() - dt.timedelta(days=2))
    admin_client.put(f"/v1/students/{student.user_id}/archive", {"graduated_on": "2026-06-30"}, format="json")
    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    assert ids_of(admin_client.get("/v1/students", {"modified_since": since})) == [student.user_id]


@pytest.mark.parametrize(
    "body",
    [{}, {"withdrawn_on": "2025-01-01", "graduated_on": "2025-01-01"}, {"withdrawn_on": "soon"}, {"withdrawn_on": None}],
)
def test_archive_needs_exactly_one_valid_date(admin_client, body):
    student = StudentFactory()
    response = admin_client.put(f"/v1/students/{student.user_id}/archive", body, format="json")
    assert response.status_code == 400
    assert "withdrawn_on" in response.json()["errors"]
    student.refresh_from_db()
    assert not student.archived


# Permissions and tenancy ----------------------------------------------------------------


def _student_calls(student):
    base = f"/v1/students/{student.user_id}"
    return {
        "list": ("get", "/v1/students", None),
        "create": ("post", "/v1/students", {"first_name": "A", "last_name": "B", "email": "p@uni.example", "programme_codes": []}),
        "retrieve": ("get", base, None),
        "update": ("patch", base, {"first_name": "C"}),
        "delete": ("delete", base, None),
        "archive": ("put", f"{base}/archive", {"withdrawn_on": "2025-01-01"}),
        "unarchive": ("put", f"{base}/unarchive", None),
        "avatar_delete": ("delete", f"{base}/avatar", None),
    }


WRITES = ["create", "update", "delete", "archive", "unarchive", "avatar_delete"]


@pytest.mark.parametrize("call", ["list", "create", "retrieve", "update", "delete", "archive", "unarchive", "avatar_delete"])
def test_every_endpoint_is_401_without_credentials(anon_client, call):
    method, url, body = _student_calls(StudentFactory())[call]
    response = getattr(anon_client, method)(url, body, format="json")
    assert response.status_code == 401
    assert response.json()["message"] == MSG_UNAUTHENTICATED


@pytest.mark.parametrize("call", WRITES)
def test_writes_are_403_for_a_viewer(viewer_client, call):
    student = StudentFactory()
    method, url, body = _student_calls(student)[call]
    response = getattr(viewer_client, method)(url, body, format="json")
    assert response.status_code == 403
    assert response.json()["message"] == MSG_PERMISSION_DENIED
    student.refresh_from_db()
    assert student.first_name != "C" and student.deleted_at is None and not student.archived


@pytest.mark.parametrize("call", ["list", "retrieve"])
def test_reads_are_403_without_user_management_view(ingest_client, call):
    method, url, body = _student_calls(StudentFactory())[call]
    assert getattr(ingest_client, method)(url, body, format="json").status_code == 403


@pytest.mark.parametrize("call", ["list", "create", "retrieve", "update", "delete", "archive", "unarchive", "avatar_delete"])
def test_every_endpoint_works_for_an_admin(admin_client, call):
    method, url, body = _student_calls(StudentFactory())[call]
    response = getattr(admin_client, method)(url, body, format="json")
    assert response.status_code in (200, 201)


@pytest.mark.parametrize("call", ["retrieve", "update", "delete", "archive", "unarchive", "avatar_delete"])
def test_another_tenants_admin_cannot_see_or_touch_our_students(other_tenant_client, call):
    student = StudentFactory()
    method, url, body = _student_calls(student)[call]
    response = getattr(other_tenant_client, method)(url, body, format="json")
    assert response.status_code == 404
    student.refresh_from_db()
    assert student.first_name != "C" and student.deleted_at is None and not student.archived


def test_another_tenants_list_does_not_include_our_students(other_tenant_client):
    StudentFactory()
    assert other_tenant_client.get("/v1/students").json()["total"] == 0


def test_our_token_is_rejected_on_another_tenants_host(admin_client, other_host):
    admin_client.defaults["HTTP_HOST"] = other_host
    assert admin_client.get("/v1/students").status_code == 401


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2025-01-01T00:00:00 05:00", "2025-01-01T00:00:00+25:00"],
)
def test_extreme_or_odd_since_values_never_500(viewer_client, value):
    StudentFactory()
    response = viewer_client.get("/v1/students", {"modified_since": value})
    assert response.status_code in (200, 400)
    response = viewer_client.get("/v1/students", {"deleted_since": value})
    assert response.status_code in (200, 400)


def test_modified_since_accepts_an_offset_whose_plus_arrived_unencoded(admin_client):
    response = admin_client.get("/v1/students?modified_since=2026-06-04T09:00:00+01:00")
    assert response.status_code == 200, response.json()
