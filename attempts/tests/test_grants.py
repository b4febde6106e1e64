"""Granting and revoking extra attempts (SPEC §7.2): the services and the console endpoints."""
import pytest
from drf_spectacular.generators import SchemaGenerator

from attempts.grants import services
from attempts.models import AttemptGrant
from attempts.selectors import student_case_study_card
from config.bulk import MAX_BULK_IDS
from config.errors import AppError
from config.ids import OPAQUE_ID
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
    grant = services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=2, reason=f"  {REASON} ", actor=actor).grant
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
    services.attempts_grant(user_id=student.pk, case_study_id=elsewhere.pk, attempts=1, reason=REASON, actor=actor)
    assert _extra(student, elsewhere) == 1


def test_grant_refuses_a_case_study_neither_assigned_nor_attempted(student, actor):
    elsewhere = CaseStudyFactory(programmes=[ProgrammeFactory()])
    with pytest.raises(AppError) as err:
        services.attempts_grant(user_id=student.pk, case_study_id=elsewhere.pk, attempts=1, reason=REASON, actor=actor)
    assert err.value.status_code == 400
    assert err.value.errors == {"case_study_id": [services.MSG_NOT_ASSIGNED]}
    assert not AttemptGrant.objects.exists()


def test_grant_refuses_an_inactive_case_study_the_student_never_attempted(student, mba, actor):
    retired = CaseStudyFactory(programmes=[mba], is_active=False)
    with pytest.raises(AppError) as err:
        services.attempts_grant(user_id=student.pk, case_study_id=retired.pk, attempts=1, reason=REASON, actor=actor)
    assert err.value.errors == {"case_study_id": [services.MSG_NOT_ASSIGNED]}


def test_grant_refuses_archived_and_deleted_students(student, case_study, actor):
    from django.utils import timezone

    student.archived = True
    student.save(update_fields=["archived"])
    with pytest.raises(AppError) as err:
        services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor)
    assert err.value.errors == {"user_id": [services.MSG_STUDENT_ARCHIVED]}

    student.archived = False
    student.deleted_at = timezone.now()
    student.save(update_fields=["archived", "deleted_at"])
    with pytest.raises(AppError) as err:
        services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor)
    assert err.value.errors == {"user_id": [services.MSG_STUDENT_UNKNOWN]}
    assert not AttemptGrant.objects.exists()


@pytest.mark.parametrize("attempts", [0, 11, -1, True, "2", None, 1.5])
def test_grant_refuses_attempts_outside_one_to_ten(student, case_study, actor, attempts):
    with pytest.raises(AppError) as err:
        services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=attempts, reason=REASON, actor=actor)
    assert err.value.errors == {"attempts": [services.MSG_ATTEMPTS_RANGE]}


@pytest.mark.parametrize(
    "reason, message",
    [("", services.MSG_REASON_REQUIRED), ("   \n", services.MSG_REASON_REQUIRED), (None, services.MSG_REASON_REQUIRED),
     ("x" * 501, services.MSG_REASON_TOO_LONG)],
)
def test_grant_requires_a_short_non_blank_reason(student, case_study, actor, reason, message):
    with pytest.raises(AppError) as err:
        services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=reason, actor=actor)
    assert err.value.errors == {"reason": [message]}


def test_reason_of_exactly_500_characters_is_kept(student, case_study, actor):
    grant = services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason="é" * 500, actor=actor).grant
    assert grant.reason == "é" * 500


def test_revoke_takes_back_up_to_the_current_extra(student, case_study, actor):
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=3, reason=REASON, actor=actor)
    grant = services.attempts_revoke(user_id=student.pk, case_study_id=case_study.pk, attempts=2, reason="Granted twice", actor=actor).grant
    assert grant.delta == -2
    assert _extra(student, case_study) == 1
    services.attempts_revoke(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason="Granted twice", actor=actor)
    assert _extra(student, case_study) == 0


