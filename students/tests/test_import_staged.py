"""A large import writes its students through a staging table (COPY, then one INSERT and one
UPDATE: students.records.services.STAGED_FROM); a small one through unnested arrays. Both
must write the same: the same students with the same maintained columns, enrolments, audit
events, change-feed events and import record."""
import pytest
from django.db import transaction

from accounts.events.models import Event
from accounts.models import AuditEvent
from students.imports.models import ImportedStudent
from students.models import Enrolment, ListedCount, Student
from students.records import services as records
from students.tests.test_import import csv_bytes, post
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory

_FIELDS = (
    "first_name", "last_name", "email", "status", "student_number", "cohort_id", "advisor_id", "legal_hold",
    "enrollment_status", "archived", "programme_label", "programme_ids", "overall_case_studies", "deleted_at",
)


def _written(client, data):
    """What applying `data` writes, named by email (new students' ids differ between runs); rolled back."""
    with transaction.atomic():
        response = post(client, data, dry_run=False)
        assert response.status_code == 200, response.json()
        email_of = dict(Student.objects.values_list("user_id", "email"))
        outcome = {
            "report": [(row["row"], row["action"], row["errors"]) for row in response.json()["data"]["rows"]],
            "students": sorted(tuple(s.values()) for s in Student.objects.values(*_FIELDS)),
            "enrolments": sorted(Enrolment.objects.values_list("student_id", "programme__code")),
            "audit": sorted(
                (action, email_of[target], str(changes), str(detail))
                for action, target, changes, detail in AuditEvent.objects.filter(target_type="student").values_list(
                    "action", "target_id", "changes", "detail"
                )
            ),
            "events": sorted(
                (type, email_of[student], str(data))
                for type, student, data in Event.objects.filter(student_id__isnull=False).values_list("type", "student_id", "data")
            ),
            "imported": sorted(ImportedStudent.objects.values_list("student__email", "created")),
            "listed": sorted(ListedCount.objects.values_list("status", "listed")),
        }
        outcome["enrolments"] = sorted((email_of[s], code) for s, code in outcome["enrolments"])
        transaction.set_rollback(True)
    return outcome


@pytest.mark.django_db
def test_a_staged_write_writes_what_the_unnested_one_does(admin_client, monkeypatch):
    mba, acc = ProgrammeFactory(code="MBA", name="MBA"), ProgrammeFactory(code="ACC", name="Accounting")
    CaseStudyFactory(programmes=[mba])
    kept = StudentFactory(first_name="Kept", last_name="As", email="kept@uni.example", student_number="K-1", programmes=[mba])
    moved = StudentFactory(first_name="Moved", last_name="On", email="moved@uni.example", student_number="M-1", programmes=[mba])
    renamed = StudentFactory(first_name="Re", last_name="Named", email="renamed@uni.example", programmes=[acc])
    rows = [
        ["", "Kept", "As", "kept@uni.example", "active", "MBA", "K-1"],  # unchanged
        ["", "Moved", "On", "moved@uni.example", "inactive", "ACC", "M-1"],  # programmes and status change
        [renamed.pk, "Re", "Renamed", "RENAMED@uni.example", "", "", ""],  # by user_id: renamed, programmes cleared
        *(["", f"New{i}", "Student", f"new{i}@uni.example", "", "MBA ACC" if i % 2 else "", f"N-{i}"] for i in range(6)),
    ]
    data = csv_bytes(rows)
    monkeypatch.setattr(records, "STAGED_FROM", 10_000)
    unnested = _written(admin_client, data)
    monkeypatch.setattr(records, "STAGED_FROM", 1)
    staged = _written(admin_client, data)
    assert staged == unnested
    assert {action for _, action, _ in staged["report"]} == {"created", "updated", "unchanged"}
    assert ("moved@uni.example", "ACC") in staged["enrolments"] and ("moved@uni.example", "MBA") not in staged["enrolments"]
    assert kept.pk and moved.pk


@pytest.mark.django_db
def test_two_staged_writes_in_one_transaction(admin_client, monkeypatch):
    """The staging table of an earlier write in the same transaction is not in the way."""
    ProgrammeFactory(code="MBA", name="MBA")
    monkeypatch.setattr(records, "STAGED_FROM", 1)
    with transaction.atomic():
        for tag in ("a", "b"):
            response = post(admin_client, csv_bytes([["", "N", tag, f"{tag}@uni.example", "", "MBA", ""]]), dry_run=False)
            assert response.status_code == 200, response.json()
    assert set(Student.objects.values_list("email", flat=True)) == {"a@uni.example", "b@uni.example"}
