"""GET /v1/console/students/export — the seed's Export Students, sentence by sentence."""
import csv
import datetime as dt
import html
import io
import re

import openpyxl
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from openpyxl.utils.datetime import from_excel, to_excel

from console.list_files import student_list
from console.list_files.downloads import MSG_EXPORT_LIMIT, list_file_response
from console.list_files.kinds import FILE_KINDS, FileRequest
from testing.clients import bearer_client
from testing.factories import HOSTILE_NAME, CaseStudyFactory, ProgrammeFactory, SessionFactory, StudentFactory
from testing.queries import API_REQUEST_QUERIES

URL = "/v1/console/students/export"
LIST_URL = "/v1/console/students"
COLUMNS = ["Student Name", "Email", "Programme", "Status", "Overall Case Studies", "Last Seen"]
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOW = dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.timezone.utc)


def _seen(student, when):
    SessionFactory(student=student, started_at=when, ended_at=None, status="in_progress", last_activity_at=when)


def _body(response):
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content)


def _csv(response):
    raw = _body(response)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _xlsx(response):
    workbook = openpyxl.load_workbook(io.BytesIO(_body(response)))
    return workbook.active


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")


@pytest.fixture
def people(mba):
    """Four listed students (one never seen) and one archived, one deleted."""
    econ = ProgrammeFactory(code="ECO1000", name="Economics")
    for _ in range(3):
        CaseStudyFactory(programmes=[mba])
    CaseStudyFactory(programmes=[econ])
    chidinma = StudentFactory(first_name="Chidinma", last_name="Okafọr", email="chidinma@miva.university",
                              programmes=[mba, econ])
    zoe = StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@miva.university", programmes=[econ],
                         status="inactive")
    soren = StudentFactory(first_name="Søren", last_name="Kierkegård", email="soren@miva.university",
                           programmes=[mba])
    never = StudentFactory(first_name="Łukasz", last_name="Wałęsa", email="lukasz@miva.university")
    _seen(chidinma, NOW)
    _seen(zoe, NOW - dt.timedelta(days=1))
    _seen(soren, NOW - dt.timedelta(days=2))
    StudentFactory(first_name="Archie", last_name="Ved", archived=True)
    StudentFactory(first_name="Del", last_name="Eted", deleted_at=NOW)
    return {"chidinma": chidinma, "zoe": zoe, "soren": soren, "never": never}


# CSV ------------------------------------------------------------------------------------------


def test_csv_is_the_default_with_seed_media_type_and_file_name(operator_client, people, monkeypatch, tenant):
    # 23:30 UTC is already the next day in the tenant's time zone (Africa/Lagos, UTC+1).
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 6, 4, 23, 30, tzinfo=dt.timezone.utc))
    response = operator_client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == CSV_TYPE
    assert response["Content-Disposition"] == 'attachment; filename="students_test_2026-06-05.csv"'
    assert tenant.slug == "test" and tenant.time_zone == "Africa/Lagos"


def test_csv_columns_rows_and_values(operator_client, people):
    rows = _csv(operator_client.get(URL))
    assert rows == [
        COLUMNS,
        ["Chidinma Okafọr", "chidinma@miva.university", "Economics, Masters in Business Administration", "active",
         "4", "2026-06-04T09:00:00Z"],
        ["Zoë Brontë", "zoe@miva.university", "Economics", "inactive", "1", "2026-06-03T09:00:00Z"],
        ["Søren Kierkegård", "soren@miva.university", "Masters in Business Administration", "active", "3",
         "2026-06-02T09:00:00Z"],
        ["Łukasz Wałęsa", "lukasz@miva.university", "", "active", "0", ""],
    ]


def test_csv_is_utf8_with_a_bom_and_crlf_lines(operator_client, people):
    raw = _body(operator_client.get(URL))
    assert raw.startswith("\ufeffStudent Name,Email,".encode())
    assert "Zoë Brontë".encode("utf-8") in raw
    assert raw.count(b"\r\n") == 5


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_cells_that_would_run_as_formulas(operator_client, trigger):
    StudentFactory(first_name=f"{trigger}cmd|' /C calc'!A0", last_name="x", email=f"{trigger}x@miva.university")
    row = _csv(operator_client.get(URL))[1]
    assert row[0] == f"'{trigger}cmd|' /C calc'!A0 x"
    assert row[1] == f"'{trigger}x@miva.university"


