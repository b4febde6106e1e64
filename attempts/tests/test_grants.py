"""Granting and revoking extra attempts (SPEC §7.2): the services and the console endpoints."""
import pytest

from attempts import services
from attempts.models import AttemptGrant
from attempts.selectors import student_case_study_card
from config.errors import AppError
from testing.factories import CaseStudyFactory, ProgrammeFactory, SessionFactory, StaffUserFactory, StudentFactory

REASON = "Power cut in Ìbàdàn during the session"


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")


@pytest.fixture
def student(mba):
    return StudentFactory(first_name="Chidinma", last_name="Okafọr", programmes=[mba])


@pytest.fixture
def case_study(mba):
    return CaseStudyFactory(title="Fuel Subsidy removal in Nigeria", programmes=[mba], max_attempts=2)


@pytest.fixture
def actor(operator_user):
    return operator_user


def _extra(student, case_study):
    return student_case_study_card(student_id=student.pk, case_study_id=case_study.pk).extra_attempts


# Services ---------------------------------------------------------------------------------


def test_grant_records_who_when_why_and_raises_extra_attempts(student, case_study, actor):
    grant = services.attempts_grant(student=student, case_study=case_study, attempts=2, reason=f"  {REASON} ", actor=actor)
    grant.refresh_from_db()
    assert (grant.delta, grant.reason, grant.actor_id, grant.actor_email) == (2, REASON, actor.pk, actor.email)
    assert grant.created_at is not None
    assert len(grant.pk) == 24
    card = student_case_study_card(student_id=student.pk, case_study_id=case_study.pk)
    assert (card.extra_attempts, card.attempts_allowed, card.attempts_used) == (2, 4, 0)


def test_grant_is_allowed_for_an_attempted_case_study_outside_the_students_programmes(actor):
    student = StudentFactory()
    elsewhere = CaseStudyFactory(programmes=[ProgrammeFactory()])
    SessionFactory(student=student, case_study=elsewhere)
    services.attempts_grant(student=student, case_study=elsewhere, attempts=1, reason=REASON, actor=actor)
    assert _extra(student, elsewhere) == 1


def test_grant_refuses_a_case_study_neither_assigned_nor_attempted(student, actor):
    elsewhere = CaseStudyFactory(programmes=[ProgrammeFactory()])
    with pytest.raises(AppError) as err:
        services.attempts_grant(student=student, case_study=elsewhere, attempts=1, reason=REASON, actor=actor)
    assert err.value.status_code == 400
    assert err.value.errors == {"case_study_id": [services.MSG_NOT_ASSIGNED]}
    assert not AttemptGrant.objects.exists()


def test_grant_refuses_an_inactive_case_study_the_student_never_attempted(student, mba, actor):
    retired = CaseStudyFactory(programmes=[mba], is_active=False)
    with pytest.raises(AppError) as err:
        services.attempts_grant(student=student, case_study=retired, attempts=1, reason=REASON, actor=actor)
    assert err.value.errors == {"case_study_id": [services.MSG_NOT_ASSIGNED]}


def test_grant_refuses_archived_and_deleted_students(student, case_study, actor):
    from django.utils import timezone

    student.archived = True
    student.save(update_fields=["archived"])
    with pytest.raises(AppError) as err:
        services.attempts_grant(student=student, case_study=case_study, attempts=1, reason=REASON, actor=actor)
    assert err.value.errors == {"user_id": [services.MSG_STUDENT_ARCHIVED]}

    student.archived = False
    student.deleted_at = timezone.now()
    student.save(update_fields=["archived", "deleted_at"])
    with pytest.raises(AppError) as err:
        services.attempts_grant(student=student, case_study=case_study, attempts=1, reason=REASON, actor=actor)
    assert err.value.errors == {"user_id": [services.MSG_STUDENT_UNKNOWN]}
    assert not AttemptGrant.objects.exists()


@pytest.mark.parametrize("attempts", [0, 11, -1, True, "2", None, 1.5])
def test_grant_refuses_attempts_outside_one_to_ten(student, case_study, actor, attempts):
    with pytest.raises(AppError) as err:
        services.attempts_grant(student=student, case_study=case_study, attempts=attempts, reason=REASON, actor=actor)
    assert err.value.errors == {"attempts": [services.MSG_ATTEMPTS_RANGE]}


@pytest.mark.parametrize(
    "reason, message",
    [("", services.MSG_REASON_REQUIRED), ("   \n", services.MSG_REASON_REQUIRED), (None, services.MSG_REASON_REQUIRED),
     ("x" * 501, services.MSG_REASON_TOO_LONG)],
)
def test_grant_requires_a_short_non_blank_reason(student, case_study, actor, reason, message):
    with pytest.raises(AppError) as err:
        services.attempts_grant(student=student, case_study=case_study, attempts=1, reason=reason, actor=actor)
    assert err.value.errors == {"reason": [message]}


def test_reason_of_exactly_500_characters_is_kept(student, case_study, actor):
    grant = services.attempts_grant(student=student, case_study=case_study, attempts=1, reason="é" * 500, actor=actor)
    assert grant.reason == "é" * 500


def test_revoke_takes_back_up_to_the_current_extra(student, case_study, actor):
    services.attempts_grant(student=student, case_study=case_study, attempts=3, reason=REASON, actor=actor)
    grant = services.attempts_revoke(student=student, case_study=case_study, attempts=2, reason="Granted twice", actor=actor)
    assert grant.delta == -2
    assert _extra(student, case_study) == 1
    services.attempts_revoke(student=student, case_study=case_study, attempts=1, reason="Granted twice", actor=actor)
    assert _extra(student, case_study) == 0