def test_revoke_of_more_than_the_extra_is_a_conflict_and_changes_nothing(student, case_study, actor):
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor)
    with pytest.raises(AppError) as err:
        services.attempts_revoke(user_id=student.pk, case_study_id=case_study.pk, attempts=2, reason="Oops", actor=actor)
    assert (err.value.status_code, err.value.code) == (409, "CONFLICT")
    assert err.value.message == services.MSG_REVOKE_TOO_MANY.format(requested=2, extra=1)
    assert "has 1 extra attempt" in err.value.message
    assert AttemptGrant.objects.count() == 1
    assert _extra(student, case_study) == 1


def test_revoke_with_no_extra_attempts_is_a_conflict(student, case_study, actor):
    with pytest.raises(AppError) as err:
        services.attempts_revoke(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason="Oops", actor=actor)
    assert err.value.status_code == 409
    assert not AttemptGrant.objects.exists()


def test_revoke_is_allowed_for_an_archived_student(student, case_study, actor):
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor)
    student.archived = True
    student.save(update_fields=["archived"])
    services.attempts_revoke(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason="Graduated", actor=actor)
    assert _extra(student, case_study) == 0


def test_bulk_grant_gives_each_distinct_student_the_attempts_in_first_seen_order(mba, case_study, actor):
    first, second, third = StudentFactory(programmes=[mba]), StudentFactory(programmes=[mba]), StudentFactory(programmes=[mba])
    grants = [g.grant for g in services.attempts_grant_bulk(
        user_ids=[second.pk, first.pk, second.pk, third.pk], case_study_id=case_study.pk, attempts=2, reason=REASON, actor=actor
    )]
    assert [g.student_id for g in grants] == [second.pk, first.pk, third.pk]
    assert [_extra(s, case_study) for s in (first, second, third)] == [2, 2, 2]
    assert AttemptGrant.objects.count() == 3


def test_bulk_grant_with_an_unknown_id_changes_nothing_and_names_it(mba, case_study, actor):
    known = StudentFactory(programmes=[mba])
    with pytest.raises(AppError) as err:
        [g.grant for g in services.attempts_grant_bulk(
            user_ids=[known.pk, "ffffffffffffffffffffffff"], case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor
        )]
    assert err.value.status_code == 400
    assert err.value.message == services.MSG_BULK_REFUSED
    assert err.value.errors == {"user_ids[1]": ["ffffffffffffffffffffffff: no student with this id on this tenant."]}
    assert not AttemptGrant.objects.exists()


def test_bulk_grant_names_every_offending_id(mba, case_study, actor):
    ok = StudentFactory(programmes=[mba])
    archived = StudentFactory(programmes=[mba], archived=True)
    outsider = StudentFactory(programmes=[ProgrammeFactory()])
    with pytest.raises(AppError) as err:
        [g.grant for g in services.attempts_grant_bulk(
            user_ids=[ok.pk, archived.pk, "nobody", outsider.pk], case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor
        )]
    assert err.value.errors == {
        "user_ids[1]": [f"{archived.pk}: this student is archived."],
        "user_ids[2]": ["nobody: no student with this id on this tenant."],
        "user_ids[3]": [f"{outsider.pk}: this case study is not assigned to the student and they have not attempted it."],
    }
    assert err.value.refused == {
        archived.pk: services.REASON_STUDENT_ARCHIVED,
        "nobody": services.REASON_STUDENT_UNKNOWN,
        outsider.pk: services.REASON_NOT_ASSIGNED,
    }
    assert not AttemptGrant.objects.exists()


def test_bulk_grant_refuses_an_empty_list_and_more_than_500_ids(case_study, actor):
    with pytest.raises(AppError) as err:
        [g.grant for g in services.attempts_grant_bulk(user_ids=[], case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor)]
    assert err.value.errors == {"user_ids": [services.MSG_USER_IDS_EMPTY]}
    with pytest.raises(AppError) as err:
        [g.grant for g in services.attempts_grant_bulk(
            user_ids=[f"id{i}" for i in range(501)], case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor
        )]
    assert err.value.errors == {"user_ids": [services.MSG_USER_IDS_TOO_MANY]}