def test_csv_neutralises_the_hostile_hyperlink_name(operator_client):
    StudentFactory(first_name=HOSTILE_NAME, last_name="Adébáyọ̀")
    assert _csv(operator_client.get(URL))[1][0] == "'" + HOSTILE_NAME + " Adébáyọ̀"


def test_an_empty_export_has_the_header_only(operator_client):
    assert _csv(operator_client.get(URL)) == [COLUMNS]


# XLSX -----------------------------------------------------------------------------------------


def test_xlsx_media_type_file_name_and_seed_example_request(operator_client, people, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 6, 4, 12, 0, tzinfo=dt.timezone.utc))
    response = operator_client.get(URL, {"format": "xlsx", "programme": "MBA1234"})
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"] == 'attachment; filename="students_test_2026-06-04.xlsx"'
    sheet = _xlsx(response)
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == COLUMNS
    assert [v[0] for v in values[1:]] == ["Chidinma Okafọr", "Søren Kierkegård"]


def test_xlsx_last_seen_is_a_real_date_time_cell_in_utc(operator_client, people):
    sheet = _xlsx(operator_client.get(URL, {"format": "xlsx"}))
    header = [c.value for c in sheet[1]]
    assert header == COLUMNS  # the title stays exactly "Last Seen"
    assert "UTC" in sheet["F1"].comment.text
    seen = sheet["F2"]
    assert seen.is_date and seen.value == dt.datetime(2026, 6, 4, 9, 0)
    assert seen.number_format.startswith("yyyy-mm-dd h")
    assert sheet["F5"].value is None  # never seen
    assert sheet["E2"].value == 4 and sheet["E2"].data_type == "n"


def test_xlsx_round_trips_non_ascii_text(operator_client, people):
    sheet = _xlsx(operator_client.get(URL, {"format": "xlsx"}))
    assert [sheet.cell(row=r, column=1).value for r in range(2, 6)] == [
        "Chidinma Okafọr", "Zoë Brontë", "Søren Kierkegård", "Łukasz Wałęsa"
    ]
    assert sheet["C2"].value == "Economics, Masters in Business Administration"


def test_xlsx_neutralises_the_hostile_hyperlink_name_as_a_text_cell(operator_client):
    StudentFactory(first_name=HOSTILE_NAME, last_name="Adébáyọ̀", email="-evil@miva.university")
    sheet = _xlsx(operator_client.get(URL, {"format": "xlsx"}))
    assert sheet["A2"].value == "'" + HOSTILE_NAME + " Adébáyọ̀" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == "'-evil@miva.university"


def test_xlsx_drops_control_characters_that_the_format_cannot_hold(operator_client):
    StudentFactory(first_name="Amara\x07", last_name="Nwosu\x1b")
    sheet = _xlsx(operator_client.get(URL, {"format": "xlsx"}))
    assert sheet["A2"].value == "Amara Nwosu"


@pytest.mark.parametrize("accept", [CSV_TYPE, XLSX_TYPE, "application/octet-stream"])
def test_an_accept_header_naming_a_file_type_is_fine_and_errors_stay_json(operator_client, people, accept):
    response = operator_client.get(URL, HTTP_ACCEPT=accept)
    assert response.status_code == 200 and response["Content-Type"].startswith(CSV_TYPE)
    error = operator_client.get(URL, {"format": "pdf"}, HTTP_ACCEPT=accept)
    assert error.status_code == 400 and error.json()["errors"] == {"format": ["Choose csv or xlsx."]}
    assert operator_client.get(URL, {"format": "xlsx"}, HTTP_ACCEPT=accept)["Content-Type"] == XLSX_TYPE


@pytest.mark.parametrize("value", ["XLSX", " xlsx "])
def test_format_is_read_case_insensitively(operator_client, value):
    assert operator_client.get(URL, {"format": value})["Content-Type"] == XLSX_TYPE


# Same filters, search and sort as the list -----------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"search": "ø"},
        {"programme": "MBA1234"},
        {"status": "inactive"},
        {"start_date": "2026-06-03"},
        {"end_date": "2026-06-03"},
        {"sort_by": "name", "sort_order": "asc"},
        {"sort_by": "programme"},
        {"sort_by": "status", "sort_order": "asc"},
        {"sort_by": "last_seen", "sort_order": "asc"},
    ],
)
def test_export_uses_the_same_filters_and_sort_as_the_list(operator_client, people, params):
    listed = [r["student_name"] for r in operator_client.get(LIST_URL, {**params, "limit": 100}).json()["data"]]
    for file_format in ("csv", "xlsx"):
        response = operator_client.get(URL, {**params, "format": file_format})
        if file_format == "csv":
            names = [row[0] for row in _csv(response)[1:]]
        else:
            names = [row[0].value for row in _xlsx(response).iter_rows(min_row=2)]
        assert names == listed


