"""Hostile and malformed input gets a 4xx in the envelope (or a 4xx page) and changes nothing;
never a 500."""
import json

import pytest

from attempts.models import AttemptGrant
from catalogue.models import CaseStudy
from config.errors import MSG_UNSUPPORTED_MEDIA, MSG_VALIDATION
from config.parsers import MAX_JSON_DEPTH, MSG_TOO_DEEP
from config.query import MAX_QUERY_STRING_BYTES, MSG_DATE_OUT_OF_RANGE, MSG_QUERY_TOO_LONG
from config.serializers import MSG_ASCII_DIGITS, MSG_NOT_TEXT, MSG_NOT_WRITABLE
from students.models import Student, StudentCluster, StudentGroup
from testing.clients import TenantAPIClient
from testing.factories import (
    CaseStudyFactory,
    ProgrammeFactory,
    StudentClusterFactory,
    StudentFactory,
    StudentGroupFactory,
)

BIGINT_PAST = "9223372036854775808"


class _AnyMessages(list):
    """Equal to any list of messages."""

    def __eq__(self, other):
        return isinstance(other, list) and bool(other) and all(isinstance(m, str) for m in other)


ANY_MESSAGES = _AnyMessages()


@pytest.fixture
def world():
    programme = ProgrammeFactory(code="MBA")
    case_study = CaseStudyFactory(programmes=[programme])
    student = StudentFactory(programmes=[programme])
    cluster = StudentClusterFactory()
    group = StudentGroupFactory(cluster=cluster)
    return {"programme": programme, "case_study": case_study, "student": student, "cluster": cluster, "group": group}


def _nested(depth):
    return "[" * depth + "]" * depth


def _json_writes(w):
    return [
        ("post", "/v1/auth/token"),
        ("post", "/v1/console/attempts/grant"),
        ("post", "/v1/console/attempts/revoke"),
        ("post", "/v1/console/attempts/grant/bulk"),
        ("post", "/v1/console/attempts/revoke/bulk"),
        ("post", "/v1/students"),
        ("patch", f"/v1/students/{w['student'].pk}"),
        ("put", f"/v1/students/{w['student'].pk}/archive"),
        ("post", "/v1/student-clusters"),
        ("patch", f"/v1/student-clusters/{w['cluster'].pk}"),
        ("post", "/v1/student-groups"),
        ("patch", f"/v1/student-groups/{w['group'].pk}"),
        ("post", f"/v1/student-groups/{w['group'].pk}/members"),
        ("delete", f"/v1/student-groups/{w['group'].pk}/members"),
        ("post", f"/v1/student-groups/{w['group'].pk}/members/bulk-add"),
        ("post", f"/v1/student-groups/{w['group'].pk}/members/bulk-remove"),
        ("post", "/v1/case-studies"),
        ("patch", f"/v1/case-studies/{w['case_study'].pk}"),
        ("post", "/v1/programmes"),
        ("put", "/v1/sessions/6650d3e4f5a6b7c8d9e0f1a2"),
    ]


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_past_the_limit_is_400_on_every_json_write(admin_client, ingest_client, world, depth):
    for method, path in _json_writes(world):
        client = ingest_client if path.startswith("/v1/sessions") else admin_client
        body = '{"name": ' + _nested(depth) + "}"
        response = getattr(client, method)(path, body, content_type="application/json")
        assert response.status_code == 400, (method, path, response.status_code)
        assert response.json()["errors"] == {"body": [MSG_TOO_DEEP]}, path


