"""GET /v1/console/reports/gradebook: the gradebook matrix, held to the student detail."""
import csv
import datetime as dt
import io

import openpyxl
import pytest

from accounts.models import AuditEvent
from console.list_files import gradebook as gradebook_files
from console.list_files.downloads import MSG_EXPORT_LIMIT
from console.reports.selectors import MSG_GRADEBOOK_UNKNOWN_CASE_STUDIES, gradebook_case_studies, gradebook_rows
from students.listing.selectors import student_list_filterset
from testing.factories import (
    HOSTILE_NAME,
    AttemptGrantFactory,
    CaseStudyFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentFactory,
)
from testing.queries import API_REQUEST_QUERIES

URL = "/v1/console/reports/gradebook"
DETAIL_URL = "/v1/console/students/{}"
NOW = dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.timezone.utc)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attempt(student, case_study, *, days_ago, score=None, graded=True, transcript="available"):
    when = NOW - dt.timedelta(days=days_ago)
    return SessionFactory(
        student=student, case_study=case_study, started_at=when, score=score,
        grading_status="complete" if graded else "pending", transcript_status=transcript,
    )


@pytest.fixture
def book():
    """Two programmes, four case studies (one per grading method but `first`, an inactive one),
    students with graded, pending and technically failed attempts and grants."""
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    eco = ProgrammeFactory(code="ECO1000", name="Economics")
    highest = CaseStudyFactory(title="A: Market entry", programmes=[mba], grading_method="highest")
    latest = CaseStudyFactory(title="B: Pricing", programmes=[mba, eco], grading_method="latest", max_attempts=3)
    average = CaseStudyFactory(title="C: Supply chain", programmes=[eco], grading_method="average")
    CaseStudyFactory(title="D: Retired", programmes=[mba], is_active=False)
    chidinma = StudentFactory(first_name="Chidinma", last_name="Okafọr", email="chidinma@miva.university",
                              programmes=[mba, eco], student_number="SIS-001")
    zoe = StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@miva.university", programmes=[eco])
    hostile = StudentFactory(first_name=HOSTILE_NAME, last_name="Evil", email="evil@miva.university", programmes=[mba])
    _attempt(chidinma, highest, days_ago=9, score=70)
    _attempt(chidinma, highest, days_ago=8, score=85)
    _attempt(chidinma, highest, days_ago=7, score=85)
    _attempt(chidinma, highest, days_ago=6, transcript="failed", graded=False)
    _attempt(chidinma, latest, days_ago=5, score=90)
    _attempt(chidinma, latest, days_ago=4, score=60)
    _attempt(chidinma, latest, days_ago=3, graded=False)
    _attempt(zoe, average, days_ago=5, score=50)
    _attempt(zoe, average, days_ago=4, score=75)
    _attempt(zoe, highest, days_ago=2, score=40)  # not assigned to her programme, but attempted
    AttemptGrantFactory(student=chidinma, case_study=highest, delta=2)
    AttemptGrantFactory(student=chidinma, case_study=highest, delta=-1)
    AttemptGrantFactory(student=zoe, case_study=average, delta=-3)  # never below 0
    return {"cases": [highest, latest, average], "students": [chidinma, zoe, hostile], "mba": mba}


def _body(response):
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content)


def _csv(response):
    raw = _body(response)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _number(text):
    return None if text == "" else float(text)


def _final_from_detail(card, method):
    used = [a["score"] for a in card["attempts"] if a["used_for_final_score"]]
    return sum(used) / len(used) if used else None


def test_matrix_values_equal_the_student_detail_for_every_student_and_case_study(operator_client, book):
    rows = _csv(operator_client.get(URL, {"sort_by": "name", "sort_order": "asc"}))
    header, body = rows[0], rows[1:]
    cases = book["cases"]
    assert header[:5] == list(gradebook_files.IDENTITY_COLUMNS)
    assert header[5:9] == ["A: Market entry: Attempts Used", "A: Market entry: Attempts Allowed",
                           "A: Market entry: Best Score", "A: Market entry: Final Score (highest)"]
    assert len(header) == 5 + 4 * len(cases)  # the inactive case study is left out by default
    assert len(body) == 3
    for line in body:
        email = line[1]
        student = next(s for s in book["students"] if s.email == email)
        detail = operator_client.get(DETAIL_URL.format(student.user_id)).json()["data"]
        assert line[0] in (detail["student_name"], "'" + detail["student_name"])
        assert line[2] == detail["student_number"]
        cards = {c["case_study_id"]: c for c in detail["case_study_details"]}
        for index, case in enumerate(cases):
            used, allowed, best, final = line[5 + 4 * index: 9 + 4 * index]
            card = cards.get(case.pk)
            if card is None:
                assigned = set(student.programmes.values_list("pk", flat=True)) & set(case.programmes.values_list("pk", flat=True))
                if not assigned:
                    assert (used, allowed, best, final) == ("", "", "", "")
                    continue
                assert (int(used), _number(best), _number(final)) == (0, None, None)
                continue
            assert int(used) == card["attempts_used"]
            assert int(allowed) == card["attempts_allowed"]
            assert _number(best) == card["best_score"]
            assert _number(final) == _final_from_detail(card, case.grading_method)


