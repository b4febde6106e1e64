"""The console list's total comes from maintained counts (students_listedcount, kept by
triggers) and stays exact after every kind of write."""
import pytest
from django.db import connection

from attempts.models import Session
from console.demo.services import DemoBuilder
from students.maintained import listed_counts_recount
from students.models import LISTED, ListedCount, Student
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory

LIST = "/v1/console/students"


def _real(status=None):
    students = Student.objects.filter(LISTED)
    return students.filter(status=status).count() if status else students.count()


def assert_counts_exact(client=None):
    for status in (None, "active", "inactive"):
        assert ListedCount.total(status=status) == _real(status), status
        if client is not None:
            params = {"status": status} if status else {}
            assert client.get(LIST, params).json()["total"] == _real(status), status


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA")


@pytest.fixture
def people(mba):
    return [StudentFactory(programmes=[mba], status=["active", "inactive"][i % 3 == 0]) for i in range(7)]


def test_counts_follow_creates_through_the_api_the_orm_and_bulk(admin_client, mba, people):
    assert_counts_exact(admin_client)
    body = {"first_name": "Ada", "last_name": "Obi", "email": "ada@uni.example", "programme_codes": ["MBA"]}
    assert admin_client.post("/v1/students", body, format="json").status_code == 201
    assert_counts_exact(admin_client)
    Student.objects.bulk_create([Student(first_name="B", last_name=f"{i}", email=f"b{i}@uni.example") for i in range(5)])
    assert_counts_exact(admin_client)


def test_counts_follow_archive_unarchive_and_delete(admin_client, people):
    first, second, third = people[:3]
    assert admin_client.put(f"/v1/students/{first.pk}/archive", {"withdrawn_on": "2026-01-31"}, format="json").status_code == 200
    assert_counts_exact(admin_client)
    assert admin_client.put(f"/v1/students/{first.pk}/unarchive").status_code == 200
    assert_counts_exact(admin_client)
    assert admin_client.delete(f"/v1/students/{second.pk}").status_code in (200, 204)
    assert_counts_exact(admin_client)
    Student.objects.filter(pk=third.pk).delete()
    assert_counts_exact(admin_client)


def test_counts_follow_status_changes_and_ignore_other_writes(admin_client, people, mba):
    Student.objects.filter(pk__in=[s.pk for s in people[:4]]).update(status="inactive")
    assert_counts_exact(admin_client)
    before = ListedCount.total()
    other = ProgrammeFactory(code="ACC")
    assert admin_client.patch(f"/v1/students/{people[4].pk}", {"programme_codes": ["ACC"]}, format="json").status_code == 200
    Student.objects.filter(pk=people[5].pk).update(first_name="Renamed")
    assert ListedCount.total() == before
    assert client_total(admin_client, {"programme": other.code}) == 1  # a narrowing filter counts its matches
    assert_counts_exact(admin_client)


def test_counts_follow_raw_sql_writes(admin_client, people):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE students_student SET archived = TRUE WHERE user_id = %s", [people[0].pk])
        cursor.execute("UPDATE students_student SET deleted_at = now() WHERE user_id = %s", [people[1].pk])
    assert_counts_exact(admin_client)


def test_a_session_ingested_keeps_the_counts_exact(ingest_client, admin_client, people, mba):
    case_study = CaseStudyFactory(programmes=[mba])
    body = {
        "user_id": people[0].pk,
        "case_study_id": case_study.pk,
        "status": "ended",
        "started_at": "2026-06-01T09:00:00Z",
        "ended_at": "2026-06-01T09:30:00Z",
        "transcript_status": "available",
        "grading_status": "pending",
    }
    assert ingest_client.put("/v1/sessions/s-count-1", body, format="json").status_code in (200, 201)
    assert Session.objects.filter(pk="s-count-1").exists()
    assert_counts_exact(admin_client)


def test_a_seeded_tenant_has_exact_counts_though_seeding_skips_triggers(admin_client):
    builder = DemoBuilder(students=40, seed=3)
    builder.build_catalogue()
    builder.write_people()
    assert _real() > 0
    assert_counts_exact(admin_client)


def test_a_recount_repairs_counts_that_drifted(admin_client, people):
    ListedCount.objects.update(listed=999)
    listed_counts_recount()
    assert_counts_exact(admin_client)


def client_total(client, params):
    return client.get(LIST, params).json()["total"]


@pytest.mark.parametrize("skip", [0, 2, 3, 50])
def test_a_narrowing_filter_counts_its_matches_on_any_page(admin_client, people, skip):
    for student in people[:3]:
        Student.objects.filter(pk=student.pk).update(first_name="Zelda")
    body = admin_client.get(LIST, {"search": "zelda", "skip": skip, "limit": 2}).json()
    assert body["total"] == 3
    assert len(body["data"]) == max(0, min(2, 3 - skip))