def test_bulk_grant_counts_every_id_given_against_the_500_limit_and_grants_a_repeated_one_once(mba, case_study, actor):
    # SPEC §7.2: "user_ids: [1–500 ids]", as the schema's maxItems counts them.
    student = StudentFactory(programmes=[mba])
    grants = [g.grant for g in services.attempts_grant_bulk(
        user_ids=[student.pk] * 500, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor
    )]
    assert len(grants) == 1
    with pytest.raises(AppError) as err:
        services.attempts_grant_bulk(user_ids=[student.pk] * 501, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=actor)
    assert err.value.errors == {"user_ids": [services.MSG_USER_IDS_TOO_MANY]}


def test_grant_after_a_deleted_actor_keeps_the_actor_email(student, case_study):
    staff = StaffUserFactory(email="leaver@uni.example", full_name="Lena Leaver", roles=["operator"])
    grant = services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=staff).grant
    staff.delete()
    grant.refresh_from_db()
    assert (grant.actor_id, grant.actor_email) == (None, "leaver@uni.example")


def test_student_detail_card_reflects_a_grant_immediately(student, case_study, actor):
    SessionFactory(student=student, case_study=case_study, transcript_status="available")
    before = student_case_study_card(student_id=student.pk, case_study_id=case_study.pk)
    assert (before.attempts_used, before.attempts_allowed, before.extra_attempts) == (1, 2, 0)
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=3, reason=REASON, actor=actor)
    after = student_case_study_card(student_id=student.pk, case_study_id=case_study.pk)
    assert (after.attempts_used, after.attempts_allowed, after.extra_attempts) == (1, 5, 3)


# Endpoints --------------------------------------------------------------------------------

GRANT = "/v1/console/attempts/grant"
REVOKE = "/v1/console/attempts/revoke"
BULK = "/v1/console/attempts/grant/bulk"
LEDGER = "/v1/console/attempts/grants"


def _body(student, case_study, **overrides):
    body = {"user_id": student.pk, "case_study_id": case_study.pk, "attempts": 1, "reason": REASON}
    body.update(overrides)
    return body