def test_revoke_of_more_than_the_extra_is_a_conflict_and_changes_nothing(student, case_study, actor):
    services.attempts_grant(student=student, case_study=case_study, attempts=1, reason=REASON, actor=actor)
    with pytest.raises(AppError) as err:
        services.attempts_revoke(student=student, case_study=case_study, attempts=2, reason="Oops", actor=actor)
    assert (err.value.status_code, err.value.code) == (409, "CONFLICT")
    assert err.value.message == services.MSG_REVOKE_TOO_MANY.format(requested=2, extra=1)
    assert "has 1 extra attempt" in err.value.message
    assert AttemptGrant.objects.count() == 1
    assert _extra(student, case_study) == 1


def test_revoke_with_no_extra_attempts_is_a_conflict(student, case_study, actor):
    with pytest.raises(AppError) as err:
        services.attempts_revoke(student=student, case_study=case_study, attempts=1, reason="Oops", actor=actor)
    assert err.value.status_code == 409
    assert not AttemptGrant.objects.exists()


def test_revoke_is_allowed_for_an_archived_student(student, case_study, actor):
    services.attempts_grant(student=student, case_study=case_study, attempts=1, reason=REASON, actor=actor)
    student.archived = True
    student.save(update_fields=["archived"])
    services.attempts_revoke(student=student, case_study=case_study, attempts=1, reason="Graduated", actor=actor)
    assert _extra(student, case_study) == 0


def test_bulk_grant_gives_each_distinct_student_the_attempts_in_first_seen_order(mba, case_study, actor):
    first, second, third = StudentFactory(programmes=[mba]), StudentFactory(programmes=[mba]), StudentFactory(programmes=[mba])
    grants = services.attempts_grant_bulk(
        user_ids=[second.pk, first.pk, second.pk, third.pk], case_study=case_study, attempts=2, reason=REASON, actor=actor
    )
    assert [g.student_id for g in grants] == [second.pk, first.pk, third.pk]
    assert [_extra(s, case_study) for s in (first, second, third)] == [2, 2, 2]
    assert AttemptGrant.objects.count() == 3


def test_bulk_grant_with_an_unknown_id_changes_nothing_and_names_it(mba, case_study, actor):
    known = StudentFactory(programmes=[mba])
    with pytest.raises(AppError) as err:
        services.attempts_grant_bulk(
            user_ids=[known.pk, "ffffffffffffffffffffffff"], case_study=case_study, attempts=1, reason=REASON, actor=actor
        )
    assert err.value.status_code == 400
    assert err.value.message == services.MSG_BULK_REFUSED
    assert err.value.errors == {"user_ids[1]": ["ffffffffffffffffffffffff: no student with this id on this tenant."]}
    assert not AttemptGrant.objects.exists()


def test_bulk_grant_names_every_offending_id(mba, case_study, actor):
    ok = StudentFactory(programmes=[mba])
    archived = StudentFactory(programmes=[mba], archived=True)
    outsider = StudentFactory(programmes=[ProgrammeFactory()])
    with pytest.raises(AppError) as err:
        services.attempts_grant_bulk(
            user_ids=[ok.pk, archived.pk, "nobody", outsider.pk], case_study=case_study, attempts=1, reason=REASON, actor=actor
        )
    assert err.value.errors == {
        "user_ids[1]": [services.MSG_BULK_STUDENT_ARCHIVED.format(user_id=archived.pk)],
        "user_ids[2]": [services.MSG_BULK_STUDENT_UNKNOWN.format(user_id="nobody")],
        "user_ids[3]": [services.MSG_BULK_NOT_ASSIGNED.format(user_id=outsider.pk)],
    }
    assert not AttemptGrant.objects.exists()


def test_bulk_grant_refuses_an_empty_list_and_more_than_500_ids(case_study, actor):
    with pytest.raises(AppError) as err:
        services.attempts_grant_bulk(user_ids=[], case_study=case_study, attempts=1, reason=REASON, actor=actor)
    assert err.value.errors == {"user_ids": [services.MSG_USER_IDS_EMPTY]}
    with pytest.raises(AppError) as err:
        services.attempts_grant_bulk(
            user_ids=[f"id{i}" for i in range(501)], case_study=case_study, attempts=1, reason=REASON, actor=actor
        )
    assert err.value.errors == {"user_ids": [services.MSG_USER_IDS_TOO_MANY]}


def test_bulk_grant_counts_duplicates_once_against_the_500_limit(mba, case_study, actor):
    student = StudentFactory(programmes=[mba])
    grants = services.attempts_grant_bulk(
        user_ids=[student.pk] * 600, case_study=case_study, attempts=1, reason=REASON, actor=actor
    )
    assert len(grants) == 1


def test_grant_after_a_deleted_actor_keeps_the_actor_email(student, case_study):
    staff = StaffUserFactory(email="leaver@uni.example", full_name="Lena Leaver", roles=["operator"])
    grant = services.attempts_grant(student=student, case_study=case_study, attempts=1, reason=REASON, actor=staff)
    staff.delete()
    grant.refresh_from_db()
    assert (grant.actor_id, grant.actor_email) == (None, "leaver@uni.example")


def test_student_detail_card_reflects_a_grant_immediately(student, case_study, actor):
    SessionFactory(student=student, case_study=case_study, transcript_status="available")
    before = student_case_study_card(student_id=student.pk, case_study_id=case_study.pk)
    assert (before.attempts_used, before.attempts_allowed, before.extra_attempts) == (1, 2, 0)
    services.attempts_grant(student=student, case_study=case_study, attempts=3, reason=REASON, actor=actor)
    after = student_case_study_card(student_id=student.pk, case_study_id=case_study.pk)
    assert (after.attempts_used, after.attempts_allowed, after.extra_attempts) == (1, 5, 3)
