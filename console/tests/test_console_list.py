"""GET /v1/console/students — the seed's List Students, sentence by sentence."""
import datetime as dt

import pytest
from django_tenants.utils import schema_context

from attempts.maintained import students_refresh_last_seen
from attempts.models import Session
from config.query import MSG_DATE_OUT_OF_RANGE
from students.maintained import student_refresh_programme_labels
from students.models import Enrolment, Student
from testing.factories import (
    HOSTILE_NAME,
    CaseStudyFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentFactory,
)
from testing.queries import API_REQUEST_QUERIES

URL = "/v1/console/students"
NOW = dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.timezone.utc)

# The seed's example response, verbatim.
SEED_RESPONSE = {
    "success": True,
    "data": [
        {
            "user_id": "6650a1b2c3d4e5f6a7b8c9d0",
            "student_name": "Abdulwahab Umar",
            "student_email": "abdulwahabumar@miva.university",
            "programmes": [{"code": "MBA1234", "name": "Masters in Business Administration"}],
            "programme_label": "Masters in Business Administration",
            "overall_case_studies": 10,
            "status": "active",
            "last_seen": "2026-06-04T09:00:00Z",
        }
    ],
    "total": 137,
    "page": 1,
    "page_size": 10,
    "total_pages": 14,
    "message": None,
}
ROW_KEYS = [
    "user_id",
    "student_name",
    "student_email",
    "programmes",
    "programme_label",
    "overall_case_studies",
    "status",
    "last_seen",
]


def _seen(student, when):
    SessionFactory(student=student, started_at=when, ended_at=None, status="in_progress", last_activity_at=when)


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["user_id"] for row in response.json()["data"]]


def _bulk_students(specs, programmes=()):
    """Many students at once: specs are dicts of Student fields plus optional `seen` (a
    datetime for one session). Maintained columns are refreshed as the services do."""
    case_study = CaseStudyFactory(title="Bulk activity")
    students = Student.objects.bulk_create(
        [Student(**{k: v for k, v in spec.items() if k != "seen"}) for spec in specs]
    )
    Enrolment.objects.bulk_create(
        [Enrolment(student=s, programme=p) for s in students for p in programmes]
    )
    Session.objects.bulk_create(
        [
            Session(student=s, case_study=case_study, started_at=spec["seen"], last_activity_at=spec["seen"])
            for s, spec in zip(students, specs, strict=True)
            if spec.get("seen")
        ]
    )
    ids = [s.pk for s in students]
    student_refresh_programme_labels(student_ids=ids)
    students_refresh_last_seen(student_ids=ids)
    return students


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")


@pytest.fixture
def seed_tenant_data(mba):
    """The world behind the seed's example: 137 active MBA1234 students match "abdul",
    Abdulwahab Umar seen most recently; others match some filters but not all."""
    for n in range(10):
        CaseStudyFactory(title=f"MBA case study {n}", programmes=[mba])
    CaseStudyFactory(title="Retired MBA case", programmes=[mba], is_active=False)
    other = ProgrammeFactory(code="BSC0001", name="BSc Economics")
    CaseStudyFactory(title="Economics only", programmes=[other])
    abdulwahab = _bulk_students(
        [
            {
                "user_id": "6650a1b2c3d4e5f6a7b8c9d0",
                "first_name": "Abdulwahab",
                "last_name": "Umar",
                "email": "abdulwahabumar@miva.university",
                "seen": NOW,
            }
        ],
        programmes=[mba],
    )[0]
    _bulk_students(
        [
            {
                "first_name": "Abdullahi" if n % 2 else "Mariam",
                "last_name": f"Bello {n}" if n % 2 else f"Abdulkadir {n}",
                "email": f"learner{n}@miva.university",
                "seen": NOW - dt.timedelta(hours=n + 1) if n % 3 else None,
            }
            for n in range(136)
        ],
        programmes=[mba],
    )
    # Seen later than Abdulwahab, but each fails one filter.
    _bulk_students(
        [
            {"first_name": "Abdul", "last_name": "Inactive", "email": "ai@miva.university",
             "status": "inactive", "seen": NOW + dt.timedelta(days=1)},
            {"first_name": "Abdul", "last_name": "Archived", "email": "aa@miva.university",
             "archived": True, "seen": NOW + dt.timedelta(days=1)},
            {"first_name": "Abdul", "last_name": "Deleted", "email": "ad@miva.university",
             "deleted_at": NOW, "seen": NOW + dt.timedelta(days=1)},
            {"first_name": "Zainab", "last_name": "Okafọr", "email": "zo@miva.university",
             "seen": NOW + dt.timedelta(days=1)},
        ],
        programmes=[mba],
    )
    _bulk_students(
        [{"first_name": "Abdul", "last_name": "Economist", "email": "ae@miva.university",
          "seen": NOW + dt.timedelta(days=1)}],
        programmes=[other],
    )
    return abdulwahab


