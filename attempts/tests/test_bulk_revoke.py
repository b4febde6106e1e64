"""Bulk revoke: POST /v1/console/attempts/revoke/bulk, all or nothing, each refused student named,
one audit event per student."""
import pytest

from accounts.models import AuditEvent
from attempts.grants import services
from attempts.models import AttemptGrant
from testing.factories import AttemptGrantFactory, CaseStudyFactory, ProgrammeFactory, StudentFactory

URL = "/v1/console/attempts/revoke/bulk"


@pytest.fixture
def setting():
    mba = ProgrammeFactory()
    case_study = CaseStudyFactory(programmes=[mba], max_attempts=2)
    students = [StudentFactory(programmes=[mba]) for _ in range(3)]
    for student in students:
        AttemptGrantFactory(student=student, case_study=case_study, delta=2)
    return case_study, students


def _body(case_study, ids, attempts=1):
    return {"user_ids": ids, "case_study_id": case_study.pk, "attempts": attempts, "reason": "Granted in error"}


def test_bulk_revoke_takes_back_from_each_student_and_audits_each(operator_client, setting):
    case_study, students = setting
    ids = [s.pk for s in students]
    response = operator_client.post(URL, _body(case_study, ids + [ids[0]]), format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert [row["user_id"] for row in data] == ids
    assert {(row["extra_attempts"], row["attempts_allowed"]) for row in data} == {(1, 3)}
    assert AttemptGrant.objects.filter(delta=-1).count() == 3
    events = AuditEvent.objects.filter(action="attempts.revoke")
    assert sorted(events.values_list("target_id", flat=True)) == sorted(ids)


def test_bulk_revoke_is_allowed_for_archived_students(operator_client, setting):
    case_study, students = setting
    students[0].archived = True
    students[0].save()
    assert operator_client.post(URL, _body(case_study, [students[0].pk]), format="json").status_code == 201


def test_one_student_short_of_attempts_changes_nothing_and_each_refusal_is_named(operator_client, setting):
    case_study, students = setting
    poor = StudentFactory()
    body = _body(case_study, [students[0].pk, poor.pk, "nobody-here", "bad id!"], attempts=2)
    response = operator_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == services.MSG_BULK_REVOKE_REFUSED
    assert response.json()["errors"] == {
        "user_ids[1]": [f"{poor.pk}: " + services.REASON_TOO_FEW_EXTRA.format(extra=0, requested=2)],
        "user_ids[2]": [f"nobody-here: {services.REASON_STUDENT_UNKNOWN}"],
        "user_ids[3]": [services.REASON_BAD_ID],
    }
    assert not AttemptGrant.objects.filter(delta__lt=0).exists()
    assert not AuditEvent.objects.filter(action="attempts.revoke").exists()


def test_revoking_more_than_granted_is_refused_for_that_student(operator_client, setting):
    case_study, students = setting
    response = operator_client.post(URL, _body(case_study, [students[0].pk], attempts=3), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "user_ids[0]": [f"{students[0].pk}: " + services.REASON_TOO_FEW_EXTRA.format(extra=2, requested=3)]
    }


def test_bulk_revoke_needs_attempts_permission(viewer_client, setting):
    case_study, students = setting
    assert viewer_client.post(URL, _body(case_study, [students[0].pk]), format="json").status_code == 403
    assert not AttemptGrant.objects.filter(delta__lt=0).exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"user_ids": []}, "user_ids"),
        ({"user_ids": [f"s{n:023x}" for n in range(501)]}, "user_ids"),
        ({"attempts": 11}, "attempts"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 10_000}, "reason"),
        ({"case_study_id": "a\x00b"}, "case_study_id"),
        ({"user_ids": ["a\x00b"]}, "user_ids.0"),
        ({"user_ids": "one"}, "user_ids"),
    ],
)
def test_hostile_bodies_are_400_naming_the_field(operator_client, setting, change, field):
    case_study, students = setting
    body = {**_body(case_study, [students[0].pk]), **change}
    response = operator_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not AttemptGrant.objects.filter(delta__lt=0).exists()