@pytest.mark.parametrize("path", [GRANT, GRANT + "/"])
def test_grant_endpoint_answers_201_with_the_ledger_row_and_the_cards_new_numbers(operator_client, operator_user, student, case_study, path):
    SessionFactory(student=student, case_study=case_study)
    response = operator_client.post(path, _body(student, case_study, attempts=2), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["success"] is True and body["message"] is None
    data = body["data"]
    grant = AttemptGrant.objects.get()
    assert data["grant"] == {
        "id": grant.pk,
        "user_id": student.pk,
        "case_study_id": case_study.pk,
        "delta": 2,
        "reason": REASON,
        "actor": {"email": "operator@uni.example", "full_name": "Obi Operator"},
        "created_at": grant.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert data["grant"]["created_at"].endswith("Z")
    assert (data["extra_attempts"], data["attempts_used"], data["attempts_allowed"]) == (2, 1, 4)


def test_grant_endpoint_defaults_to_one_attempt(operator_client, student, case_study):
    body = _body(student, case_study)
    del body["attempts"]
    response = operator_client.post(GRANT, body, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["grant"]["delta"] == 1


@pytest.mark.parametrize("path", [REVOKE, REVOKE + "/"])
def test_revoke_endpoint_answers_201_with_a_negative_row(operator_client, operator_user, student, case_study, path):
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=3, reason=REASON, actor=operator_user)
    response = operator_client.post(path, _body(student, case_study, attempts=2, reason="Granted by mistake"), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert (data["grant"]["delta"], data["grant"]["reason"]) == (-2, "Granted by mistake")
    assert (data["extra_attempts"], data["attempts_used"], data["attempts_allowed"]) == (1, 0, 3)


def test_revoke_endpoint_answers_409_saying_how_many_extra_there_are(operator_client, operator_user, student, case_study):
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=operator_user)
    response = operator_client.post(REVOKE, _body(student, case_study, attempts=3), format="json")
    assert response.status_code == 409
    body = response.json()
    assert (body["success"], body["code"], body["data"]) == (False, "CONFLICT", None)
    assert body["message"] == "Cannot revoke 3 extra attempt(s): this student has 1 extra attempt(s) on this case study."
    assert AttemptGrant.objects.count() == 1


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"attempts": 0}, "attempts"),
        ({"attempts": 11}, "attempts"),
        ({"attempts": "many"}, "attempts"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": None}, "reason"),
        ({"user_id": "not an id!"}, "user_id"),
        ({"user_id": "ffffffffffffffffffffffff"}, "user_id"),
        ({"case_study_id": "ffffffffffffffffffffffff"}, "case_study_id"),
        ({"case_study_id": "../etc"}, "case_study_id"),
    ],
)
@pytest.mark.parametrize("path", [GRANT, REVOKE])
def test_change_endpoints_answer_400_naming_the_field(operator_client, student, case_study, overrides, field, path):
    response = operator_client.post(path, _body(student, case_study, **overrides), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert list(body["errors"]) == [field]
    assert not AttemptGrant.objects.exists()


@pytest.mark.parametrize("attempts", [0, 11, -1])
@pytest.mark.parametrize("path", [GRANT, REVOKE, BULK])
def test_attempts_outside_one_to_ten_are_refused_with_the_services_one_message(
    operator_client, student, case_study, path, attempts
):
    # The serializer checks the type only (an integer); the range is the service's rule, and its
    # message is the one the console's forms show beside their Attempts field.
    body = _body(student, case_study, attempts=attempts)
    if path == BULK:
        body["user_ids"] = [body.pop("user_id")]
    response = operator_client.post(path, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"attempts": [services.MSG_ATTEMPTS_RANGE]}
    assert not AttemptGrant.objects.exists()


def test_the_schema_states_the_attempts_range_the_service_holds():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    for name in ("AttemptChangeRequestRequest", "BulkGrantRequestRequest"):
        attempts = spec["components"]["schemas"][name]["properties"]["attempts"]
        assert (attempts["type"], attempts["minimum"], attempts["maximum"], attempts["default"]) == (
            "integer", services.MIN_ATTEMPTS, services.MAX_ATTEMPTS, 1
        )


@pytest.mark.parametrize("missing", ["user_id", "case_study_id", "reason"])
def test_grant_endpoint_requires_each_field(operator_client, student, case_study, missing):
    body = _body(student, case_study)
    del body[missing]
    response = operator_client.post(GRANT, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [missing]


def test_grant_endpoint_refuses_an_unassigned_case_study_naming_case_study_id(operator_client, student):
    elsewhere = CaseStudyFactory(programmes=[ProgrammeFactory()])
    response = operator_client.post(GRANT, _body(student, elsewhere), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"case_study_id": [services.MSG_NOT_ASSIGNED]}


def test_grant_endpoint_refuses_a_deleted_student_as_unknown(operator_client, student, case_study):
    from django.utils import timezone

    Student = type(student)
    Student.objects.filter(pk=student.pk).update(deleted_at=timezone.now())
    response = operator_client.post(GRANT, _body(student, case_study), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"user_id": [services.MSG_STUDENT_UNKNOWN]}


def test_grant_endpoint_refuses_a_body_that_is_not_json(operator_client, student, case_study):
    response = operator_client.post(GRANT, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("path", [GRANT, REVOKE, BULK])
def test_change_endpoints_refuse_get(operator_client, path):
    response = operator_client.get(path)
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_change_endpoints_name_both_unknown_references_at_once(operator_client, student, case_study):
    body = _body(student, case_study, user_id="ffffffffffffffffffffffff", case_study_id="eeeeeeeeeeeeeeeeeeeeeeee")
    response = operator_client.post(GRANT, body, format="json")
    assert response.json()["errors"] == {
        "user_id": [services.MSG_STUDENT_UNKNOWN],
        "case_study_id": [services.MSG_CASE_STUDY_UNKNOWN],
    }


def test_console_student_detail_shows_a_grant_on_the_next_request(operator_client, student, case_study):
    SessionFactory(student=student, case_study=case_study)
    assert operator_client.post(GRANT, _body(student, case_study, attempts=2), format="json").status_code == 201
    response = operator_client.get(f"/v1/console/students/{student.pk}")
    assert response.status_code == 200
    card = next(c for c in response.json()["data"]["case_study_details"] if c["case_study_id"] == case_study.pk)
    assert (card["extra_attempts"], card["attempts_used"], card["attempts_allowed"]) == (2, 1, 4)


# Bulk endpoint


@pytest.mark.parametrize("path", [BULK, BULK + "/"])
def test_bulk_endpoint_answers_per_student_results(operator_client, operator_user, mba, case_study, path):
    first, second = StudentFactory(programmes=[mba]), StudentFactory(programmes=[mba])
    SessionFactory(student=second, case_study=case_study)
    SessionFactory(student=second, case_study=case_study, transcript_status="failed")
    services.attempts_grant(user_id=second.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=operator_user)
    response = operator_client.post(
        path,
        {"user_ids": [second.pk, first.pk, second.pk], "case_study_id": case_study.pk, "attempts": 2, "reason": REASON},
        format="json",
    )
    assert response.status_code == 201, response.json()
    grants = {g.student_id: g.pk for g in AttemptGrant.objects.filter(delta=2)}
    assert response.json()["data"] == [
        {"user_id": second.pk, "grant_id": grants[second.pk], "extra_attempts": 3, "attempts_used": 1, "attempts_allowed": 5},
        {"user_id": first.pk, "grant_id": grants[first.pk], "extra_attempts": 2, "attempts_used": 0, "attempts_allowed": 4},
    ]


def test_bulk_endpoint_with_one_unknown_id_changes_nothing_and_names_it(operator_client, mba, case_study):
    known = StudentFactory(programmes=[mba])
    response = operator_client.post(
        BULK,
        {"user_ids": [known.pk, "0123456789abcdef01234567"], "case_study_id": case_study.pk, "reason": REASON},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == services.MSG_BULK_REFUSED
    assert body["errors"] == {"user_ids[1]": ["0123456789abcdef01234567: no student with this id on this tenant."]}
    assert not AttemptGrant.objects.exists()


@pytest.mark.parametrize("n_students", [1, 12])
def test_bulk_endpoint_query_count_does_not_grow_with_students(
    operator_client, mba, case_study, django_assert_num_queries, n_students
):
    students = [StudentFactory(programmes=[mba]) for _ in range(n_students)]
    body = {"user_ids": [s.pk for s in students], "case_study_id": case_study.pk, "reason": REASON}
    # token with its user and roles (one query), SAVEPOINT, case study, student states,
    # advisory locks, INSERT grants, attempts used per student, ledger sums per student, INSERT
    # their audit events (one statement), INSERT their change-feed events (one statement),
    # RELEASE (the events are numbered, and the webhook dispatcher woken, by a trigger at the
    # commit)
    with django_assert_num_queries(11):
        response = operator_client.post(BULK, body, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"user_ids": []}, "user_ids"),
        ({"user_ids": "abc"}, "user_ids"),
        ({"user_ids": [f"{i:024x}" for i in range(501)]}, "user_ids"),
        ({"user_ids": ["bad id!"]}, "user_ids[0]"),
        ({"attempts": 11}, "attempts"),
        ({"reason": ""}, "reason"),
        ({"case_study_id": "ffffffffffffffffffffffff"}, "case_study_id"),
    ],
)
def test_bulk_endpoint_answers_400_naming_the_field(operator_client, mba, case_study, overrides, field):
    student = StudentFactory(programmes=[mba])
    body = {"user_ids": [student.pk], "case_study_id": case_study.pk, "attempts": 1, "reason": REASON}
    body.update(overrides)
    response = operator_client.post(BULK, body, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == [field]
    assert not AttemptGrant.objects.exists()


def test_bulk_endpoint_empty_list_message(operator_client, case_study):
    response = operator_client.post(BULK, {"user_ids": [], "case_study_id": case_study.pk, "reason": REASON}, format="json")
    assert response.json()["errors"] == {"user_ids": [services.MSG_USER_IDS_EMPTY]}


def test_bulk_grant_names_a_blank_id_as_malformed_and_the_schema_refuses_it(operator_client, mba, case_study):
    student = StudentFactory(programmes=[mba])
    body = {"user_ids": [student.pk, ""], "case_study_id": case_study.pk, "reason": REASON}
    response = operator_client.post(BULK, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"user_ids[1]": [services.REASON_BAD_ID]}
    spec = SchemaGenerator().get_schema(request=None, public=True)
    user_ids = spec["components"]["schemas"]["BulkGrantRequestRequest"]["properties"]["user_ids"]
    assert user_ids["items"] == {"type": "string", "pattern": f"^{OPAQUE_ID}$"}
    assert (user_ids["minItems"], user_ids["maxItems"]) == (1, MAX_BULK_IDS)


# Ledger endpoint


@pytest.fixture
def ledger(mba, student, case_study, operator_user, admin_user):
    other_case = CaseStudyFactory(programmes=[mba])
    other_student = StudentFactory(programmes=[mba])
    rows = [
        services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=2, reason="First", actor=operator_user).grant,
        services.attempts_grant(user_id=student.pk, case_study_id=other_case.pk, attempts=1, reason="Second", actor=admin_user).grant,
        services.attempts_revoke(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason="Third", actor=admin_user).grant,
        services.attempts_grant(user_id=other_student.pk, case_study_id=case_study.pk, attempts=1, reason="Fourth", actor=operator_user).grant,
    ]
    return {"rows": rows, "other_case": other_case, "other_student": other_student}


@pytest.mark.parametrize("path", [LEDGER, LEDGER + "/"])
def test_ledger_lists_a_students_rows_newest_first(operator_client, student, ledger, path):
    response = operator_client.get(path, {"user_id": student.pk})
    assert response.status_code == 200
    body = response.json()
    assert [r["reason"] for r in body["data"]] == ["Third", "Second", "First"]
    assert [r["delta"] for r in body["data"]] == [-1, 1, 2]
    assert body["data"][0]["actor"] == {"email": "admin@uni.example", "full_name": "Ada Admin"}
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (3, 1, 10, 1)


def test_ledger_filters_by_student_and_case_study(operator_client, student, case_study, ledger):
    response = operator_client.get(LEDGER, {"user_id": student.pk, "case_study_id": case_study.pk})
    assert [r["reason"] for r in response.json()["data"]] == ["Third", "First"]
    response = operator_client.get(LEDGER, {"case_study_id": case_study.pk})
    assert [r["reason"] for r in response.json()["data"]] == ["Fourth", "Third", "First"]


def test_ledger_without_filters_is_the_whole_audit_trail(operator_client, ledger):
    response = operator_client.get(LEDGER)
    assert [r["reason"] for r in response.json()["data"]] == ["Fourth", "Third", "Second", "First"]


def test_ledger_pages_with_skip_and_limit(operator_client, ledger):
    response = operator_client.get(LEDGER, {"skip": 2, "limit": 2})
    body = response.json()
    assert [r["reason"] for r in body["data"]] == ["Second", "First"]
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (4, 2, 2, 2)


def test_ledger_filter_on_an_unknown_id_matches_nothing(operator_client, ledger):
    response = operator_client.get(LEDGER, {"user_id": "ffffffffffffffffffffffff"})
    assert response.status_code == 200
    assert (response.json()["data"], response.json()["total"]) == ([], 0)


@pytest.mark.parametrize(
    "params, field",
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"skip": -1}, "skip"), ({"skip": "x"}, "skip"),
     ({"user_id": "bad id!"}, "user_id"), ({"case_study_id": "x" * 65}, "case_study_id")],
)
def test_ledger_answers_400_naming_the_parameter(operator_client, params, field):
    response = operator_client.get(LEDGER, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_ledger_shows_a_deleted_actors_email_with_an_empty_name(operator_client, student, case_study):
    staff = StaffUserFactory(email="leaver@uni.example", full_name="Lena Leaver", roles=["operator"])
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=staff)
    staff.delete()
    response = operator_client.get(LEDGER, {"user_id": student.pk})
    assert response.json()["data"][0]["actor"] == {"email": "leaver@uni.example", "full_name": ""}