def test_matrix_holds_the_spec_rules(operator_client, book):
    rows = {line[1]: line for line in _csv(operator_client.get(URL))[1:]}
    chidinma, zoe = rows["chidinma@miva.university"], rows["zoe@miva.university"]
    # A: highest; three consuming attempts (the failed transcript costs nothing), 2 + 1 extra allowed.
    assert chidinma[5:9] == ["3", "3", "85", "85"]
    # B: latest graded attempt (60), best 90; 3 allowed.
    assert chidinma[9:13] == ["3", "3", "90", "60"]
    # C: not attempted but assigned.
    assert chidinma[13:17] == ["0", "2", "", ""]
    # Zoë: C averaged (62.5), extra never below 0; A attempted though not assigned; B assigned.
    assert zoe[13:17] == ["2", "2", "75", "62.5"]
    assert zoe[5:9] == ["1", "2", "40", "40"]
    assert zoe[9:13] == ["0", "3", "", ""]
    assert chidinma[2] == "SIS-001" and zoe[2] == book["students"][1].user_id


def test_case_study_parameter_chooses_columns_and_programme_filters_rows(operator_client, book):
    latest = book["cases"][1]
    rows = _csv(operator_client.get(URL + f"?case_study={latest.pk}&programme=MBA1234"))
    assert rows[0][5:] == ["B: Pricing: Attempts Used", "B: Pricing: Attempts Allowed", "B: Pricing: Best Score",
                           "B: Pricing: Final Score (latest)"]
    assert sorted(line[1] for line in rows[1:]) == ["chidinma@miva.university", "evil@miva.university"]
    # By programme alone: the programme's active case studies.
    header = _csv(operator_client.get(URL, {"programme": "ECO1000"}))[0]
    assert [h for h in header if h.endswith("Attempts Used")] == ["B: Pricing: Attempts Used",
                                                                   "C: Supply chain: Attempts Used"]


def test_hostile_cells_are_neutralised(operator_client, book):
    rows = _csv(operator_client.get(URL))
    names = [line[0] for line in rows[1:]]
    assert "'" + HOSTILE_NAME + " Evil" in names


def test_xlsx_has_frozen_header_numbers_and_dates(operator_client, book):
    response = operator_client.get(URL, {"format": "xlsx", "sort_by": "name", "sort_order": "asc"})
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"].startswith('attachment; filename="gradebook_test_')
    sheet = openpyxl.load_workbook(io.BytesIO(_body(response))).active
    assert sheet.freeze_panes == "B2"
    rows = list(sheet.iter_rows(values_only=True))
    chidinma = next(r for r in rows if r[1] == "chidinma@miva.university")
    assert isinstance(chidinma[4], dt.datetime)
    assert chidinma[5:9] == (3, 3, 85, 85)
    hostile = next(r for r in rows if r[1] == "evil@miva.university")
    assert hostile[0].startswith("'=")


def test_xlsx_one_sheet_per_programme(operator_client, book):
    response = operator_client.get(URL, {"format": "xlsx", "sheet_per_programme": "true"})
    workbook = openpyxl.load_workbook(io.BytesIO(_body(response)))
    assert sorted(workbook.sheetnames) == ["ECO1000 Economics", "MBA1234 Masters in Business Adm"]
    eco = [r[1] for r in workbook["ECO1000 Economics"].iter_rows(min_row=2, values_only=True)]
    assert sorted(eco) == ["chidinma@miva.university", "zoe@miva.university"]
    assert workbook["ECO1000 Economics"].freeze_panes == "B2"


