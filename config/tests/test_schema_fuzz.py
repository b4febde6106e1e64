"""The OpenAPI schema tells the truth: schemathesis generates requests from it (valid and
invalid), sends them in-process to the WSGI app on a tenant with data, with the admin's and
the ingest client's tokens, often naming that data's real records, and every check it has
must hold: no 5xx, every status, header and body the schema documents, valid requests
accepted (but for the rules listed below, which no schema can state) and invalid ones refused."""
import datetime as dt
import random
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from accounts.audit import serializers as audit_serializers
from accounts.events.models import Event
from accounts.events.services import event_record
from accounts.identity import services as identity
from accounts.scim import services as scim
from accounts.tests.test_identity_providers import make_certificate
from attempts.grants import services as grants
from attempts.ingestion import serializers as ingestion_serializers
from attempts.ingestion import services as ingestion
from catalogue.programmes import selectors as programmes
from config.ids import OPAQUE_ID, OPAQUE_ID_RE
from config.openapi import (
    FREE_TEXT_NOT_BLANK_PATTERN,
    FREE_TEXT_PATTERN,
    MSG_EMPTY_IS_ABSENT,
    NOT_BLANK_PATTERN,
    TEXT_PATTERN,
)
from config.query import DATE_RANGE_PATTERN, MSG_QUERY_TOO_LONG
from config.serializers import MSG_NOT_BOOLEAN
from config.text import forbidden_character_message
from config.wsgi import application
from console.reports import selectors as reports
from console.webhooks import services as webhooks
from console.webhooks.models import WebhookDelivery
from students.groups import services as groups
from students.imports import parsing as imports
from students.listing import filters as listing
from students.records import services as records
from testing.clients import issue_token
from testing.factories import (
    AttemptGrantFactory,
    CaseStudyFactory,
    CohortFactory,
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

# Rules no schema can state, each a 400 by SPEC §6/§7; a schema-valid request refused for
# these, and only these, is not a schema mismatch:
RULES_THE_SCHEMA_CANNOT_STATE = [
    # Whether a record a body or filter names exists on this tenant ("unknown student or case
    # study → 400", SPEC §7; a path's record that does not exist is a documented 404 instead).
    grants.MSG_STUDENT_UNKNOWN,
    grants.MSG_CASE_STUDY_UNKNOWN,
    ingestion.MSG_UNKNOWN_STUDENT,
    ingestion.MSG_UNKNOWN_CASE_STUDY,
    records.MSG_UNKNOWN_COHORT,
    records.MSG_UNKNOWN_ADVISOR,
    groups.MSG_CLUSTER_NOT_FOUND,
    groups.MSG_UNKNOWN_STUDENTS,
    programmes.MSG_UNKNOWN_PROGRAMMES,
    reports.MSG_GRADEBOOK_UNKNOWN_CASE_STUDIES,
    f"{{ids}}: {records.REASON_UNKNOWN}",
    # The state such a record is in: archived, assigned the case study, holding extra attempts.
    grants.MSG_STUDENT_ARCHIVED,
    grants.MSG_NOT_ASSIGNED,
    identity.MSG_IDP_NOT_FOR_KIND.format(kind="{ids}", own="{ids}"),  # the kind of the provider a path names
    groups.MSG_ARCHIVED_STUDENTS,
    f"{{ids}}: {records.REASON_ALREADY_ARCHIVED}",
    f"{{ids}}: {records.REASON_NOT_ARCHIVED}",
    f"{{ids}}: {groups.REASON_ARCHIVED}",
    f"{{ids}}: {grants.REASON_STUDENT_ARCHIVED}",
    f"{{ids}}: {grants.REASON_NOT_ASSIGNED}",
    "{ids}: " + grants.REASON_TOO_FEW_EXTRA.replace("{extra}", "{ids}").replace("{requested}", "{ids}"),
    # Rules between two values: a date range's ends, a criterion's score and its maximum, a
    # session's times, the session id of a body and of its path.
    listing.MSG_DATE_RANGE,
    audit_serializers.MSG_SINCE_AFTER_UNTIL,
    webhooks.MSG_REPLAY_SINCE_AFTER_UNTIL,
    ingestion_serializers.MSG_CRITERION_ABOVE_MAX,
    ingestion.MSG_SESSION_ID_MISMATCH,
    ingestion_serializers.MSG_ENDED_BEFORE_STARTED,
    # The length of the whole query string as sent (every parameter, percent-encoded): the
    # schema bounds each parameter, the 400 response states the total.
    MSG_QUERY_TOO_LONG,
    # What an uploaded file holds: an image (its pixels), a CSV or XLSX file of students.
    records.MSG_AVATAR_NOT_IMAGE,
    records.MSG_AVATAR_TOO_MANY_PIXELS,
    identity.MSG_IDP_CERTIFICATE_INVALID,  # a provider's certificate (PEM)
    identity.MSG_IDP_CERTIFICATE_PRIVATE_KEY,
    *(
        message.format(names="{ids}", line="{ids}", number="{ids}", problem="{ids}")
        for name, message in vars(imports).items()
        if name.startswith("MSG_")
    ),
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
    """schemathesis' positive_data_acceptance, but for a 400 whose every error is a rule above."""
    if _only_rules_the_schema_cannot_state(response):
        return None
    return schemathesis.checks.positive_data_acceptance(ctx, response, case)


# Cases per operation (the fuzzing phase's; the examples and coverage phases add their own);
# about 70 operations, so over 7,000 requests per run.
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
    cohort = CohortFactory()
    students = [StudentFactory(programmes=[programme], cohort=cohort) for _ in range(3)]
    students.append(StudentFactory(programmes=[programme], archived=True, withdrawn_on=dt.date(2026, 1, 5)))
    session = SessionFactory(student=students[0], case_study=case_study, score=71, grading_status="complete")
    TranscriptMessageFactory(session=session, position=0)
    GradeReportFactory(session=session)
    for student in students:  # extra attempts to revoke
        AttemptGrantFactory(student=student, case_study=case_study, delta=10)
    cluster = StudentClusterFactory()
    group = StudentGroupFactory(cluster=cluster)
    group.members.add(students[1])
    empty_cohort, empty_cluster = CohortFactory(), StudentClusterFactory()  # ones that may be deleted
    admin = StaffUserFactory(roles=["admin"])
    ingest = StaffUserFactory(roles=["ingest"])
    hooks = [webhooks.endpoint_create(url=f"https://hooks.example.com/{n}") for n in range(2)]
    deliveries = [webhook_delivery(hooks[0], students[0])]
    scim_tokens = [scim.scim_token_create(description=f"IdP {n}")[0] for n in range(2)]
    providers = [
        identity.provider_create(kind="oidc", slug="entra", name="Entra ID", issuer="https://login.example.com/v2.0",
                                 client_id="console", client_secret="client-secret-for-the-fuzz"),
        identity.provider_create(kind="saml", slug="shibboleth", name="Shibboleth", idp_entity_id="https://idp.example.com",
                                 idp_sso_url="https://idp.example.com/sso", idp_certificate=make_certificate()),
    ]
    known = {
        "student": [s.pk for s in students],
        "case_study": [case_study.pk],
        "programme": [programme.code],
        "cohort": [cohort.pk, empty_cohort.pk],
        "cluster": [cluster.pk, empty_cluster.pk],
        "group": [group.pk],
        "session": [session.pk],
        "staff": [admin.pk],
        "webhook": [hook.pk for hook in hooks],
        "delivery": [d.pk for d in deliveries],
        "scim_token": [token.pk for token in scim_tokens],
        "provider": [p.pk for p in providers],
    }
    return {"admin": issue_token(admin), "ingest": issue_token(ingest), "records": known}


def webhook_delivery(endpoint, student):
    """A delivery of a real (committed, as far as this transaction sees) event, so it can be replayed."""
    event_record(type="student.updated", subject_type="student", subject_id=student.pk, student_id=student.pk,
                 data={"first_name": ["Ada", "Adaeze"]})
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS event_position IMMEDIATE")
        cursor.execute("SET CONSTRAINTS event_position DEFERRED")
    event = Event.objects.order_by("-position").first()
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event_id=event.pk, event_type=event.type, event_position=event.position,
        outcome="delivered", status_code=204, latency_ms=3,
    )


# Where a request names a record, by location and name: which kind of record. A generated id
# almost never names one, so without these every operation on a record would stop at its 404
# and every body naming one at its 400; the fuzz puts a real one in instead, often.
RECORD_NAMES = {
    "path": {
        "user_id": "student", "case_study_id": "case_study", "code": "programme", "cohort_id": "cohort",
        "cluster_id": "cluster", "group_id": "group", "session_id": "session", "webhook_id": "webhook",
        "delivery_id": "delivery", "provider_id": "provider", "scim_token_id": "scim_token",
    },
    "query": {
        "user_id": "student", "case_study_id": "case_study", "case_study": "case_study", "programme": "programme",
        "cohort": "cohort", "group": "group", "student_cluster_id": "cluster", "advisor": "staff",
    },
    "body": {
        "user_id": "student", "user_ids": "student", "case_study_id": "case_study", "programme_codes": "programme",
        "cohort_id": "cohort", "student_cluster_id": "cluster", "advisor_id": "staff", "session_id": "session",
    },
}


def _real_record(chance, kind, value, known):
    """`value`, or (often) a real record's key of the same kind and type in its place."""
    if isinstance(value, list):
        return [_real_record(chance, kind, item, known) for item in value]
    if isinstance(value, bool) or chance.random() < 0.5:
        return value
    real = chance.choice(known[kind])
    if isinstance(value, int):
        return real if isinstance(real, int) else value
    if isinstance(value, str) and OPAQUE_ID_RE.match(value):
        return str(real)
    return value


def _generated_valid(case, location):
    """Whether the case's path, query or body was generated to meet the schema: only there is
    a value replaced by a real record's key, so a request stays as valid or invalid as it was."""
    component = case.meta.components.get(ParameterLocation(location)) if case.meta else None
    return component is not None and not component.mode.is_negative


def name_real_records(case, known):
    """Put real records' keys in `case` in place of generated ones, chosen by the case itself
    (the same case gets the same records, so a failing case replays)."""
    chance = random.Random(repr((case.operation.label, case.path_parameters, case.query, case.body)))
    for location, container in (("path", case.path_parameters), ("query", case.query), ("body", case.body)):
        if not isinstance(container, dict) or not _generated_valid(case, location):
            continue
        for name, kind in RECORD_NAMES[location].items():
            if name in container:
                container[name] = _real_record(chance, kind, container[name], known)


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
    name_real_records(case, tenant_with_data["records"])
    token = tenant_with_data["ingest" if case.path.startswith("/v1/sessions") else "admin"]
    tenant = connection.tenant
    try:
        # Every check schemathesis has, negative_data_rejection included; positive_data_acceptance
        # through schema_valid_requests_are_accepted.
        response = case.call_and_validate(
            headers={"Host": TEST_TENANT["domain"], "Authorization": f"Bearer {token}"},
            additional_checks=[schema_valid_requests_are_accepted],
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
        )
    finally:
        connection.set_tenant(tenant)
    CASES.append((case.operation.label, case.method.upper() == case.operation.method.upper() and response.status_code))


# Operations whose success needs what no generated request holds.
OUT_OF_REACH = {
    "POST /v1/auth/token/",  # a staff member's password
    "POST /v1/students/import/",  # a CSV or XLSX file of students
    "GET /v1/console/exports/{job_id}/",  # a background export of the staff member's own
    "GET /v1/console/exports/{job_id}/file/",
}


def test_the_run_sends_at_least_2000_cases_over_every_operation_and_reaches_records():
    if not CASES:
        pytest.skip("the fuzz test did not run in this session")
    assert len(CASES) >= 2000, len(CASES)
    operations = {operation.ok().label for operation in schema.get_all_operations()}
    assert {label for label, _ in CASES} == operations
    # The cases reach real records, not only their 404s and 400s: nearly every operation
    # succeeds at least once (sent with its own method).
    succeeded = {label for label, status in CASES if status and 200 <= status < 300}
    assert len(operations - succeeded - OUT_OF_REACH) <= 2, sorted(operations - succeeded - OUT_OF_REACH)


def test_both_data_checks_are_on():
    checks = schema.config.checks_config_for()
    assert checks.positive_data_acceptance.enabled and checks.negative_data_rejection.enabled


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


def _dates_in(schema, components, seen=()):
    """Every string schema with a date or date-time format inside `schema`, through its refs."""
    if isinstance(schema, list):
        for item in schema:
            yield from _dates_in(item, components, seen)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref", "").rsplit("/", 1)[-1]
    if ref:
        if ref not in seen:
            yield from _dates_in(components[ref], components, (*seen, ref))
        return
    if schema.get("format") in ("date", "date-time"):
        yield schema
    for value in schema.values():
        if isinstance(value, (dict, list)):
            yield from _dates_in(value, components, seen)


def test_every_date_a_request_carries_states_the_range_and_every_write_documents_409():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    components = spec["components"]["schemas"]
    dates = []
    for operations in spec["paths"].values():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                assert "409" in operation["responses"], operation["operationId"]
            dates.extend(_dates_in([p["schema"] for p in operation.get("parameters", [])], components))
            dates.extend(_dates_in(operation.get("requestBody", {}), components))
    assert len(dates) > 20 and all(date.get("pattern") == DATE_RANGE_PATTERN for date in dates)
