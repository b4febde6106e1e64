"""The OpenAPI schema tells the truth: schemathesis generates requests from it (valid and
invalid), sends them in-process to the WSGI app on a tenant with data, with the admin's and
the ingest client's tokens, and every check it has must hold: no 5xx, and every status,
header and body the schema documents."""
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from accounts.audit import serializers as audit_serializers
from attempts.grants import services as grants
from attempts.ingestion import serializers as ingestion_serializers
from attempts.ingestion import services as ingestion
from catalogue.programmes import selectors as programmes
from config.ids import OPAQUE_ID
from config.openapi import (
    FREE_TEXT_NOT_BLANK_PATTERN,
    FREE_TEXT_PATTERN,
    MSG_EMPTY_IS_ABSENT,
    NOT_BLANK_PATTERN,
    TEXT_PATTERN,
)
from config.serializers import MSG_NOT_BOOLEAN
from config.text import forbidden_character_message
from config.wsgi import application
from console.reports import selectors as reports
from students.groups import services as groups
from students.imports import parsing as imports
from students.listing import filters as listing
from students.records import services as records
from testing.clients import issue_token
from testing.factories import (
    AttemptGrantFactory,
    CaseStudyFactory,
    GradeReportFactory,
    ProgrammeFactory,
    SessionFactory,
    StaffUserFactory,
    StudentClusterFactory,
    StudentFactory,
    StudentGroupFactory,
    TranscriptMessageFactory,
)
from testing.tenancy import TEST_TENANT

# Rules a schema cannot state: whether a referenced record exists on this tenant (SPEC §7:
# "unknown student or case study → 400"), whether an upload really is an image, and whether
# it is a CSV or XLSX file of students (students.imports.parsing). A
# schema-valid request refused for one of these, and only these, is not a schema mismatch.
RULES_THE_SCHEMA_CANNOT_STATE = [
    grants.MSG_STUDENT_UNKNOWN,
    grants.MSG_CASE_STUDY_UNKNOWN,
    ingestion.MSG_UNKNOWN_STUDENT,
    ingestion.MSG_UNKNOWN_CASE_STUDY,
    records.MSG_UNKNOWN_COHORT,
    records.MSG_UNKNOWN_ADVISOR,
    records.MSG_AVATAR_NOT_IMAGE,
    records.MSG_AVATAR_TOO_MANY_PIXELS,
    *(
        message.format(names="{ids}", line="{ids}", number="{ids}", problem="{ids}")
        for name, message in vars(imports).items()
        if name.startswith("MSG_")
    ),
    groups.MSG_CLUSTER_NOT_FOUND,
    groups.MSG_UNKNOWN_STUDENTS,
    programmes.MSG_UNKNOWN_PROGRAMMES,
    reports.MSG_UNKNOWN_CASE_STUDY,
    # A bulk action's refusal names each student: one unknown here, or in the wrong state.
    f"{{ids}}: {records.REASON_UNKNOWN}",
    f"{{ids}}: {records.REASON_ALREADY_ARCHIVED}",
    f"{{ids}}: {records.REASON_NOT_ARCHIVED}",
    f"{{ids}}: {groups.REASON_ARCHIVED}",
    f"{{ids}}: {grants.REASON_STUDENT_ARCHIVED}",
    f"{{ids}}: {grants.REASON_NOT_ASSIGNED}",
    "{ids}: " + grants.REASON_TOO_FEW_EXTRA.replace("{extra}", "{ids}").replace("{requested}", "{ids}"),
    # Rules between two fields: a date range's ends, a criterion's score and its maximum.
    listing.MSG_DATE_RANGE,
    audit_serializers.MSG_SINCE_AFTER_UNTIL,
    ingestion_serializers.MSG_CRITERION_ABOVE_MAX,
    ingestion.MSG_SESSION_ID_MISMATCH,
    ingestion_serializers.MSG_ENDED_BEFORE_STARTED,
]
_RULES = [re.compile(re.escape(message).replace(r"\{", "{").replace(r"\}", "}").replace("{ids}", ".+").replace("{codes}", ".+") + r"\Z", re.DOTALL) for message in RULES_THE_SCHEMA_CANNOT_STATE]


