"""config.compiled: a queryset compiled once returns what the queryset returns, for each call's
values, in whichever tenant's schema the connection is on; and the hot reads built on it (the
token, the list's first page, a student) answer as their querysets do."""
import itertools

import pytest
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Upper
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from accounts.authentication import _token_lookup
from accounts.models import ApiToken, hash_token
from config.compiled import CompiledQuery, InArray, Slot, compiled_once
from students.listing.filters import SORT_FIELDS, SORT_ORDERS
from students.listing.selectors import (
    _first_page,
    _ordering,
    _student_by_id,
    programme_rows,
    student_get,
    student_list_filterset,
)
from students.models import LISTED, ListedCount, Student
from testing.clients import issue_token
from testing.factories import CohortFactory, ProgrammeFactory, StaffUserFactory, StudentFactory


def _fields(student):
    return {name: getattr(student, name) for name in ("user_id", "full_name", "email", "status", "last_seen")}


def test_returns_what_the_queryset_returns_for_each_calls_values():
    mba = ProgrammeFactory(code="MBA")
    cohort = CohortFactory(name="Spring 2026")
    ada = StudentFactory(first_name="Ada", cohort=cohort, programmes=[mba])
    bo = StudentFactory(first_name="Bo")
    compiled = CompiledQuery(
        Student.objects.filter(user_id=Slot("user_id"))
        .select_related("cohort")
        .annotate(programme_rows=programme_rows(), shout=F("first_name"), seven=Value(7))
    )
    for student in (ada, bo):
        [got] = compiled(user_id=student.pk)
        [expected] = (
            Student.objects.filter(user_id=student.pk)
            .select_related("cohort")
            .annotate(programme_rows=programme_rows(), shout=F("first_name"), seven=Value(7))
        )
        assert _fields(got) == _fields(expected)
        assert (got.programme_rows, got.shout, got.seven) == (expected.programme_rows, expected.shout, 7)
        assert got.cohort == expected.cohort
        assert got._state.adding is False and got._state.db == "default"
    assert ada.pk != bo.pk and compiled(user_id="nobody") == []


def test_select_related_objects_come_without_another_query():
    cohort = CohortFactory(name="Autumn")
    student = StudentFactory(cohort=cohort)
    compiled = CompiledQuery(Student.objects.filter(user_id=Slot("user_id")).select_related("cohort"))
    [got] = compiled(user_id=student.pk)
    with CaptureQueriesContext(connection) as queries:
        assert got.cohort.name == "Autumn"
    assert len(queries) == 0


def test_one_statement_per_call():
    student = StudentFactory()
    compiled = CompiledQuery(Student.objects.filter(user_id=Slot("user_id")))
    with CaptureQueriesContext(connection) as queries:
        compiled(user_id=student.pk)
        compiled(user_id=student.pk)
    assert len(queries) == 2


def test_each_call_reads_the_schema_the_connection_is_on(tenant, other_tenant):
    compiled = CompiledQuery(Student.objects.filter(email=Slot("email")))
    here = StudentFactory(email="same@uni.example", first_name="Here")
    connection.set_tenant(other_tenant)
    try:
        assert compiled(email="same@uni.example") == []
        there = StudentFactory(email="same@uni.example", first_name="There")
        assert [s.pk for s in compiled(email="same@uni.example")] == [there.pk]
    finally:
        connection.set_tenant(tenant)
    assert [s.pk for s in compiled(email="same@uni.example")] == [here.pk]


def test_the_values_of_every_slot_and_no_others():
    compiled = CompiledQuery(Student.objects.filter(email=Slot("email"), status=Slot("status")))
    with pytest.raises(TypeError):
        compiled(email="a@uni.example")
    with pytest.raises(TypeError):
        compiled(email="a@uni.example", status="active", other=1)


def test_a_slot_that_reaches_the_sql_twice_is_refused_when_compiled():
    slot = Slot("email")
    with pytest.raises(ValueError, match="more than once"):
        CompiledQuery(Student.objects.filter(email=slot) | Student.objects.filter(first_name=slot))


def test_compiled_once_keeps_one_compiled_query_per_arguments():
    built = []

    @compiled_once(maxsize=4)
    def by_status(status):
        built.append(status)
        return Student.objects.filter(status=status)

    assert by_status("active") is by_status("active")
    assert by_status("active") is not by_status("inactive")
    assert built == ["active", "inactive"]


def test_the_token_lookup_finds_live_tokens_only():
    user = StaffUserFactory(roles=["operator"])
    raw = issue_token(user)
    [token] = _token_lookup()(key_hash=hash_token(raw))
    assert token.user == user and "USER_MANAGEMENT.can_view" in token.user_permissions
    ApiToken.objects.filter(user=user).update(revoked_at="2026-01-01T00:00:00Z")
    assert _token_lookup()(key_hash=hash_token(raw)) == []


def test_the_first_page_equals_its_queryset_for_every_sort_and_status():
    mba, acc = ProgrammeFactory(code="MBA"), ProgrammeFactory(code="ACC")
    for number in range(7):
        StudentFactory(
            first_name=f"S{number}", status=["active", "inactive"][number % 3 == 0],
            programmes=[[mba], [acc, mba], []][number % 3],
        )
    StudentFactory(first_name="Archived", archived=True)
    for sort_by, sort_order, status, limit in itertools.product(SORT_FIELDS, SORT_ORDERS, (None, "active", "inactive"), (3, 25)):
        params = QueryDict(mutable=True)
        params.update({"sort_by": sort_by, "sort_order": sort_order, **({"status": status} if status else {})})
        filterset = student_list_filterset(params)
        shape = tuple(sorted((k, v) for k, v in filterset.form.cleaned_data.items() if v not in (None, "")))
        got = _first_page(type(filterset), shape, filterset.sort, limit)()
        students = Student.objects.filter(LISTED)
        if status:
            students = students.filter(status=status)
        expected = list(students.order_by(*_ordering(sort_by, sort_order)).annotate(programme_rows=programme_rows())[:limit])
        assert [s.pk for s in got] == [s.pk for s in expected], (sort_by, sort_order, status)
        assert [s.programme_rows for s in got] == [s.programme_rows for s in expected]
        assert {s._listed for s in got} == {ListedCount.total(status=status)}


def test_student_get_reads_archived_students_and_not_deleted_ones():
    archived = StudentFactory(archived=True)
    deleted = StudentFactory(deleted_at="2026-01-01T00:00:00Z")
    assert student_get(archived.pk).pk == archived.pk
    assert _student_by_id()(user_id=deleted.pk) == []


def test_values_list_tuples_and_a_list_bound_as_one_array():
    ada, bo, cy = StudentFactory(first_name="Ada"), StudentFactory(first_name="Bo"), StudentFactory(first_name="Cy")
    compiled = CompiledQuery(
        Student.objects.filter(InArray(F("pk"), Value(Slot("ids"))))
        .annotate(shout=Upper("first_name"))
        .order_by("first_name")
        .values_list("user_id", "shout")
    )
    assert compiled(ids=[cy.pk, ada.pk]) == [(ada.pk, "ADA"), (cy.pk, "CY")]
    assert compiled(ids=[bo.pk]) == [(bo.pk, "BO")]
    assert compiled(ids=["nobody"]) == []


def test_other_iterables_are_refused():
    with pytest.raises(TypeError):
        CompiledQuery(Student.objects.values("user_id"))
    with pytest.raises(TypeError):
        CompiledQuery(Student.objects.values_list("user_id", flat=True))