def test_json_at_the_limit_is_read_and_judged_by_its_fields(admin_client, world):
    body = json.dumps({"name": json.loads(_nested(MAX_JSON_DEPTH - 1))})
    response = admin_client.post("/v1/student-clusters", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"] == {"name": [MSG_NOT_TEXT]}


@pytest.mark.parametrize("method, path", [("post", "/v1/student-clusters"), ("post", "/v1/console/attempts/grant"), ("put", "/v1/sessions/s1")])
def test_the_json_apis_refuse_forms_unread_with_415(admin_client, ingest_client, world, method, path):
    client = ingest_client if path.startswith("/v1/sessions") else admin_client
    for content_type, body in [
        ("application/x-www-form-urlencoded", "name=x"),
        ("multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n'),
    ]:
        response = getattr(client, method)(path, body, content_type=content_type)
        assert response.status_code == 415, (content_type, response.status_code)
        assert response.json()["code"] == "VALIDATION_ERROR" and response.json()["message"] == MSG_UNSUPPORTED_MEDIA
    assert StudentCluster.objects.count() == 1 and not AttemptGrant.objects.exists()


def test_a_form_with_too_many_fields_is_400_on_the_avatar_upload_and_the_console(admin_client, host, admin_user, world):
    fields = "&".join(f"f{i}=1" for i in range(1500))
    multipart = "".join(f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n' for i in range(1500)) + "--b--\r\n"
    response = admin_client.put(
        f"/v1/students/{world['student'].pk}/avatar", multipart, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 400 and response.json()["errors"] == {"body": ["The request has too many fields."]}
    page = TenantAPIClient(host)
    page.force_login(admin_user)
    response = page.post("/students/", fields, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert StudentCluster.objects.count() == 1 and not AttemptGrant.objects.exists()


@pytest.mark.parametrize(
    "path, field",
    [
        (f"/v1/console/attempts/grants?skip={BIGINT_PAST}", "skip"),
        ("/v1/case-studies/{case_study}/users?offset=" + BIGINT_PAST, "offset"),
        ("/v1/student-clusters?page=" + "1" + "0" * 18, "page"),
        ("/v1/student-groups?page=" + "1" + "0" * 18, "page"),
        ("/v1/student-groups/{group}/members?page=" + "1" + "0" * 18, "page"),
        ("/v1/students?page=" + "1" + "0" * 18, "page"),
        ("/v1/staff?page=" + "1" + "0" * 18, "page"),
        ("/v1/programmes?page=" + "1" + "0" * 18, "page"),
        ("/v1/case-studies?page=" + "1" + "0" * 18, "page"),
        (f"/v1/console/students?skip={BIGINT_PAST}", "skip"),
    ],
)
def test_paging_past_the_range_is_400_naming_the_parameter(admin_client, world, path, field):
    path = path.format(case_study=world["case_study"].pk, group=world["group"].pk)
    response = admin_client.get(path)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_html_pages_past_any_real_page_show_the_last_one(host, admin_user, world):
    page = TenantAPIClient(host)
    page.force_login(admin_user)
    for path in (
        f"/case-studies/{world['case_study'].pk}/participants/?page=1" + "0" * 20,
        "/students/?page=1" + "0" * 20,
        "/groups/?page=1" + "0" * 20,
        "/case-studies/?page=1" + "0" * 20,
        "/students/?page=１０",
    ):
        assert page.get(path).status_code == 200, path


@pytest.mark.parametrize(
    "path",
    ["/students/%00/", "/students/?search=a%00b", "/attempts/%00/", "/groups/%00/", "/case-studies/%00/",
     "/case-studies/?q=%00", "/groups/?q=%00"],
)
def test_nul_bytes_on_the_console_are_a_400_page(host, admin_user, world, path):
    page = TenantAPIClient(host)
    page.force_login(admin_user)
    assert page.get(path).status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/v1/console/students?search=a%00b", "/v1/console/students/%00", "/v1/students/%00", "/v1/case-studies/%00/users",
     "/v1/programmes/%00", "/v1/student-groups/%00/results"],
)
def test_nul_bytes_on_the_api_are_a_400_envelope(admin_client, world, path):
    response = admin_client.get(path)
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"


def _grant_body(w, **extra):
    return {"user_id": w["student"].pk, "case_study_id": w["case_study"].pk, "attempts": 1, "reason": "Outage", **extra}


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/console/attempts/grant", lambda w: _grant_body(w, zz_unknown=1)),
        ("/v1/console/attempts/revoke", lambda w: _grant_body(w, zz_unknown=1)),
        ("/v1/console/attempts/grant/bulk", lambda w: {"user_ids": [w["student"].pk], "case_study_id": w["case_study"].pk, "reason": "x", "zz_unknown": 1}),
        ("/v1/student-clusters", lambda w: {"name": "C", "zz_unknown": 1}),
        ("/v1/student-groups", lambda w: {"name": "G", "student_cluster_id": w["cluster"].pk, "zz_unknown": 1}),
        ("/v1/student-groups/{group}/members", lambda w: {"user_ids": [w["student"].pk], "zz_unknown": 1}),
    ],
)
def test_unknown_fields_are_refused_by_every_write(admin_client, world, path, body):
    response = admin_client.post(path.format(group=world["group"].pk), body(world), format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["zz_unknown"] == [MSG_NOT_WRITABLE]
    assert not AttemptGrant.objects.exists() and StudentGroup.objects.count() == 1
    assert StudentCluster.objects.count() == 1 and not world["group"].memberships.exists()


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/v1/console/attempts/grant", lambda w: _grant_body(w, reason=0), "reason"),
        ("/v1/console/attempts/grant", lambda w: _grant_body(w, reason=True), "reason"),
        ("/v1/console/attempts/grant/bulk", lambda w: {"user_ids": [12], "case_study_id": w["case_study"].pk, "reason": "x"}, "user_ids"),
        ("/v1/student-clusters", lambda w: {"name": 7}, "name"),
        ("/v1/student-groups", lambda w: {"name": ["G"], "student_cluster_id": w["cluster"].pk}, "name"),
        ("/v1/students", lambda w: {"first_name": 1, "last_name": "B", "email": "a@uni.example", "programme_codes": ["MBA"]}, "first_name"),
    ],
)
def test_numbers_and_lists_where_text_is_expected_are_refused(admin_client, world, path, body, field):
    response = admin_client.post(path, body(world), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not AttemptGrant.objects.exists() and Student.objects.count() == 1 and StudentCluster.objects.count() == 1


@pytest.mark.parametrize(
    "path, field",
    [
        ("/v1/console/students?limit=１０", "limit"),
        ("/v1/console/students?start_date=１２３４-01-01", "start_date"),
        ("/v1/students?per_page=５", "per_page"),
        ("/v1/case-studies/{case_study}/users?offset=٣", "offset"),
        ("/v1/students?modified_since=２０２６-01-01", "modified_since"),
    ],
)
def test_digits_are_ascii_only(admin_client, world, path, field):
    response = admin_client.get(path.format(case_study=world["case_study"].pk))
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_grant_with_full_width_attempts_is_refused(admin_client, world):
    response = admin_client.post("/v1/console/attempts/grant", _grant_body(world, attempts="２"), format="json")
    assert response.status_code == 400 and response.json()["errors"] == {"attempts": [MSG_ASCII_DIGITS]}


def test_names_sent_decomposed_are_stored_composed_and_found_by_a_typed_search(admin_client, world):
    decomposed = "Zoe\u0308"
    response = admin_client.post(
        "/v1/students",
        {"first_name": decomposed, "last_name": "Bronte\u0308", "email": "zoe@uni.example", "programme_codes": ["MBA"]},
        format="json",
    )
    assert response.status_code == 201
    student = Student.objects.get(email="zoe@uni.example")
    assert student.first_name == "Zoë" and student.full_name == "Zoë Brontë"
    found = admin_client.get("/v1/console/students", {"search": "Zoë"}).json()["data"]
    assert [row["user_id"] for row in found] == [student.pk]
    # And a decomposed search finds the composed name.
    found = admin_client.get("/v1/console/students", {"search": decomposed}).json()["data"]
    assert [row["user_id"] for row in found] == [student.pk]


def test_case_study_writes_refuse_an_empty_programme_list(admin_client, world):
    response = admin_client.post("/v1/case-studies", {"title": "T", "programme_codes": []}, format="json")
    assert response.status_code == 400 and "programme_codes" in response.json()["errors"]
    assert CaseStudy.objects.count() == 1


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/v1/console/attempts/grant", lambda w: _grant_body(w, attempts="2"), "attempts"),
        ("/v1/case-studies", lambda w: {"title": "T", "programme_codes": ["MBA"], "max_attempts": "3"}, "max_attempts"),
        ("/v1/students", lambda w: {"first_name": "A", "last_name": "B", "email": "a@uni.example", "programme_codes": [],
                                    "advisor_id": "7"}, "advisor_id"),
    ],
)
def test_a_number_in_a_json_body_is_a_json_number_never_a_string(admin_client, world, path, body, field):
    response = admin_client.post(path, body(world), format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == [field]
    assert not AttemptGrant.objects.exists() and Student.objects.count() == 1 and CaseStudy.objects.count() == 1


@pytest.mark.parametrize(
    "path, field",
    [
        ("/v1/console/students?end_date=9999-12-31T23:59:59-14:00", "end_date"),
        ("/v1/console/students?start_date=0001-01-01", "start_date"),
        ("/v1/console/students/export?start_date=1899-12-31T23:59:59Z", "start_date"),
        ("/v1/students?modified_since=2101-01-01", "modified_since"),
        ("/v1/students?deleted_since=0001-01-01T00:00:00%2B05:00", "deleted_since"),
        ("/v1/audit-events?since=1899-12-31T12:00:00Z", "since"),
    ],
)
def test_dates_outside_the_stated_years_are_400_naming_the_parameter(admin_client, world, path, field):
    response = admin_client.get(path)
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [MSG_DATE_OUT_OF_RANGE]}


