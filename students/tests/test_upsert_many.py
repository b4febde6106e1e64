"""students_upsert_many: many students created and updated at once by the records service's rules
(the import's apply and dry run call it; students/tests/test_import.py goes through the file)."""
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from catalogue.models import CaseStudy
from catalogue.programmes.selectors import unknown_programmes_message
from config.errors import AppError
from students.maintained import student_refresh_programme_labels
from students.models import Enrolment, Student
from students.records import services
from students.records.services import (
    CREATED,
    MSG_DUPLICATE_IN_FILE,
    MSG_EMAIL_TAKEN,
    MSG_SAME_STUDENT_TWICE,
    MSG_STUDENT_NUMBER_TAKEN,
    MSG_UNKNOWN_ADVISOR,
    MSG_UNKNOWN_COHORT,
    MSG_USER_ID_TAKEN,
    REJECTED,
    ROW_FIELD,
    UNCHANGED,
    UPDATED,
    StudentsUpsertRefused,
    StudentUpsert,
    student_delete,
    students_upsert_many,
)
from testing.factories import CaseStudyFactory, CohortFactory, ProgrammeFactory, StudentFactory


def _row(number, **values):
    return StudentUpsert(number=number, values=values, detail={"batch_row": number})


def _new(number, email, **values):
    return _row(number, first_name="Chidinma", last_name="Okafọr", email=email, **values)


def _outcomes(rows):
    return {row.number: (row.action, row.errors) for row in rows}