# The seed's example -----------------------------------------------------------------------


def test_seed_example_request_returns_the_seed_response(viewer_client, seed_tenant_data):
    response = viewer_client.get(
        URL, {"search": "abdul", "programme": "MBA1234", "status": "active", "sort_by": "last_seen",
              "sort_order": "desc", "limit": 10}
    )
    assert response.status_code == 200
    body = response.json()
    assert [row["user_id"] for row in body["data"]][0] == "6650a1b2c3d4e5f6a7b8c9d0"
    assert len(body["data"]) == 10
    body["data"] = body["data"][:1]  # the seed shows the first row of the page
    assert body == SEED_RESPONSE
    assert list(body) == list(SEED_RESPONSE)
    assert list(body["data"][0]) == ROW_KEYS


def test_rows_have_exactly_the_seed_keys(viewer_client, mba):
    StudentFactory(programmes=[mba])
    row = viewer_client.get(URL).json()["data"][0]
    assert list(row) == ROW_KEYS


@pytest.mark.parametrize("seen", [None, dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))])
def test_the_row_built_directly_is_what_drf_would_build_from_the_fields(mba, seen):
    from django.http import QueryDict
    from rest_framework import serializers as drf

    from console.students.serializers import ConsoleStudentRowSerializer
    from students.listing.selectors import student_list_filterset, student_list_page

    other = ProgrammeFactory(code="ZZ9", name=HOSTILE_NAME)
    StudentFactory(programmes=[mba, other], full_name=HOSTILE_NAME, last_seen=seen)
    StudentFactory(programmes=[])
    rows, _ = student_list_page(student_list_filterset(QueryDict("")), skip=0, limit=10)
    serializer = ConsoleStudentRowSerializer()
    for row in rows:
        fast = serializer.to_representation(row)
        assert fast == drf.Serializer.to_representation(serializer, row)
        assert list(fast) == list(serializer.fields) == ROW_KEYS


# Authentication and tenancy ------------------------------------------------------------


def test_requires_user_management_can_view(ingest_client, viewer_client):
    denied = ingest_client.get(URL)
    assert denied.status_code == 403 and denied.json()["code"] == "PERMISSION_DENIED"
    assert viewer_client.get(URL).status_code == 200


def test_without_credentials_is_401(anon_client):
    response = anon_client.get(URL)
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_students_of_another_tenant_are_not_listed(other_tenant_client, other_tenant, tenant):
    StudentFactory(first_name="Chidinma", last_name="Okafọr")
    with schema_context(other_tenant.schema_name):
        theirs = StudentFactory(first_name="Søren", last_name="Kierkegård")
    response = other_tenant_client.get(URL)
    assert _ids(response) == [theirs.pk]


def test_a_token_of_another_tenant_is_rejected(host, other_tenant_user, other_tenant):
    from testing.clients import bearer_client

    with schema_context(other_tenant.schema_name):
        client = bearer_client(host, other_tenant_user)  # B's token, sent to A's host
    response = client.get(URL)
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_answers_with_and_without_trailing_slash(viewer_client):
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.get(URL + "/").status_code == 200


# Query parameters: search ---------------------------------------------------------------


@pytest.mark.parametrize("term", ["chidinma", "OKAFỌR", "dinma okaf", "CHIDI@Miva", "ọ"])
def test_search_matches_first_last_full_name_or_email_case_insensitively(viewer_client, term):
    match = StudentFactory(first_name="Chidinma", last_name="Okafọr", email="chidi@miva.university")
    StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@uni.example")
    assert _ids(viewer_client.get(URL, {"search": term})) == [match.pk]


def test_search_treats_like_wildcards_literally(viewer_client):
    StudentFactory(first_name="Amara", last_name="Nwosu")
    assert _ids(viewer_client.get(URL, {"search": "%"})) == []
    assert _ids(viewer_client.get(URL, {"search": "_"})) == []


def test_blank_search_lists_everyone(viewer_client):
    StudentFactory()
    assert len(_ids(viewer_client.get(URL, {"search": "  "}))) == 1


# programme, status --------------------------------------------------------------------