def test_ledger_query_count_does_not_grow_with_rows(operator_client, mba, case_study, operator_user, django_assert_num_queries):
    for _ in range(15):
        s = StudentFactory(programmes=[mba])
        services.attempts_grant(user_id=s.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=operator_user)
    # token with its user and roles (one query), COUNT, the page of rows with their actors
    with django_assert_num_queries(3):
        response = operator_client.get(LEDGER, {"limit": 100})
    assert len(response.json()["data"]) == 15


# Permissions ------------------------------------------------------------------------------


def _requests(student, case_study):
    body = _body(student, case_study)
    bulk = {"user_ids": [student.pk], "case_study_id": case_study.pk, "reason": REASON}
    return [("post", GRANT, body), ("post", REVOKE, body), ("post", BULK, bulk), ("get", LEDGER, None)]


@pytest.mark.parametrize("index", range(4))
def test_attempts_endpoints_need_credentials(anon_client, student, case_study, index):
    method, path, body = _requests(student, case_study)[index]
    response = getattr(anon_client, method)(path, body, format="json" if body else None)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("index", range(4))
def test_attempts_endpoints_need_attempts_manage(viewer_client, ingest_client, student, case_study, index):
    method, path, body = _requests(student, case_study)[index]
    for client in (viewer_client, ingest_client):
        response = getattr(client, method)(path, body, format="json" if body else None)
        assert response.status_code == 403
        assert response.json()["code"] == "PERMISSION_DENIED"
    assert not AttemptGrant.objects.exists()