def test_archived_and_deleted_students_are_not_exported(operator_client, people):
    names = [row[0] for row in _csv(operator_client.get(URL))[1:]]
    assert "Archie Ved" not in names and "Del Eted" not in names and len(names) == 4


# Limits -----------------------------------------------------------------------------------------


def test_more_rows_than_the_cap_is_400_export_limit_exceeded_with_no_file(operator_client, people, settings):
    settings.EXPORT_MAX_ROWS = 3
    for file_format in ("csv", "xlsx"):
        response = operator_client.get(URL, {"format": file_format})
        assert response.status_code == 400
        assert not response.streaming and "Content-Disposition" not in response
        body = response.json()
        assert body["code"] == "EXPORT_LIMIT_EXCEEDED" and body["success"] is False
        assert "narrow your filters" in body["message"]
        assert body["message"] == MSG_EXPORT_LIMIT.format(limit=3)


def test_exactly_the_cap_is_exported_and_narrowed_filters_get_under_it(operator_client, people, settings):
    settings.EXPORT_MAX_ROWS = 4
    assert len(_csv(operator_client.get(URL))) == 5
    settings.EXPORT_MAX_ROWS = 2
    assert len(_csv(operator_client.get(URL, {"programme": "MBA1234"}))) == 3


def test_the_default_cap_is_50000_rows():
    from django.conf import settings

    assert settings.EXPORT_MAX_ROWS == 50_000
    assert "50,000" in MSG_EXPORT_LIMIT.format(limit=50_000)


# Bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, field",
    [
        ({"format": "pdf"}, "format"),
        ({"format": "json"}, "format"),
        ({"sort_by": "email"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
        ({"status": "gone"}, "status"),
        ({"start_date": "soon"}, "start_date"),
        ({"start_date": "2026-06-05", "end_date": "2026-06-01"}, "start_date"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(operator_client, params, field):
    response = operator_client.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and field in body["errors"]


def test_an_empty_format_is_the_default_csv_like_any_empty_parameter(operator_client, people):
    response = operator_client.get(URL, {"format": ""})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_every_bad_parameter_is_named_at_once(operator_client):
    body = operator_client.get(URL, {"format": "pdf", "sort_by": "x"}).json()
    assert set(body["errors"]) == {"format", "sort_by"}


def test_paging_parameters_are_ignored_the_export_is_the_whole_filtered_list(operator_client, people):
    assert len(_csv(operator_client.get(URL, {"skip": 2, "limit": 1}))) == 5


# Authentication and tenancy ------------------------------------------------------------------


def test_requires_user_management_can_export(viewer_client, operator_client):
    denied = viewer_client.get(URL)  # viewer: can_view but not can_export
    assert denied.status_code == 403 and denied.json()["code"] == "PERMISSION_DENIED"
    assert operator_client.get(URL).status_code == 200


def test_without_credentials_is_401(anon_client):
    response = anon_client.get(URL, {"format": "xlsx"})
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_another_tenants_export_holds_only_its_own_students(other_tenant_client, other_tenant, people):
    with schema_context(other_tenant.schema_name):
        StudentFactory(first_name="Aïcha", last_name="Diallo")
    response = other_tenant_client.get(URL)
    assert response["Content-Disposition"].startswith('attachment; filename="students_other_')
    assert [row[0] for row in _csv(response)[1:]] == ["Aïcha Diallo"]


def test_a_token_of_another_tenant_is_rejected(host, other_tenant_user, other_tenant):
    with schema_context(other_tenant.schema_name):
        client = bearer_client(host, other_tenant_user)
    assert client.get(URL).status_code == 401


def test_answers_with_and_without_trailing_slash(operator_client):
    assert operator_client.get(URL + "/").status_code == 200


# Queries: fixed, whatever the number of rows ---------------------------------------------------


@pytest.mark.parametrize("n_students", [2, 45])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_query_count_does_not_grow_with_rows(operator_client, django_assert_num_queries, monkeypatch, mba,
                                                     n_students, file_format):
    monkeypatch.setattr(student_list, "CHUNK_SIZE", 10)  # several chunks for 45 rows
    econ = ProgrammeFactory(code="ECO1000", name="Economics")
    CaseStudyFactory(programmes=[mba, econ])
    for n in range(n_students):
        _seen(StudentFactory(programmes=[mba, econ]), NOW - dt.timedelta(minutes=n))
    # authentication; the bounded count (SELECT COUNT(*) FROM (... LIMIT cap + 1)); the export's
    # audit event;
    # then, as the body streams after the view returned (on the same search_path), in a
    # transaction (a savepoint inside the test's) the one COPY (…) TO STDOUT that every row is
    # read from, formatted (no programme or case-study queries: the Programme and Case studies
    # columns are the maintained programme_label and overall_case_studies)
    with django_assert_num_queries(API_REQUEST_QUERIES + 2 + 3):
        response = operator_client.get(URL, {"format": file_format})
        body = _body(response)
    assert body


def test_rows_are_read_by_one_copy_capped_at_the_limit(mba):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    StudentFactory.create_batch(3)
    from students.listing.selectors import student_list_filterset

    response = list_file_response(FileRequest(FILE_KINDS["list"], {"format": "csv"}, student_list_filterset({}), ()))
    with CaptureQueriesContext(connection) as queries:
        rows = _csv(response)
    assert len(rows) == 4
    [query] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("COPY")]
    assert query.endswith("LIMIT 50000) TO STDOUT (FORMAT csv)")
    assert not [q for q in queries.captured_queries if q["sql"].startswith("DECLARE")]
    assert "catalogue_casestudy" not in query  # overall_case_studies is not a subquery per row


def test_overall_case_studies_in_the_export_follow_the_rule(operator_client, mba):
    econ = ProgrammeFactory(code="ECO1000", name="Economics")
    shared = CaseStudyFactory(programmes=[mba, econ])
    CaseStudyFactory(programmes=[mba])
    CaseStudyFactory(programmes=[econ], is_active=False)
    CaseStudyFactory(programmes=[econ])
    both = StudentFactory(programmes=[mba, econ], first_name="Both")
    StudentFactory(programmes=[econ], first_name="Econ")
    StudentFactory(programmes=[], first_name="None")
    assert shared and both
    rows = {row[0].split()[0]: row[4] for row in _csv(operator_client.get(URL, {"format": "csv"}))[1:]}
    # MBA: shared + the MBA one; Economics: shared + the active one (the inactive one not counted)
    assert rows == {"Both": "3", "Econ": "2", "None": "0"}


def test_search_by_student_number_finds_the_same_student_in_the_list_the_export_and_the_console(
    operator_client, people, host, operator_user
):
    from students.models import Student
    from testing.clients import TenantAPIClient

    Student.objects.filter(pk=people["zoe"].pk).update(student_number="MIVA/ECO/0042")
    rows = operator_client.get(LIST_URL, {"search": "eco/004"}).json()["data"]
    assert [row["user_id"] for row in rows] == [people["zoe"].pk]
    exported = _csv(operator_client.get(URL, {"search": "eco/004"}))
    assert len(exported) == 2 and "Zoë Brontë" in exported[1]
    page = TenantAPIClient(host)
    page.force_login(operator_user)
    assert [s.pk for s in page.get("/students/", {"search": "ECO/0042"}).context["rows"]] == [people["zoe"].pk]


# The console's own sort --------------------------------------------------------------------------


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_the_console_list_sorted_by_its_case_studies_column_exports_in_that_order(
    console_as, operator_user, people, sort_order
):
    """The list page's download buttons carry its sort, the Case studies column included (an
    extension of the export's sort_by), and the file comes in the page's order."""
    page = console_as(operator_user).get("/students/", {"sort_by": "case_studies", "sort_order": sort_order})
    shown = [html.unescape(n) for n in re.findall(r'class="cell-title" href="[^"]+">([^<]+)</a>', page.content.decode())]
    for kind, path in (("csv", "/v1/console/students/export"), ("gradebook-csv", "/v1/console/reports/gradebook")):
        href = html.unescape(re.search(rf'href="({path}[^"]*)"[^>]*data-export="{kind}"', page.content.decode()).group(1))
        assert "sort_by=case_studies" in href
        response = console_as(operator_user).get(href)
        assert response.status_code == 200, response.content[:300]
        assert [row[0] for row in _csv(response)[1:]] == shown


def test_the_export_sorts_by_overall_case_studies(operator_client, people):
    rows = _csv(operator_client.get(URL, {"sort_by": "case_studies", "sort_order": "desc"}))
    counts = [int(row[4]) for row in rows[1:]]
    assert counts == sorted(counts, reverse=True) and counts[0] == 4


# Cells formatted in SQL ---------------------------------------------------------------------

# Text that tests every rule at once: formula triggers, quotes, separators, line breaks inside
# a cell, XML's reserved and illegal characters, a backslash, non-ASCII, and empty text.
HOSTILE_TEXTS = [
    ("=SUM(A1:A2)", "x"), ("+1", "-2"), ("@cmd", "x"), ("\tTabbed", "x"), ("\rReturned", "x"),
    ('Quote "me"', "a,b"), ("Line\nbreak", "and\r\nCRLF"), ("<b>&amp;</b>", "back\\slash"),
    ("Chi\x01dinma", "Oka\x0bfọr\x1f"), ("\x07=after a bell", "x"), ("Zoë", "Brontë \uffff"), ("", ""),
]


@pytest.fixture
def hostile(mba):
    """Students whose names, emails and programme hold HOSTILE_TEXTS, written past every check
    (rows stored before text was checked), some seen and one never."""
    odd = ProgrammeFactory(code="ODD1", name="-Odd, \"quoted\"\nprogramme")
    from students.models import Student

    for n, (first, last) in enumerate(HOSTILE_TEXTS):
        student = StudentFactory(email=f"s{n}@miva.university", programmes=[mba, odd] if n % 2 else [])
        if n % 3:
            _seen(student, NOW - dt.timedelta(minutes=n, microseconds=n * 123457))
        Student.objects.filter(pk=student.pk).update(
            first_name=first, last_name=last, email=("=" if n == 0 else "") + f"{first[:3]}{n}@miva.university"
        )


def _python_rows(sort="name"):
    """The rows as the writers' Python rules (writers.neutralise, csv_moment, xlsx_text,
    xlsx_moment) see them: the plain values of the list's selector."""
    from students.listing.selectors import student_export_rows, student_file_filterset

    return list(student_export_rows(student_file_filterset({"sort_by": sort}), limit=None))


def test_the_csv_is_byte_for_byte_what_the_python_rules_write(operator_client, hostile):
    from console.list_files.writers import csv_in_blocks, csv_moment, neutralise

    def cells(row):
        name, email, programme, status, overall, last_seen = row
        return [neutralise(name), neutralise(email), neutralise(programme), neutralise(status), overall,
                csv_moment(last_seen)]

    expected = b"".join(csv_in_blocks(COLUMNS, _python_rows(), cells))
    body = _body(operator_client.get(URL, {"sort_by": "name"}))
    assert body == expected
    assert b"\"Line\nbreak and\r\nCRLF\"" in body  # line breaks inside a cell stay as they are


def _pg_number(value):
    """A number as PostgreSQL writes it: an integral float without ".0", else Python's shortest
    text that reads back the same float (PostgreSQL's too)."""
    if value is None:
        return None
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def test_the_gradebook_csv_is_byte_for_byte_what_the_python_rules_write(operator_client, hostile, mba):
    """The gradebook's CSV cells come from its statement and COPY writes its lines: the same
    bytes as writers.neutralise, csv_moment and csv.writer make of the statement's plain values
    (gradebook_rows, as the XLSX reads them)."""
    from django.db import transaction

    from console.list_files.gradebook import columns
    from console.list_files.writers import csv_in_blocks, csv_moment, neutralise
    from console.reports.selectors import gradebook_case_studies, gradebook_rows
    from students.listing.selectors import student_file_filterset
    from students.models import Student

    case_study = CaseStudyFactory(title="=Pricing, \"the\" case", programmes=[mba], grading_method="average")
    CaseStudyFactory(title="Unassigned")
    for n, student in enumerate(Student.objects.order_by("email")[:4]):
        SessionFactory(student=student, case_study=case_study, grading_status="complete", score=[85, 1 / 3, 100, 0][n])
    case_studies = gradebook_case_studies()

    def cells(row):
        name, email, number, label, _programme_ids, last_seen, values = row
        return [neutralise(name), neutralise(email), neutralise(number), neutralise(label), csv_moment(last_seen),
                *(_pg_number(value) for value in values)]

    with transaction.atomic():
        rows = list(gradebook_rows(student_file_filterset({"sort_by": "name"}), case_studies))
    expected = b"".join(csv_in_blocks([neutralise(title) for title in columns(case_studies)], rows, cells))
    body = _body(operator_client.get("/v1/console/reports/gradebook", {"sort_by": "name"}))
    assert body == expected
    assert b"0.3333333333333333" in body and b"\"Line\nbreak and\r\nCRLF\"" in body


def test_the_gradebook_xlsx_on_one_sheet_holds_what_the_python_rules_write(operator_client, hostile, mba):
    """Its rows are written by the statement (cells.xlsx_row) into a workbook made by XlsxWriter;
    one sheet per programme is written by openpyxl from the plain values. Both hold the same."""
    from students.models import Student

    case_study = CaseStudyFactory(title="=Pricing <&> \x07", programmes=[mba], grading_method="average")
    for n, student in enumerate(Student.objects.order_by("email")[:4]):
        SessionFactory(student=student, case_study=case_study, grading_status="complete", score=[85, 1 / 3, 100, 0][n])

    def read(params):
        workbook = openpyxl.load_workbook(io.BytesIO(_body(operator_client.get("/v1/console/reports/gradebook", params))))
        rows = []
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(min_row=2, values_only=True):
                rows.append(tuple(_as_a_spreadsheet_holds(v) if isinstance(v, dt.datetime) else v for v in row))
        return workbook, rows

    one, rows = read({"format": "xlsx", "sort_by": "name"})
    _, per_programme = read({"format": "xlsx", "sort_by": "name", "sheet_per_programme": "true"})
    assert one.sheetnames == ["Gradebook"] and one.active.freeze_panes == "B2"
    assert one.active.column_dimensions["B"].width > 30
    by_email = {row[1]: row for row in per_programme}  # a student of two programmes is on both sheets
    assert sorted(rows, key=lambda row: row[1]) == sorted(by_email.values(), key=lambda row: row[1])
    assert len(rows) == len(HOSTILE_TEXTS)
    assert 1 / 3 in [value for row in rows for value in row]
    header = [c.value for c in one.active[1]]
    assert header[5] == "'=Pricing <&> : Attempts Used" and one.active["A1"].font.bold


def _as_a_spreadsheet_holds(moment):
    """A naive date-time as a spreadsheet cell holds it: to the millisecond."""
    return from_excel(to_excel(moment))


def test_the_xlsx_holds_what_the_python_rules_write(operator_client, hostile):
    from console.list_files.writers import xlsx_moment, xlsx_text

    def cell(value):
        if isinstance(value, dt.datetime):
            return _as_a_spreadsheet_holds(xlsx_moment(value))
        value = xlsx_text(value) if isinstance(value, str) else value
        return None if value == "" else value

    expected = [[cell(value) for value in row] for row in _python_rows()]
    sheet = _xlsx(operator_client.get(URL, {"sort_by": "name", "format": "xlsx"}))
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2, max_col=6)]
    assert rows == expected
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["C"].width > 40
    texts = [c for row in sheet.iter_rows(min_row=2, max_col=4) for c in row if c.value is not None]
    assert {c.data_type for c in texts} == {"s"}  # never a formula


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_background_export_reads_the_same_statement_and_gives_the_same_bytes_of_data(
    operator_client, hostile, file_format
):
    """The background export reads the download's statement from a server-side cursor (so its
    progress commits as it goes) and writes the same cells."""
    from console.list_files.kinds import FILE_KINDS
    from students.listing.selectors import student_file_filterset

    request = FileRequest(FILE_KINDS["list"], {"format": file_format}, student_file_filterset({"sort_by": "name"}), ())
    copied = [bytes(row) for row in student_list.rows(request, limit=None)]
    fetched = list(student_list.rows(request, limit=None, copy=False))
    assert len(copied) == len(HOSTILE_TEXTS) and copied == fetched


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_download_closed_after_its_first_block_ends_its_copy_and_leaves_the_connection_usable(
    mba, monkeypatch, tenant, file_format
):
    from django.db import connection

    from console.list_files import writers
    from console.list_files.downloads import _in_tenant
    from students.listing.selectors import student_list_filterset

    monkeypatch.setattr(writers, "CSV_FLUSH_BYTES", 100)  # many blocks from a few rows
    StudentFactory.create_batch(30, programmes=[mba])
    request = FileRequest(FILE_KINDS["list"], {"format": file_format}, student_list_filterset({}), ())
    body = _in_tenant(tenant, "default", request, 50_000)  # the response's body
    next(body)
    if file_format == "csv":
        next(body)  # the header, then rows read from the COPY
    body.close()  # the client went away mid-file
    with connection.cursor() as cursor:  # the rollback would have waited forever on the connection COPY held
        cursor.execute("SELECT count(*) FROM students_student")
        assert cursor.fetchone() == (30,)