def _only_rules_the_schema_cannot_state(response):
    if response.status_code != 400:
        return False
    errors = (response.json() or {}).get("errors") or {}
    messages = [m for field in errors.values() for m in (field if isinstance(field, list) else [field])]
    return bool(messages) and all(isinstance(m, str) and any(rule.match(m) for rule in _RULES) for m in messages)


@schemathesis.check
def schema_valid_requests_are_accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance, except a 400 whose every error is a rule above."""
    if _only_rules_the_schema_cannot_state(response):
        return None
    return schemathesis.checks.positive_data_acceptance(ctx, response, case)


# Cases per operation; about 40 operations, so well over 2,000 cases per run.
EXAMPLES_PER_OPERATION = 60


def _schema():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(spec)
    loaded.app = application
    return loaded


schema = _schema()
CASES = []  # one entry per generated request, counted by the last test of this module


@pytest.fixture
def in_test_transaction():
    """As Django's test client does: the app must not close the test's connection (and with
    it the transaction holding the test's data) between requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tenant_with_data(tenant, in_test_transaction):
    programme = ProgrammeFactory(code="MBA")
    case_study = CaseStudyFactory(programmes=[programme])
    students = [StudentFactory(programmes=[programme]) for _ in range(3)]
    session = SessionFactory(student=students[0], case_study=case_study, score=71, grading_status="complete")
    TranscriptMessageFactory(session=session, position=0)
    GradeReportFactory(session=session)
    AttemptGrantFactory(student=students[0], case_study=case_study)
    group = StudentGroupFactory(cluster=StudentClusterFactory())
    group.members.add(students[1])
    admin = StaffUserFactory(roles=["admin"])
    ingest = StaffUserFactory(roles=["ingest"])
    return {"admin": issue_token(admin), "ingest": issue_token(ingest)}


@pytest.mark.schema_fuzz
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # a fixed seed: the same cases every run
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, tenant_with_data):
    CASES.append(case.operation.label)
    token = tenant_with_data["ingest" if case.path.startswith("/v1/sessions") else "admin"]
    tenant = connection.tenant
    try:
        case.call_and_validate(
            headers={"Host": TEST_TENANT["domain"], "Authorization": f"Bearer {token}"},
            additional_checks=[schema_valid_requests_are_accepted],
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
        )
    finally:
        connection.set_tenant(tenant)


def test_the_run_sends_at_least_2000_cases_over_every_operation():
    if not CASES:
        pytest.skip("the fuzz test did not run in this session")
    assert len(CASES) >= 2000, len(CASES)
    assert len(set(CASES)) == len(list(schema.get_all_operations()))


def test_the_schema_marks_case_study_details_optional_as_the_detail_endpoint_omits_it(viewer_client, tenant_with_data):
    spec = SchemaGenerator().get_schema(request=None, public=True)
    detail = spec["components"]["schemas"]["ConsoleStudentDetail"]
    assert "case_study_details" in detail["properties"]
    assert "case_study_details" not in detail.get("required", [])
    student = StudentFactory()
    body = viewer_client.get(f"/v1/console/students/{student.pk}", {"include_case_studies": "false"}).json()["data"]
    assert "case_study_details" not in body


def _call(operation_id, token, **kwargs):
    case = schema.find_operation_by_id(operation_id).Case(**kwargs)
    tenant = connection.tenant
    try:
        response = case.call(headers={"Host": TEST_TENANT["domain"], "Authorization": f"Bearer {token}"})
    finally:
        connection.set_tenant(tenant)
    return case, response