@pytest.mark.parametrize("index", range(4))
def test_attempts_endpoints_allow_admins(admin_client, student, case_study, index):
    method, path, body = _requests(student, case_study)[index]
    if path == REVOKE:
        services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON,
                                actor=StaffUserFactory(roles=["operator"]))
    response = getattr(admin_client, method)(path, body, format="json" if body else None)
    assert response.status_code in (200, 201), response.json()


def test_a_token_of_another_tenant_is_refused(other_tenant_client, host, student, case_study):
    response = other_tenant_client.post(GRANT, _body(student, case_study), format="json", HTTP_HOST=host)
    assert response.status_code == 401
    assert not AttemptGrant.objects.exists()


def test_another_tenants_students_are_invisible(other_tenant_client, operator_user, student, case_study):
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=REASON, actor=operator_user)
    response = other_tenant_client.post(GRANT, _body(student, case_study), format="json")
    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["case_study_id", "user_id"]
    response = other_tenant_client.get(LEDGER, {"user_id": student.pk})
    assert (response.status_code, response.json()["data"]) == (200, [])
    response = other_tenant_client.get(LEDGER)
    assert response.json()["total"] == 0
    assert AttemptGrant.objects.count() == 1


def test_schema_documents_the_attempts_and_performance_endpoints(operator_client):
    response = operator_client.get("/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in ["/v1/console/attempts/grant/", "/v1/console/attempts/revoke/", "/v1/console/attempts/grant/bulk/"]:
        operation = paths[path]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].startswith("#/components/")
        assert {"201", "400", "401", "403"} <= set(operation["responses"])
    assert "409" in paths["/v1/console/attempts/revoke/"]["post"]["responses"]
    assert "get" in paths["/v1/console/attempts/grants/"]
    for suffix in ["", "transcript/", "grade/"]:
        assert "404" in paths[f"/v1/console/student-performance/attempts/{{session_id}}/{suffix}"]["get"]["responses"]
    assert schema["components"]["schemas"]["SessionStatusEnum"]["enum"] == ["in_progress", "ended", "abandoned"]


def test_an_oversized_body_is_a_400_naming_the_body(operator_client, student, case_study, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = operator_client.post(GRANT, _body(student, case_study, reason="x" * 20_000), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": ["The request body is too large."]}
    assert not AttemptGrant.objects.exists()
