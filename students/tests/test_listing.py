"""The shared list selector (the API, the HTML list and the export all use it)."""
import datetime as dt

import pytest

from config.api import skip_limit_page
from config.errors import AppError
from students.listing.selectors import student_list as listed
from students.listing.selectors import student_list_filterset
from testing.factories import CaseStudyFactory, ProgrammeFactory, SessionFactory, StudentFactory


def student_list(params):
    return listed(student_list_filterset(params))


NOW = dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.timezone.utc)


def _seen(student, when):
    SessionFactory(student=student, started_at=when, ended_at=None, status="in_progress", last_activity_at=when)


def test_default_sort_is_last_seen_desc_with_no_activity_last_and_user_id_ties():
    a = StudentFactory(user_id="a" * 24)
    b = StudentFactory(user_id="b" * 24)
    c = StudentFactory(user_id="c" * 24)
    d = StudentFactory(user_id="d" * 24)
    _seen(b, NOW)
    _seen(c, NOW)
    _seen(d, NOW - dt.timedelta(days=1))
    assert [s.pk for s in student_list({})] == [b.pk, c.pk, d.pk, a.pk]
    assert [s.pk for s in student_list({"sort_order": "asc"})] == [d.pk, b.pk, c.pk, a.pk]


def test_overall_case_studies_counts_active_overlapping_case_studies_once():
    p1, p2, p3 = ProgrammeFactory(), ProgrammeFactory(), ProgrammeFactory()
    student = StudentFactory(programmes=[p1, p2])
    CaseStudyFactory(programmes=[p1, p2])  # counted once
    CaseStudyFactory(programmes=[p2])
    CaseStudyFactory(programmes=[p1], is_active=False)
    CaseStudyFactory(programmes=[p3])
    row = student_list({}).get(pk=student.pk)
    assert row.overall_case_studies == 2


def test_date_range_excludes_students_without_activity():
    seen, never = StudentFactory(), StudentFactory()
    _seen(seen, NOW)
    rows = list(student_list({"start_date": "2026-06-04", "end_date": "2026-06-04"}))
    assert [s.pk for s in rows] == [seen.pk]
    assert never.pk not in [s.pk for s in student_list({"end_date": "2030-01-01"})]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"sort_by": "age"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
        ({"status": "gone"}, "status"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2026-06-05", "end_date": "2026-06-04"}, "start_date"),
    ],
)
def test_bad_parameters_raise_a_validation_error_naming_the_field(params, field):
    with pytest.raises(AppError) as excinfo:
        student_list(params)
    assert excinfo.value.status_code == 400 and field in excinfo.value.errors


def test_page_uses_a_fixed_number_of_queries(django_assert_num_queries):
    programme = ProgrammeFactory()
    for _ in range(15):
        _seen(StudentFactory(programmes=[programme]), NOW)
    # count, page rows (with overall_case_studies and their programmes)
    with django_assert_num_queries(2):
        rows, paging = skip_limit_page(student_list({}), skip=0, limit=10)
    assert (len(rows), paging["total"]) == (10, 15)
    assert all(row.programme_rows == [{"code": programme.code, "name": programme.name}] for row in rows)


def test_name_sort_is_linguistic_not_byte_order():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT collprovider FROM pg_collation WHERE collname = 'name_order'")
        if cursor.fetchone()[0] != "i":
            pytest.skip("this PostgreSQL build has no ICU: names sort by code point here")
    for first in ["Amara", "Ọlájídé", "Aïcha", "zoë", "Obi", "Émile"]:
        StudentFactory(first_name=first, last_name="Bello")
    names = [s.first_name for s in student_list({"sort_by": "name", "sort_order": "asc"})]
    assert names == ["Aïcha", "Amara", "Émile", "Obi", "Ọlájídé", "zoë"]


def test_a_narrowed_page_is_the_narrowed_list_sliced_for_every_sort():
    """student_list_page finds the matches first, then sorts them (_matches_page): the same rows,
    order and total as the list itself, for each sort, order, filter and offset."""
    import itertools

    from students.listing.filters import CONSOLE_SORT_FIELDS, SORT_ORDERS
    from students.listing.selectors import student_file_filterset, student_list_page

    mba, acc = ProgrammeFactory(code="MBA"), ProgrammeFactory(code="ACC")
    for number in range(14):
        student = StudentFactory(
            first_name=["Umar", "Zoë", "émile", "Ada"][number % 4], last_name=f"Nomad{number % 3}",
            status=["active", "inactive"][number % 5 == 0], programmes=[[mba], [acc, mba], []][number % 3],
        )
        if number % 4:
            _seen(student, NOW - dt.timedelta(hours=number % 6))
    CaseStudyFactory(programmes=[mba])
    filters = [{"search": "uma"}, {"search": "nomad1"}, {"programme": "MBA"}, {"start_date": "2026-06-04", "status": "active"}]
    for params, sort_by, sort_order in itertools.product(filters, CONSOLE_SORT_FIELDS, SORT_ORDERS):
        query = {**params, "sort_by": sort_by, "sort_order": sort_order}
        expected = [s.pk for s in listed(student_file_filterset(query))]
        assert expected, query
        for skip, limit in ((0, 3), (2, 4), (len(expected) - 1, 5), (len(expected), 5)):
            rows, total = student_list_page(student_file_filterset(query), skip=skip, limit=limit)
            assert [s.pk for s in rows] == expected[skip : skip + limit], (query, skip)
            assert total == len(expected)