def test_programme_filter_matches_students_enrolled_in_that_programme(viewer_client, mba):
    econ = ProgrammeFactory(code="ECO1000", name="Economics")
    both = StudentFactory(programmes=[mba, econ])
    mba_only = StudentFactory(programmes=[mba])
    StudentFactory(programmes=[econ])
    StudentFactory()
    assert sorted(_ids(viewer_client.get(URL, {"programme": "MBA1234"}))) == sorted([both.pk, mba_only.pk])
    assert len(_ids(viewer_client.get(URL, {"programme": "mba1234"}))) == 2
    assert _ids(viewer_client.get(URL, {"programme": "NOPE"})) == []


@pytest.mark.parametrize("status", ["active", "inactive", "INACTIVE"])
def test_status_filter_is_active_or_inactive(viewer_client, status):
    active = StudentFactory(status="active")
    inactive = StudentFactory(status="inactive")
    expected = active if status == "active" else inactive
    assert _ids(viewer_client.get(URL, {"status": status})) == [expected.pk]


# start_date, end_date -------------------------------------------------------------------


def test_start_date_filters_from_that_date_and_excludes_students_with_no_activity(viewer_client):
    before, on_day, never = StudentFactory(), StudentFactory(), StudentFactory()
    _seen(before, NOW - dt.timedelta(days=2))
    _seen(on_day, NOW - dt.timedelta(hours=9))  # 2026-06-04T00:00:00Z
    ids = _ids(viewer_client.get(URL, {"start_date": "2026-06-04"}))
    assert ids == [on_day.pk]
    assert never.pk not in ids


def test_end_date_filters_up_to_the_end_of_that_date_and_excludes_no_activity(viewer_client):
    late_on_day, after, never = StudentFactory(), StudentFactory(), StudentFactory()
    _seen(late_on_day, dt.datetime(2026, 6, 4, 23, 59, 59, tzinfo=dt.timezone.utc))
    _seen(after, dt.datetime(2026, 6, 5, 0, 0, 1, tzinfo=dt.timezone.utc))
    ids = _ids(viewer_client.get(URL, {"end_date": "2026-06-04"}))
    assert ids == [late_on_day.pk]
    assert never.pk not in ids


def test_date_times_with_offsets_are_compared_in_utc(viewer_client):
    student = StudentFactory()
    _seen(student, NOW)  # 09:00Z = 10:00+01:00
    assert _ids(viewer_client.get(URL, {"start_date": "2026-06-04T10:00:00+01:00"})) == [student.pk]
    assert _ids(viewer_client.get(URL, {"start_date": "2026-06-04T10:00:01+01:00"})) == []
    assert _ids(viewer_client.get(URL, {"end_date": "2026-06-04T09:00:00Z"})) == [student.pk]


def test_an_offset_plus_sent_unencoded_is_still_read_as_an_offset(viewer_client):
    student = StudentFactory()
    _seen(student, NOW)
    query = "start_date=2026-06-04T10:00:00+01:00"  # "+" arrives as a space
    assert _ids(viewer_client.get(f"{URL}?{query}")) == [student.pk]
    assert _ids(viewer_client.get(f"{URL}?start_date=2026-06-04T10:00:01+01:00")) == []


# sort_by, sort_order --------------------------------------------------------------------


def test_default_sort_is_last_seen_descending_with_no_activity_last(viewer_client):
    old, new, never = StudentFactory(), StudentFactory(), StudentFactory()
    _seen(old, NOW - dt.timedelta(days=3))
    _seen(new, NOW)
    assert _ids(viewer_client.get(URL)) == [new.pk, old.pk, never.pk]
    assert _ids(viewer_client.get(URL, {"sort_order": "asc"})) == [old.pk, new.pk, never.pk]


def test_sort_by_name_is_case_insensitive_both_ways(viewer_client):
    a = StudentFactory(first_name="amara", last_name="Nwosu")
    b = StudentFactory(first_name="Bola", last_name="Tinubu")
    c = StudentFactory(first_name="chidinma", last_name="Okafọr")
    assert _ids(viewer_client.get(URL, {"sort_by": "name", "sort_order": "asc"})) == [a.pk, b.pk, c.pk]
    assert _ids(viewer_client.get(URL, {"sort_by": "name"})) == [c.pk, b.pk, a.pk]