def test_deleted_since_answers_tombstones_as_the_schema_documents(tenant_with_data):
    student = StudentFactory()
    records.student_delete(user_id=student.pk)
    case, response = _call("students_list", tenant_with_data["admin"], query={"deleted_since": "2000-01-01"})
    assert response.status_code == 200
    assert [row["user_id"] for row in response.json()["data"]] == [student.pk]
    assert set(response.json()["data"][0]) == {"user_id", "deleted_at"}
    case.validate_response(response, checks=[schemathesis.checks.response_schema_conformance])  # raises on a mismatch


def test_path_ids_show_their_pattern_and_a_malformed_one_is_a_400_naming_it(tenant_with_data):
    spec = SchemaGenerator().get_schema(request=None, public=True)
    user_id = next(p for p in spec["paths"]["/v1/students/{user_id}/"]["get"]["parameters"] if p["name"] == "user_id")
    assert user_id["schema"]["pattern"] == f"^{OPAQUE_ID}$"
    case, response = _call("students_retrieve", tenant_with_data["admin"], path_parameters={"user_id": "-bad id"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["user_id"]


def test_write_bodies_are_json_only_closed_to_unknown_keys_and_nul_free():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    grant = spec["paths"]["/v1/console/attempts/grant/"]["post"]
    assert list(grant["requestBody"]["content"]) == ["application/json"]
    assert "415" in grant["responses"]
    component = spec["components"]["schemas"]["AttemptChangeRequestRequest"]
    assert component["additionalProperties"] is False
    assert component["properties"]["reason"]["pattern"] == FREE_TEXT_NOT_BLANK_PATTERN
    avatar = spec["paths"]["/v1/students/{user_id}/avatar/"]["put"]["requestBody"]["content"]
    assert list(avatar) == ["multipart/form-data"]


@pytest.mark.parametrize(
    "free_text, text_pattern, not_blank_pattern",
    [(False, TEXT_PATTERN, NOT_BLANK_PATTERN), (True, FREE_TEXT_PATTERN, FREE_TEXT_NOT_BLANK_PATTERN)],
)
def test_the_text_patterns_agree_with_how_text_is_checked_and_trimmed(free_text, text_pattern, not_blank_pattern):
    # fullmatch: a schema's $ is the end of the text, never before a last line break.
    text, not_blank = re.compile(text_pattern), re.compile(not_blank_pattern)
    for codepoint in [*range(0x3001), 0xFFFD, 0xFFFE, 0xFFFF, 0x1F600]:
        char = chr(codepoint)
        allowed = forbidden_character_message(char, free_text=free_text) is None
        assert bool(text.fullmatch(char)) == allowed, hex(codepoint)
        assert bool(not_blank.fullmatch(char)) == (allowed and char.strip() != ""), hex(codepoint)


def test_empty_query_values_are_documented_as_absent(viewer_client, tenant_with_data):
    spec = SchemaGenerator().get_schema(request=None, public=True)
    status = next(p for p in spec["paths"]["/v1/console/students/"]["get"]["parameters"] if p["name"] == "status")
    assert "" in status["schema"]["enum"] and MSG_EMPTY_IS_ABSENT in status["description"]
    assert viewer_client.get("/v1/console/students", {"status": "", "programme": "", "start_date": ""}).status_code == 200


def test_a_json_boolean_is_true_or_false_never_a_number(admin_client, tenant_with_data):
    response = admin_client.post("/v1/programmes", {"code": "X1", "name": "X", "is_active": 0}, format="json")
    assert response.status_code == 400 and response.json()["errors"] == {"is_active": [MSG_NOT_BOOLEAN]}


def test_every_documented_empty_query_value_is_read_as_absent(tenant_with_data):
    spec = SchemaGenerator().get_schema(request=None, public=True)
    checked = 0
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        for parameter in (get or {}).get("parameters", []):
            if "{" in path or parameter["in"] != "query" or MSG_EMPTY_IS_ABSENT not in parameter.get("description", ""):
                continue
            _, response = _call(get["operationId"], tenant_with_data["admin"], query={parameter["name"]: ""})
            assert response.status_code == 200, (path, parameter["name"], response.status_code)
            checked += 1
    assert checked > 30, checked
