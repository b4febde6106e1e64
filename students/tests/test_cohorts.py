"""Cohorts: /v1/cohorts CRUD, audited; a cohort with students is not deleted."""
import pytest

from accounts.models import AuditEvent
from students.cohorts.services import MSG_COHORT_HAS_STUDENTS, MSG_COHORT_NAME_TAKEN
from students.models import Cohort
from testing.factories import CohortFactory, StudentFactory

URL = "/v1/cohorts"


def test_create_list_rename_and_delete(admin_client):
    created = admin_client.post(URL, {"name": "2026 intake"}, format="json")
    assert created.status_code == 201
    cohort = created.json()["data"]
    assert (cohort["name"], cohort["student_count"]) == ("2026 intake", 0)
    StudentFactory(cohort=Cohort.objects.get(pk=cohort["id"]))
    StudentFactory(cohort=Cohort.objects.get(pk=cohort["id"]), archived=True)  # not counted
    body = admin_client.get(URL).json()
    assert [(c["name"], c["student_count"]) for c in body["data"]] == [("2026 intake", 1)] and body["total"] == 1
    renamed = admin_client.patch(f"{URL}/{cohort['id']}", {"name": "2026 September intake"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "2026 September intake"
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "changes"))
    assert actions == [("cohort.create", {"name": [None, "2026 intake"]}),
                       ("cohort.update", {"name": ["2026 intake", "2026 September intake"]})]


def test_a_cohort_with_students_is_not_deleted(admin_client):
    cohort = CohortFactory()
    StudentFactory(cohort=cohort)
    response = admin_client.delete(f"{URL}/{cohort.pk}")
    assert response.status_code == 409 and response.json()["message"] == MSG_COHORT_HAS_STUDENTS
    assert Cohort.objects.filter(pk=cohort.pk).exists()
    empty = CohortFactory()
    assert admin_client.delete(f"{URL}/{empty.pk}").status_code == 200
    assert not Cohort.objects.filter(pk=empty.pk).exists()
    assert AuditEvent.objects.filter(action="cohort.delete", target_id=empty.pk).exists()


def test_names_are_unique(admin_client):
    CohortFactory(name="Taken")
    response = admin_client.post(URL, {"name": "Taken"}, format="json")
    assert response.status_code == 409 and response.json()["errors"] == {"name": [MSG_COHORT_NAME_TAKEN]}
    other = CohortFactory(name="Free")
    assert admin_client.patch(f"{URL}/{other.pk}", {"name": "Taken"}, format="json").status_code == 409
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": "ok", "extra": 1}, {"name": 7}])
def test_bad_bodies_are_400(admin_client, body):
    assert admin_client.post(URL, body, format="json").status_code == 400


def test_reads_for_viewers_writes_for_editors(viewer_client, operator_client, admin_client):
    cohort = CohortFactory()
    assert viewer_client.get(f"{URL}/{cohort.pk}").status_code == 200
    assert operator_client.post(URL, {"name": "New"}, format="json").status_code == 403
    assert viewer_client.delete(f"{URL}/{cohort.pk}").status_code == 403
    assert admin_client.get(f"{URL}/no-such-cohort").status_code == 404
    assert admin_client.get(f"{URL}/bad id").status_code in (400, 404)


def test_a_patch_without_a_name_changes_nothing(admin_client):
    cohort = CohortFactory(name="Kept")
    response = admin_client.patch(f"{URL}/{cohort.pk}", {}, format="json")
    assert response.status_code == 200 and response.json()["data"]["name"] == "Kept"
    assert not AuditEvent.objects.exists()
    assert admin_client.patch(f"{URL}/no-such-cohort", {}, format="json").status_code == 404


def test_a_put_takes_the_whole_record_so_its_name_is_required(admin_client):
    cohort = CohortFactory(name="Kept")
    for body in ({}, None):
        response = admin_client.put(f"{URL}/{cohort.pk}", body, format="json")
        assert response.status_code == 400 and list(response.json()["errors"]) == ["name"]
    cohort.refresh_from_db()
    assert cohort.name == "Kept"
    assert admin_client.put(f"{URL}/{cohort.pk}", {"name": "Renamed"}, format="json").json()["data"]["name"] == "Renamed"