def test_sort_by_programme_uses_the_programme_label(viewer_client):
    accounting = ProgrammeFactory(code="ZZZ1", name="accounting")
    business = ProgrammeFactory(code="AAA1", name="Business")
    a = StudentFactory(programmes=[accounting])
    b = StudentFactory(programmes=[business])
    none = StudentFactory()
    assert _ids(viewer_client.get(URL, {"sort_by": "programme", "sort_order": "asc"})) == [none.pk, a.pk, b.pk]
    assert _ids(viewer_client.get(URL, {"sort_by": "programme", "sort_order": "desc"})) == [b.pk, a.pk, none.pk]


def test_sort_by_status_both_ways(viewer_client):
    inactive = StudentFactory(status="inactive")
    active = StudentFactory(status="active")
    assert _ids(viewer_client.get(URL, {"sort_by": "status", "sort_order": "asc"})) == [active.pk, inactive.pk]
    assert _ids(viewer_client.get(URL, {"sort_by": "STATUS", "sort_order": "DESC"})) == [inactive.pk, active.pk]


@pytest.mark.parametrize("sort_by", ["name", "last_seen", "programme", "status"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_pages_never_overlap_or_skip_a_row_when_sort_keys_tie(viewer_client, sort_by, sort_order):
    students = [StudentFactory(first_name="Same", last_name="Name", user_id=f"{n:024x}") for n in range(7)]
    for s in students[:4]:
        _seen(s, NOW)
    seen = []
    for skip in range(0, 7, 3):
        seen += _ids(viewer_client.get(URL, {"sort_by": sort_by, "sort_order": sort_order, "skip": skip, "limit": 3}))
    assert sorted(seen) == sorted(s.pk for s in students) and len(seen) == 7
    if sort_by != "last_seen":
        assert seen == sorted(seen)  # ties break on user_id ascending


# skip, limit and the page envelope ------------------------------------------------------


def test_skip_defaults_to_0_and_limit_to_10(viewer_client):
    for n in range(12):
        _seen(StudentFactory(), NOW - dt.timedelta(minutes=n))
    body = viewer_client.get(URL).json()
    assert (len(body["data"]), body["total"], body["page"], body["page_size"], body["total_pages"]) == (10, 12, 1, 10, 2)


def test_page_is_skip_div_limit_plus_one_and_total_pages_rounds_up(viewer_client):
    students = [StudentFactory() for _ in range(7)]
    for n, s in enumerate(students):
        _seen(s, NOW - dt.timedelta(minutes=n))
    body = viewer_client.get(URL, {"skip": 5, "limit": 2}).json()
    assert [r["user_id"] for r in body["data"]] == [students[5].pk, students[6].pk]
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (7, 3, 2, 4)
    body = viewer_client.get(URL, {"skip": 6, "limit": 4}).json()
    assert (len(body["data"]), body["page"], body["total_pages"]) == (1, 2, 2)


def test_skip_past_the_end_returns_an_empty_page(viewer_client):
    StudentFactory()
    body = viewer_client.get(URL, {"skip": 50}).json()
    assert (body["data"], body["total"], body["page"]) == ([], 1, 6)


def test_an_empty_tenant_has_zero_pages(viewer_client):
    body = viewer_client.get(URL).json()
    assert (body["data"], body["total"], body["page"], body["total_pages"]) == ([], 0, 1, 0)


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_accepts_1_to_100(viewer_client, limit):
    assert viewer_client.get(URL, {"limit": limit}).status_code == 200


# Bad input: 400 naming the field ---------------------------------------------------------


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"skip": "-1"}, "skip"),
        ({"skip": "x"}, "skip"),
        ({"skip": "9" * 5000}, "skip"),
        ({"sort_by": "age"}, "sort_by"),
        ({"sort_order": "sideways"}, "sort_order"),
        ({"status": "suspended"}, "status"),
        ({"start_date": "04/06/2026"}, "start_date"),
        ({"end_date": "2026-02-30"}, "end_date"),
        ({"start_date": "20260604"}, "start_date"),
        ({"start_date": "2026-W23"}, "start_date"),
        ({"start_date": "2026-06-04T09:00:00+25:00"}, "start_date"),
        ({"start_date": "2026-06-05", "end_date": "2026-06-04"}, "start_date"),
        ({"search": "x" * 201}, "search"),
        ({"search": "nul\x00byte"}, "search"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(viewer_client, params, field):
    response = viewer_client.get(URL, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False and body["code"] == "VALIDATION_ERROR" and body["data"] is None
    assert field in body["errors"]


@pytest.mark.parametrize("params", [{"end_date": "9999-12-31T23:59:59-14:00"}, {"start_date": "0001-01-01T00:00:00+14:00"}])
def test_a_date_time_outside_the_stated_years_is_400_naming_it(viewer_client, params):
    response = viewer_client.get(URL, params)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {name: [MSG_DATE_OUT_OF_RANGE] for name in params}


def test_every_bad_parameter_is_named_at_once(viewer_client):
    body = viewer_client.get(URL, {"limit": "0", "skip": "-3", "sort_by": "age", "status": "x"}).json()
    assert set(body["errors"]) == {"limit", "skip", "sort_by", "status"}


# Notes ------------------------------------------------------------------------------------


def test_overall_case_studies_counts_active_case_studies_assigned_through_programmes(viewer_client, mba):
    econ = ProgrammeFactory(code="ECO1000", name="Economics")
    law = ProgrammeFactory(code="LAW1000", name="Law")
    student = StudentFactory(programmes=[mba, econ])
    CaseStudyFactory(programmes=[mba, econ])  # overlaps twice: counted once
    CaseStudyFactory(programmes=[econ])
    CaseStudyFactory(programmes=[mba], is_active=False)  # inactive: not counted
    CaseStudyFactory(programmes=[law])  # no overlap
    CaseStudyFactory()  # no programme
    StudentFactory()  # no programmes: 0
    rows = {r["user_id"]: r for r in viewer_client.get(URL).json()["data"]}
    assert rows[student.pk]["overall_case_studies"] == 2
    assert [r["overall_case_studies"] for k, r in rows.items() if k != student.pk] == [0]


def test_last_seen_is_the_most_recent_session_activity_or_null(viewer_client):
    student, never = StudentFactory(), StudentFactory()
    case_study = CaseStudyFactory()
    SessionFactory(student=student, case_study=case_study, started_at=NOW - dt.timedelta(days=9),
                   last_activity_at=NOW - dt.timedelta(days=1))
    SessionFactory(student=student, case_study=case_study, started_at=NOW - dt.timedelta(days=3),
                   last_activity_at=NOW - dt.timedelta(days=2, microseconds=-1500))
    rows = {r["user_id"]: r for r in viewer_client.get(URL).json()["data"]}
    assert rows[student.pk]["last_seen"] == "2026-06-03T09:00:00Z"
    assert rows[never.pk]["last_seen"] is None


def test_programmes_list_each_programme_by_code_and_label_joins_their_names(viewer_client):
    law = ProgrammeFactory(code="LAW1000", name="Law & Société")
    econ = ProgrammeFactory(code="ECO1000", name="Economics")
    StudentFactory(programmes=[law, econ])
    row = viewer_client.get(URL).json()["data"][0]
    assert row["programmes"] == [{"code": "ECO1000", "name": "Economics"}, {"code": "LAW1000", "name": "Law & Société"}]
    assert row["programme_label"] == "Economics, Law & Société"


def test_a_student_without_programmes_has_an_empty_list_and_label(viewer_client):
    StudentFactory()
    row = viewer_client.get(URL).json()["data"][0]
    assert (row["programmes"], row["programme_label"], row["overall_case_studies"]) == ([], "", 0)


def test_student_name_is_first_plus_last_and_hostile_text_is_returned_as_is(viewer_client):
    StudentFactory(first_name=HOSTILE_NAME, last_name="Adébáyọ̀")
    row = viewer_client.get(URL).json()["data"][0]
    assert row["student_name"] == f"{HOSTILE_NAME} Adébáyọ̀"


def test_archived_and_deleted_students_are_not_listed(viewer_client):
    listed = StudentFactory()
    StudentFactory(archived=True)
    StudentFactory(deleted_at=NOW)
    body = viewer_client.get(URL).json()
    assert ([row["user_id"] for row in body["data"]], body["total"]) == ([listed.pk], 1)


# Queries ----------------------------------------------------------------------------------


def _populate(n_students, n_programmes, n_sessions_each):
    programmes = [ProgrammeFactory(code="MBA1234")] + [ProgrammeFactory() for _ in range(n_programmes - 1)]
    case_studies = [CaseStudyFactory(programmes=programmes) for _ in range(2)]
    for _ in range(n_students):
        student = StudentFactory(programmes=programmes)
        for k in range(n_sessions_each):
            SessionFactory(student=student, case_study=case_studies[k % 2], last_activity_at=NOW - dt.timedelta(hours=k))


@pytest.mark.parametrize("n_students, n_programmes, n_sessions", [(1, 1, 1), (25, 4, 3)])
@pytest.mark.parametrize(
    "params, queries",
    [
        # The first page without a narrowing filter: its rows with overall_case_studies, their
        # programmes and the total (maintained counts), in one statement.
        ({}, 1),
        ({"status": "active", "sort_by": "name"}, 1),
        # A narrowing filter: the page's keys with the count of the matches, then the page.
        ({"search": "a", "programme": "MBA1234", "sort_by": "programme"}, 2),
        ({"start_date": "2020-01-01", "status": "active", "sort_by": "name"}, 2),
    ],
)
def test_list_uses_a_fixed_number_of_queries(viewer_client, django_assert_num_queries, n_students, n_programmes,
                                             n_sessions, params, queries):
    _populate(n_students, n_programmes, n_sessions)
    # Before the view, testing.queries.API_REQUEST_QUERIES; then the list's own.
    with django_assert_num_queries(API_REQUEST_QUERIES + queries):
        response = viewer_client.get(URL, params)
    assert response.status_code == 200 and response.json()["total"] == n_students
    assert len(response.json()["data"]) == min(10, n_students)


@pytest.mark.parametrize("skip, queries, rows", [(10, 2, 10), (20, 2, 5), (25, 1, 0), (1000, 1, 0)])
def test_a_later_page_reads_the_total_then_its_rows(viewer_client, django_assert_num_queries, skip, queries, rows):
    _populate(25, 2, 1)
    # The total (maintained counts); the page, unless it lies past the end.
    with django_assert_num_queries(API_REQUEST_QUERIES + queries):
        body = viewer_client.get(URL, {"skip": skip}).json()
    assert (body["total"], len(body["data"])) == (25, rows)


def test_a_validation_error_runs_no_list_query(viewer_client, django_assert_num_queries):
    # authentication only (see above)
    with django_assert_num_queries(API_REQUEST_QUERIES):
        assert viewer_client.get(URL, {"limit": 0}).status_code == 400


def test_is_browsable_in_html(viewer_client, mba):
    StudentFactory(first_name="Zoë", last_name="Brontë", programmes=[mba])
    response = viewer_client.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "Zoë Brontë" in response.content.decode()


# OpenAPI ----------------------------------------------------------------------------------


def test_schema_documents_the_console_endpoints_with_the_seed_examples(anon_client):
    response = anon_client.get("/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    listing = paths["/v1/console/students/"]["get"]
    example = listing["responses"]["200"]["content"]["application/json"]["examples"]["SeedExample"]["value"]
    assert example == SEED_RESPONSE
    params = {p["name"] for p in listing["parameters"]}
    seed = {"search", "programme", "status", "start_date", "end_date", "sort_by", "sort_order", "skip", "limit"}
    # the seed's, and four documented extensions
    assert params == seed | {"cohort", "advisor", "group", "imported"}
    export = paths["/v1/console/students/export/"]["get"]
    assert set(export["responses"]["200"]["content"]) == {
        "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    }
    assert {p["name"] for p in export["parameters"]} == params - {"skip", "limit"} | {"format"}
    detail = paths["/v1/console/students/{user_id}/"]["get"]
    assert {p["name"] for p in detail["parameters"]} == {"user_id", "include_case_studies"}
    assert "SeedExample" in detail["responses"]["200"]["content"]["application/json"]["examples"]
    assert anon_client.get("/v1/docs/").status_code == 200


def test_cohort_advisor_and_group_filters_are_documented_extensions(viewer_client, admin_user):
    from students.models import GroupMembership
    from testing.factories import CohortFactory, StudentGroupFactory

    cohort, group = CohortFactory(), StudentGroupFactory()
    in_cohort = StudentFactory(cohort=cohort)
    advised = StudentFactory(advisor=admin_user)
    member = StudentFactory()
    GroupMembership.objects.create(group=group, student=member)
    StudentFactory()
    for params, expected in (({"cohort": cohort.pk}, in_cohort), ({"advisor": str(admin_user.pk)}, advised), ({"group": group.pk}, member)):
        body = viewer_client.get("/v1/console/students", params).json()
        assert ([row["user_id"] for row in body["data"]], body["total"]) == ([expected.pk], 1), params
    response = viewer_client.get("/v1/console/students", {"advisor": "12a", "cohort": "a\x00", "group": "x" * 65})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"advisor", "cohort", "group"}
    schema = viewer_client.get("/v1/schema/", {"format": "json"}).json()
    names = {p["name"] for p in schema["paths"]["/v1/console/students/"]["get"]["parameters"]}
    assert {"cohort", "advisor", "group"} <= names