def test_over_the_cap_is_400_pointing_to_the_background_export(operator_client, book, settings):
    settings.EXPORT_MAX_ROWS = 2
    response = operator_client.get(URL)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "EXPORT_LIMIT_EXCEEDED"
    assert body["message"] == MSG_EXPORT_LIMIT.format(limit=2)
    assert "/v1/console/exports" in body["message"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"format": "pdf"}, "format"),
        ({"case_study": "not an id!"}, "case_study"),
        ({"case_study": "aaaaaaaaaaaaaaaaaaaaaaaa"}, "case_study"),
        ({"sort_by": "grade"}, "sort_by"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"sheet_per_programme": "maybe"}, "sheet_per_programme"),
    ],
)
def test_bad_input_is_400_naming_the_field(operator_client, book, params, field):
    response = operator_client.get(URL, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert any(name.split(".")[0] == field for name in body["errors"]), body["errors"]
    if params.get("case_study") == "aaaaaaaaaaaaaaaaaaaaaaaa":
        assert body["errors"]["case_study"] == [MSG_GRADEBOOK_UNKNOWN_CASE_STUDIES.format(ids="aaaaaaaaaaaaaaaaaaaaaaaa")]


def test_viewer_is_refused_and_anonymous_is_401(viewer_client, anon_client, book):
    assert viewer_client.get(URL).json()["code"] == "PERMISSION_DENIED"
    assert viewer_client.get(URL).status_code == 403
    assert anon_client.get(URL).status_code == 401


def test_another_tenants_gradebook_holds_only_its_own_students(other_tenant_client, other_tenant, book):
    from django_tenants.utils import schema_context

    with schema_context(other_tenant.schema_name):
        StudentFactory(first_name="Aïcha", last_name="Diallo")
    rows = _csv(other_tenant_client.get(URL))
    assert [row[0] for row in rows[1:]] == ["Aïcha Diallo"]
    assert len(rows[0]) == 5  # none of this tenant's case studies


def test_a_token_of_another_tenant_is_rejected(host, other_tenant_user, other_tenant, book):
    from django_tenants.utils import schema_context

    from testing.clients import bearer_client

    with schema_context(other_tenant.schema_name):
        client = bearer_client(host, other_tenant_user)
    assert client.get(URL).status_code == 401


def test_each_gradebook_is_audited(operator_client, operator_user, book):
    _body(operator_client.get(URL, {"programme": "MBA1234"}))
    event = AuditEvent.objects.filter(action="reports.gradebook").latest("pk")
    assert event.actor_id == str(operator_user.pk) or event.actor_email == operator_user.email
    assert event.detail["format"] == "csv" and event.detail["filters"]["programme"] == ["MBA1234"]


def test_students_and_their_values_are_one_statement_whatever_the_chunk(book, django_assert_num_queries):
    case_studies = gradebook_case_studies()
    from django.db import transaction

    for chunk_size in (1, 100):
        # Queries: the DECLARE of the one cursor (its fetches are not queries of their own),
        # whether the rows come one per fetch or all in one.
        with transaction.atomic(), django_assert_num_queries(1):
            rows = list(gradebook_rows(student_list_filterset({}), case_studies, chunk_size=chunk_size))
        assert len(rows) == 3


def test_console_offers_the_gradebook_from_the_students_list_and_case_study_pages(console_as, operator_user, viewer_user, book):
    case = book["cases"][0]
    operator, viewer = console_as(operator_user), console_as(viewer_user)
    page = operator.get("/students/?programme=MBA1234").content.decode()
    assert 'href="/v1/console/reports/gradebook?format=xlsx&amp;programme=MBA1234"' in page
    for path in (f"/case-studies/{case.pk}/", f"/case-studies/{case.pk}/participants/"):
        assert f"/v1/console/reports/gradebook?case_study={case.pk}&amp;format=csv" in operator.get(path).content.decode()
    assert "reports/gradebook" not in viewer.get("/students/").content.decode()
    assert "reports/gradebook" not in viewer.get(f"/case-studies/{case.pk}/").content.decode()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_gradebook_query_count_grows_with_chunks_not_students(operator_client, book, file_format):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as queries:
            _body(operator_client.get(URL, {"format": file_format}))
        return len(queries.captured_queries)

    few = count()
    for _ in range(40):
        StudentFactory(programmes=[book["mba"]])
    # authentication; the case studies; the bounded count; the audit event; then as the body
    # streams (on the same search_path): a savepoint, the DECLARE of the one cursor over the
    # students and their values; the release.
    assert few == API_REQUEST_QUERIES + 3 + 3, few
    assert count() == few


@pytest.mark.parametrize("sort", [{"sort_by": "name", "sort_order": "desc"}, {"sort_by": "last_seen", "sort_order": "asc"},
                                  {"sort_by": "programme", "sort_order": "asc"}])
def test_rows_come_in_the_lists_order(operator_client, book, sort):
    for n in range(5):
        _attempt(StudentFactory(first_name=f"Ada{n}", programmes=[book["mba"]]), book["cases"][0], days_ago=n, score=50)
    gradebook = [line[1] for line in _csv(operator_client.get(URL, sort))[1:]]
    listed = [line[1] for line in _csv(operator_client.get("/v1/console/students/export", {"format": "csv", **sort}))[1:]]
    assert gradebook == listed and len(listed) == 8