@pytest.mark.parametrize(
    "query",
    [{"start_date": "1900-01-01T00:00:00+14:00", "end_date": "2100-12-31T23:59:59-14:00"},
     {"start_date": "1900-01-01", "end_date": "2100-12-31"}],
)
def test_the_range_s_ends_are_read_as_written_before_the_offset(admin_client, world, query):
    assert admin_client.get("/v1/console/students", query).status_code == 200


def test_a_date_in_a_body_outside_the_stated_years_is_400_naming_it(admin_client, world):
    path = f"/v1/students/{world['student'].pk}/archive"
    response = admin_client.put(path, {"withdrawn_on": "0099-01-05"}, format="json")
    assert response.status_code == 400 and response.json()["errors"] == {"withdrawn_on": [MSG_DATE_OUT_OF_RANGE]}
    assert admin_client.put(path, {"withdrawn_on": "2100-12-31"}, format="json").status_code == 200


def test_a_query_string_over_the_limit_is_a_400_naming_query(admin_client, world):
    at_limit = "search=" + "a" * (MAX_QUERY_STRING_BYTES - len("search="))
    assert admin_client.get(f"/v1/console/students?{at_limit}").json()["errors"] == {"search": ANY_MESSAGES}
    response = admin_client.get(f"/v1/console/students?{at_limit}b")
    assert response.status_code == 400
    assert response.json() == {
        "success": False, "data": None, "message": MSG_VALIDATION, "code": "VALIDATION_ERROR",
        "errors": {"query": [MSG_QUERY_TOO_LONG]},
    }
    # Counted as sent: an encoded character is three bytes.
    assert admin_client.get("/v1/students?q=" + "%C3%A9" * (MAX_QUERY_STRING_BYTES // 6)).status_code == 400


def test_a_query_string_over_the_limit_is_a_400_page_on_the_console(host, admin_user, world):
    page = TenantAPIClient(host)
    page.force_login(admin_user)
    response = page.get("/students/?search=" + "a" * MAX_QUERY_STRING_BYTES)
    assert response.status_code == 400 and MSG_QUERY_TOO_LONG.encode() in response.content