def _state():
    """Everything a write could change."""
    return (
        sorted(Student.objects.values_list(
            "pk", "first_name", "last_name", "email", "status", "student_number", "cohort_id", "advisor_id",
            "programme_label", "programme_ids", "overall_case_studies", "updated_at", "deleted_at",
        )),
        sorted(Enrolment.objects.values_list("student_id", "programme_id", "enrolled_on")),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def world():
    mba = ProgrammeFactory(code="MBA", name="Master of Business Administration")
    acc = ProgrammeFactory(code="ACC", name="Accounting")
    law = ProgrammeFactory(code="LAW", name="Law")
    CaseStudyFactory(programmes=[mba])
    CaseStudyFactory(programmes=[mba, acc])
    CaseStudyFactory(programmes=[law], is_active=False)
    ada = StudentFactory(first_name="Ada", last_name="Obi", email="ada@uni.example", student_number="S-1", programmes=[mba])
    zoe = StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@uni.example", student_number="S-2")
    return {"mba": mba, "acc": acc, "law": law, "ada": ada, "zoe": zoe}


# Rules -----------------------------------------------------------------------------------


def test_rows_match_by_user_id_then_student_number_then_email(world, admin_user):
    ada, zoe = world["ada"], world["zoe"]
    kwame = StudentFactory(first_name="Kwame", last_name="Mensah", email="kwame@uni.example")
    rows = students_upsert_many(dry_run=True, rows=[
        _new(2, "new@uni.example", student_number="S-3"),
        _row(3, user_id=ada.pk, first_name="Ada", last_name="Obi", email="ada.new@uni.example", student_number="S-8"),
        _row(4, first_name="Zoë", last_name="Brontë", email="zoe.new@uni.example", student_number="S-2"),
        _row(5, first_name="Kwame", last_name="Mensah", email="KWAME@uni.example"),
        _row(6, user_id="kept-id.42", first_name="Kept", last_name="Id", email="kept@uni.example"),
    ])
    assert [(r.action, r.user_id) for r in rows] == [
        (CREATED, None), (UPDATED, ada.pk), (UPDATED, zoe.pk), (UPDATED, kwame.pk), (CREATED, "kept-id.42"),
    ]


def test_the_batch_is_written_with_an_audit_event_per_student_changed(world, admin_user):
    ada = world["ada"]
    cohort = CohortFactory(name="Class of 2027")
    rows = students_upsert_many(rows=[
        _new(2, "new@uni.example", student_number="S-3", programme_codes=["ACC", "MBA"], cohort_id=cohort.pk,
             advisor_id=admin_user.pk, status="inactive"),
        _row(3, user_id=ada.pk, first_name="Ada", last_name="Obi-Eze", email="ada@uni.example", programme_codes=["ACC"]),
        _row(4, first_name="Zoë", last_name="Brontë", email="zoe@uni.example", student_number="S-2"),  # as it is
    ])
    assert [r.action for r in rows] == [CREATED, UPDATED, UNCHANGED]
    new = Student.objects.get(email="new@uni.example")
    assert rows[0].user_id == new.pk and len(new.pk) == 24
    assert (new.first_name, new.status, new.student_number, new.cohort_id, new.advisor_id) == (
        "Chidinma", "inactive", "S-3", cohort.pk, admin_user.pk,
    )
    assert (new.enrollment_status, new.archived, new.avatar.name) == ("enrolled", False, "")
    ada.refresh_from_db()
    assert ada.last_name == "Obi-Eze" and ada.status == "active"  # a field left out keeps its value
    assert list(ada.enrolments.values_list("programme__code", flat=True)) == ["ACC"]

    events = {e.target_id: e for e in AuditEvent.objects.filter(target_type="student")}
    assert set(events) == {new.pk, ada.pk}  # Zoë is unchanged: no event
    assert events[new.pk].action == "student.create" and events[new.pk].detail == {"batch_row": 2}
    assert events[new.pk].changes["programmes"] == [None, ["ACC", "MBA"]]
    assert events[new.pk].changes["cohort"] == [None, cohort.pk]
    assert events[ada.pk].action == "student.update" and events[ada.pk].detail == {"batch_row": 3}
    assert events[ada.pk].changes == {"last_name": ["Obi", "Obi-Eze"], "programmes": [["MBA"], ["ACC"]]}


def test_each_refusal_names_its_row_and_field_with_the_records_services_messages(world):
    ada, zoe = world["ada"], world["zoe"]
    StudentFactory(email="kwame@uni.example", student_number="S-7")
    StudentFactory(email="amara@uni.example", student_number="S-5")
    gone = StudentFactory(email="gone@uni.example")
    student_delete(user_id=gone.pk)
    rows = students_upsert_many(dry_run=True, rows=[
        _new(2, "a@uni.example", programme_codes=["MBA", "NOPE", "ZZZ"]),
        _new(3, "b@uni.example", cohort_id="no-such-cohort", advisor_id=987654),
        _new(4, "kwame@uni.example", student_number="S-5"),  # Amara by her number, with Kwame's email
        _new(5, "c@uni.example", user_id=gone.pk),
        _new(6, "d@uni.example", student_number="N-1"),
        _new(7, "e@uni.example", student_number="N-1"),
        _row(8, user_id=ada.pk, first_name="Ada", last_name="Obi", email="ada.new@uni.example"),
        _row(9, first_name="Ada", last_name="Obi", email="ada@uni.example"),  # Ada again, by her email
        _row(10, user_id=zoe.pk, first_name="Zoë", last_name="Brontë", email="zoe@uni.example", student_number="S-7"),
    ])
    assert _outcomes(rows) == {
        2: (REJECTED, {"programme_codes": [unknown_programmes_message(["NOPE", "ZZZ"])]}),
        3: (REJECTED, {"cohort_id": [MSG_UNKNOWN_COHORT], "advisor_id": [MSG_UNKNOWN_ADVISOR]}),
        4: (REJECTED, {"email": [MSG_EMAIL_TAKEN]}),
        5: (REJECTED, {"user_id": [MSG_USER_ID_TAKEN]}),
        6: (CREATED, {}),
        7: (REJECTED, {"student_number": [MSG_DUPLICATE_IN_FILE.format(row=6)]}),
        8: (UPDATED, {}),
        9: (REJECTED, {ROW_FIELD: [MSG_SAME_STUDENT_TWICE.format(row=8)]}),
        10: (REJECTED, {"student_number": [MSG_STUDENT_NUMBER_TAKEN]}),
    }
    assert rows[3].user_id == gone.pk and rows[6].user_id == ada.pk  # a rejected row keeps the id it gave


def test_a_row_the_caller_refused_still_has_its_references_checked(world):
    rows = students_upsert_many(dry_run=True, rows=[
        StudentUpsert(number=2, errors={"email": ["Enter a valid email address."]}, references={"programme_codes": ["NOPE"]}),
        StudentUpsert(number=3, values={"first_name": "A", "last_name": "B", "email": "ab@uni.example", "cohort_id": "nope"},
                      errors={"student_number": ["Refused by the caller."]}),
    ])
    assert _outcomes(rows) == {
        2: (REJECTED, {"email": ["Enter a valid email address."], "programme_codes": [unknown_programmes_message(["NOPE"])]}),
        3: (REJECTED, {"student_number": ["Refused by the caller."], "cohort_id": [MSG_UNKNOWN_COHORT]}),
    }


def test_a_dry_run_reports_what_would_happen_and_changes_nothing(world):
    before = _state()
    rows = students_upsert_many(dry_run=True, rows=[
        _new(2, "new@uni.example", programme_codes=["MBA"]),
        _row(3, user_id=world["ada"].pk, first_name="Ada", last_name="Changed", email="ada@uni.example"),
    ])
    assert [(r.action, r.user_id) for r in rows] == [(CREATED, None), (UPDATED, world["ada"].pk)]
    assert _state() == before


# All or nothing ---------------------------------------------------------------------------


def test_a_batch_with_a_refused_row_changes_nothing(world):
    before = _state()
    with pytest.raises(StudentsUpsertRefused) as refused:
        students_upsert_many(rows=[
            _new(2, "fine@uni.example", programme_codes=["ACC"]),
            _row(3, user_id=world["ada"].pk, first_name="Ada", last_name="Changed", email="ada@uni.example",
                 programme_codes=["ACC", "LAW"]),
            _new(4, "other@uni.example", cohort_id="no-such-cohort"),
        ])
    assert refused.value.status_code == 400
    assert refused.value.errors == {"rows[4].cohort_id": [MSG_UNKNOWN_COHORT]}
    assert refused.value.message == services.MSG_UPSERT_REFUSED.format(count=1, s="")
    assert [r.action for r in refused.value.rows] == [CREATED, UPDATED, REJECTED]
    assert _state() == before


def test_a_uniqueness_race_lost_to_another_writer_is_a_409_and_changes_nothing(world):
    before = _state()
    # Ada (by her number) given Zoë's email, as if Zoë took it after the check: the unique
    # constraint refuses it.
    rows = [_new(2, "fine@uni.example", programme_codes=["ACC"]), _new(3, "ZOE@uni.example", student_number="S-1")]
    with mock.patch.object(services, "_check_unique"), pytest.raises(AppError) as conflict:
        students_upsert_many(rows=rows)
    assert conflict.value.status_code == 409 and conflict.value.errors == {"email": [MSG_EMAIL_TAKEN]}
    assert _state() == before


# Maintained columns ----------------------------------------------------------------------


def _maintained():
    columns = Student.objects.values_list("pk", "programme_label", "programme_ids", "overall_case_studies")
    return {pk: (label, ids, count) for pk, label, ids, count in columns}


def test_the_maintained_columns_are_right_as_soon_as_programmes_change(world):
    ada, zoe = world["ada"], world["zoe"]
    mba, acc, law = world["mba"], world["acc"], world["law"]
    rows = students_upsert_many(rows=[
        _row(2, user_id=ada.pk, first_name="Ada", last_name="Obi", email="ada@uni.example", programme_codes=["LAW", "ACC"]),
        _row(3, user_id=zoe.pk, first_name="Zoë", last_name="Brontë", email="zoe@uni.example", programme_codes=["MBA"]),
        _new(4, "new@uni.example", programme_codes=["MBA", "ACC", "MBA"]),
        _new(5, "none@uni.example", programme_codes=[]),
        _row(6, first_name="Kept", last_name="Programmes", email="kept@uni.example"),
    ])
    new, none, kept = (Student.objects.get(pk=r.user_id) for r in rows[2:])
    maintained = _maintained()
    # Names in code order, their ids in the same order, active case studies sharing one, each once.
    assert maintained[ada.pk] == ("Accounting, Law", [acc.pk, law.pk], 1)
    assert maintained[zoe.pk] == ("Master of Business Administration", [mba.pk], 2)
    assert maintained[new.pk] == ("Accounting, Master of Business Administration", [acc.pk, mba.pk], 2)
    assert maintained[none.pk] == maintained[kept.pk] == ("", [], 0)
    assert student_refresh_programme_labels() == 0  # the refresh from scratch finds nothing to fix
    assert CaseStudy.objects.filter(is_active=True, programmes__in=[acc, law]).distinct().count() == 1


def test_a_change_of_other_fields_keeps_the_maintained_columns(world):
    ada = world["ada"]
    before = _maintained()[ada.pk]
    students_upsert_many(rows=[_row(2, user_id=ada.pk, first_name="Adaeze", last_name="Obi", email="ada@uni.example")])
    assert _maintained()[ada.pk] == before == ("Master of Business Administration", [world["mba"].pk], 2)


def test_the_single_record_services_share_the_rules_and_an_update_always_writes(world):
    ada = world["ada"]
    with pytest.raises(AppError) as refused:
        services.student_create(first_name="A", last_name="B", email="ADA@uni.example", programme_codes=[])
    assert refused.value.status_code == 409 and refused.value.errors == {"email": [MSG_EMAIL_TAKEN]}
    before = Student.objects.values_list("updated_at", flat=True).get(pk=ada.pk)
    services.student_update(user_id=ada.pk, first_name="Ada")  # nothing changes
    assert Student.objects.values_list("updated_at", flat=True).get(pk=ada.pk) > before
    event = AuditEvent.objects.get(target_id=ada.pk)
    assert (event.action, event.changes, event.detail) == ("student.update", {}, {})


# Cost ---------------------------------------------------------------------------------------


def _count_queries(rows, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        students_upsert_many(rows=rows, **kwargs)
    return len(queries)


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_query_count_does_not_grow_with_the_rows(world, dry_run):
    existing = [StudentFactory(email=f"old{i}@uni.example", student_number=f"O-{i}") for i in range(120)]

    def rows(n, tag):
        new = [_new(i, f"{tag}{i}@uni.example", student_number=f"{tag}-{i}", programme_codes=["MBA"]) for i in range(n)]
        old = [_row(n + i, user_id=s.pk, first_name=s.first_name, last_name=tag, email=s.email, programme_codes=["ACC"])
               for i, s in enumerate(existing[:n])]
        return new + old

    assert _count_queries(rows(3, "a"), dry_run=dry_run) == _count_queries(rows(120, "b"), dry_run=dry_run)
