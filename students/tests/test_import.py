"""Student import: POST /v1/students/import (dry run and apply) and its template, with good
files and hostile ones."""
import contextlib
import csv
import io
import random
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from accounts.events.models import Event
from accounts.models import AuditEvent
from catalogue.models import CaseStudy
from catalogue.programmes.selectors import MSG_UNKNOWN_PROGRAMMES
from config.errors import MSG_PERMISSION_DENIED
from console.tests.test_listed_counts import assert_counts_exact
from students.imports import parsing, services
from students.imports.models import ImportedStudent, StudentImport
from students.listing.selectors import student_list_filterset
from students.maintained import student_refresh_programme_labels
from students.models import Enrolment, Student
from students.records.services import (
    MSG_EMAIL_TAKEN,
    MSG_STUDENT_NUMBER_TAKEN,
    MSG_UNKNOWN_COHORT,
    MSG_USER_ID_TAKEN,
    student_delete,
)
from testing.factories import CaseStudyFactory, CohortFactory, ProgrammeFactory, StaffUserFactory, StudentFactory

URL = "/v1/students/import"
HEADER = ["user_id", "first_name", "last_name", "email", "status", "programme_codes", "student_number"]


def csv_bytes(rows, header=HEADER, bom=True):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def xlsx_bytes(rows, header=HEADER, formulas=()):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for ref, formula in formulas:
        sheet[ref] = formula
    target = io.BytesIO()
    workbook.save(target)
    return target.getvalue()


def post(client, data, dry_run=None, name="students.csv"):
    body = {"file": SimpleUploadedFile(name, data, content_type="application/octet-stream")}
    if dry_run is not None:
        body["dry_run"] = "true" if dry_run else "false"
    return client.post(URL, body, format="multipart")


def rows_of(response):
    return {row["row"]: row for row in response.json()["data"]["rows"]}


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA", name="Master of Business Administration")


@pytest.fixture
def acc():
    return ProgrammeFactory(code="ACC", name="Accounting")


@pytest.fixture
def people(mba):
    return {
        "ada": StudentFactory(first_name="Ada", last_name="Obi", email="ada@uni.example", student_number="S-1", programmes=[mba]),
        "zoe": StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@uni.example", student_number="S-2"),
    }


# Dry run and apply ------------------------------------------------------------------------


def test_a_dry_run_reports_each_row_and_changes_nothing(admin_client, people, mba, acc):
    ada, zoe = people["ada"], people["zoe"]
    data = csv_bytes([
        ["", "Chidinma", "Okafọr", "chidinma@uni.example", "", "MBA ACC", "S-3"],  # new
        [ada.pk, "Ada", "Obi-Eze", "ada@uni.example", "active", "MBA", "S-1"],  # by user_id: last name
        ["", "Zoë", "Brontë", "ZOE@uni.example", "active", "", "S-2"],  # by number; the email's case differs
        ["", "Ngozi", "Eze", "not an email", "", "", ""],  # rejected
    ])
    before = (Student.objects.count(), AuditEvent.objects.count())
    response = post(admin_client, data)
    assert response.status_code == 200, response.json()
    report = response.json()["data"]
    assert report["dry_run"] is True and report["applied"] is False and report["file_format"] == "csv"
    assert report["counts"] == {"created": 1, "updated": 2, "unchanged": 0, "rejected": 1}
    rows = rows_of(response)
    assert rows[2] == {"row": 2, "action": "created", "user_id": None, "errors": None}
    assert rows[3]["action"] == "updated" and rows[3]["user_id"] == ada.pk
    assert rows[4]["action"] == "updated" and rows[4]["user_id"] == zoe.pk  # the email's case
    assert rows[5]["action"] == "rejected" and rows[5]["errors"] == {"email": ["Enter a valid email address."]}
    assert (Student.objects.count(), AuditEvent.objects.count()) == before


def test_dry_run_is_the_default_and_false_applies(admin_client, people):
    data = csv_bytes([["", "New", "Person", "new@uni.example", "", "", ""]])
    assert post(admin_client, data).json()["data"]["dry_run"] is True
    assert not Student.objects.filter(email="new@uni.example").exists()
    response = post(admin_client, data, dry_run=False)
    assert response.status_code == 200 and response.json()["data"]["applied"] is True
    created = Student.objects.get(email="new@uni.example")
    assert rows_of(response)[2]["user_id"] == created.pk


def test_apply_creates_and_updates_with_an_audit_event_each(admin_client, admin_user, people, mba, acc):
    ada, zoe = people["ada"], people["zoe"]
    cohort = CohortFactory(name="Class of 2027")
    advisor = StaffUserFactory(email="adviser@uni.example")
    header = HEADER + ["cohort_id", "advisor_id"]
    data = csv_bytes([
        ["", "Chidinma", "Okafọr", "chidinma@uni.example", "inactive", "MBA,ACC", "S-3", cohort.pk, advisor.pk],
        [ada.pk, "Ada", "Obi-Eze", "ada@uni.example", "", "ACC", "S-1", "", ""],
        ["", "Zoë", "Brontë", "zoe@uni.example", "", "", "S-2", "", ""],  # unchanged
    ], header=header)
    response = post(admin_client, data, dry_run=False)
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "rejected": 0}

    new = Student.objects.get(email="chidinma@uni.example")
    assert (new.first_name, new.status, new.student_number, new.cohort_id, new.advisor_id) == (
        "Chidinma", "inactive", "S-3", cohort.pk, advisor.pk,
    )
    assert new.programme_label == "Accounting, Master of Business Administration"
    ada.refresh_from_db()
    assert ada.last_name == "Obi-Eze" and ada.status == "active"  # an empty status cell keeps it
    assert ada.programme_label == "Accounting"
    assert list(Enrolment.objects.filter(student=ada).values_list("programme__code", flat=True)) == ["ACC"]

    events = {e.target_id: e for e in AuditEvent.objects.filter(target_type="student")}
    assert set(events) == {new.pk, ada.pk}  # the unchanged student has none
    created, updated = events[new.pk], events[ada.pk]
    assert created.action == "student.create" and created.actor_id == admin_user.pk and created.via == "token"
    assert created.changes["email"] == [None, "chidinma@uni.example"]
    assert created.changes["programmes"] == [None, ["ACC", "MBA"]]
    assert created.changes["cohort"] == [None, cohort.pk] and created.detail == {"import_row": 2}
    assert updated.action == "student.update"
    assert updated.changes == {"last_name": ["Obi", "Obi-Eze"], "programmes": [["MBA"], ["ACC"]]}
    assert updated.detail == {"import_row": 3}
    zoe.refresh_from_db()
    assert zoe.updated_at < new.created_at


def test_maintained_columns_and_listed_counts_stay_exact(admin_client, people, mba, acc):
    CaseStudyFactory(programmes=[mba])
    CaseStudyFactory(programmes=[mba, acc])
    CaseStudyFactory(programmes=[acc], is_active=False)
    data = csv_bytes(
        [["", f"Student{i}", "Import", f"s{i}@uni.example", ["active", "inactive"][i % 2], ["MBA", "ACC", "MBA ACC", ""][i % 4], ""] for i in range(40)]
        + [[people["ada"].pk, "Ada", "Obi", "ada@uni.example", "inactive", "ACC", "S-1"]]
    )
    assert post(admin_client, data, dry_run=False).status_code == 200
    stored = dict(Student.objects.values_list("pk", "programme_label"))
    counts = dict(Student.objects.values_list("pk", "overall_case_studies"))
    student_refresh_programme_labels()  # from scratch
    assert dict(Student.objects.values_list("pk", "programme_label")) == stored
    assert dict(Student.objects.values_list("pk", "overall_case_studies")) == counts
    assert counts[people["ada"].pk] == CaseStudy.objects.filter(is_active=True, programmes__code="ACC").count() == 1
    assert_counts_exact(admin_client)


def test_apply_with_a_rejected_row_changes_nothing_and_names_it(admin_client, people, mba):
    data = csv_bytes([
        ["", "Good", "Row", "good@uni.example", "", "MBA", ""],
        ["", "Bad", "Row", "bad@uni.example", "", "NOPE", ""],
        ["", "Worse", "Row", "worse@uni.example", "retired", "", ""],
    ])
    before = (Student.objects.count(), Enrolment.objects.count(), AuditEvent.objects.count())
    response = post(admin_client, data, dry_run=False)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and body["data"] is None
    assert body["message"] == services.MSG_NOTHING_IMPORTED.format(count=2, s="s")
    assert body["errors"] == {
        "rows[3].programme_codes": [MSG_UNKNOWN_PROGRAMMES.format(codes="NOPE")],
        "rows[4].status": ['"retired" is not a valid choice.'],
    }
    assert (Student.objects.count(), Enrolment.objects.count(), AuditEvent.objects.count()) == before


# Matching --------------------------------------------------------------------------------


def test_a_row_failing_on_one_field_still_has_its_references_checked(admin_client):
    row = rows_of(post(admin_client, csv_bytes([["", "=1", "Y", "bad", "", "NOPE", ""]])))[2]
    assert row["errors"] == {
        "email": ["Enter a valid email address."],
        "programme_codes": [MSG_UNKNOWN_PROGRAMMES.format(codes="NOPE")],
        "first_name": [parsing.MSG_FORMULA],
    }


def test_rows_match_by_user_id_then_student_number_then_email(admin_client, people):
    ada, zoe = people["ada"], people["zoe"]
    data = csv_bytes([
        [ada.pk, "Ada", "A", "ada.new@uni.example", "", "", "S-9"],  # user_id wins: email and number change
        ["", "Zoë", "B", "zoe.new@uni.example", "", "", "S-2"],  # by student number: email changes
    ])
    response = post(admin_client, data, dry_run=False)
    assert response.status_code == 200, response.json()
    ada.refresh_from_db()
    zoe.refresh_from_db()
    assert (ada.email, ada.student_number) == ("ada.new@uni.example", "S-9")
    assert (zoe.email, zoe.last_name) == ("zoe.new@uni.example", "B")


def test_a_row_matching_two_students_is_rejected(admin_client, people):
    # Ada's number, Zoë's email.
    response = post(admin_client, csv_bytes([["", "X", "Y", "zoe@uni.example", "", "", "S-1"]]))
    row = rows_of(response)[2]
    assert row["action"] == "rejected" and row["errors"] == {"email": [MSG_EMAIL_TAKEN]}
    response = post(admin_client, csv_bytes([[people["zoe"].pk, "X", "Y", "zoe@uni.example", "", "", "S-1"]]))
    assert rows_of(response)[2]["errors"] == {"student_number": [MSG_STUDENT_NUMBER_TAKEN]}


def test_keys_repeated_in_the_file_are_rejected(admin_client, people):
    data = csv_bytes([
        ["", "A", "A", "one@uni.example", "", "", "N-1"],
        ["", "B", "B", "ONE@uni.example", "", "", "N-2"],
        ["", "C", "C", "three@uni.example", "", "", "N-1"],
        [people["ada"].pk, "Ada", "Obi", "ada@uni.example", "", "MBA", "S-1"],
        ["", "Ada", "Obi", "ada@uni.example", "", "", ""],  # the same student again, by email
    ])
    rows = rows_of(post(admin_client, data))
    assert rows[3]["errors"] == {"email": [services.MSG_DUPLICATE_IN_FILE.format(row=2)]}
    assert rows[4]["errors"] == {"student_number": [services.MSG_DUPLICATE_IN_FILE.format(row=2)]}
    assert rows[6]["errors"] == {"email": [services.MSG_DUPLICATE_IN_FILE.format(row=5)]}
    assert [rows[n]["action"] for n in (2, 5)] == ["created", "unchanged"]


def test_a_deleted_students_user_id_and_unknown_references_are_rejected(admin_client, people):
    gone = StudentFactory(email="gone@uni.example")
    student_delete(user_id=gone.pk)
    header = HEADER + ["cohort_id"]
    data = csv_bytes([
        [gone.pk, "Gone", "Again", "gone2@uni.example", "", "", "", ""],
        ["", "No", "Cohort", "nc@uni.example", "", "", "", "no-such-cohort"],
        ["kept-id.42", "Kept", "Id", "kept@uni.example", "", "", "", ""],
        ["", "Reuses", "Email", "gone@uni.example", "", "", "", ""],  # a deleted student's email is free
    ], header=header)
    rows = rows_of(post(admin_client, data))
    assert rows[2]["errors"] == {"user_id": [MSG_USER_ID_TAKEN]}
    assert rows[3]["errors"] == {"cohort_id": [MSG_UNKNOWN_COHORT]}
    assert rows[4]["action"] == "created" and rows[4]["user_id"] == "kept-id.42"
    assert rows[5]["action"] == "created"


def test_columns_left_out_keep_their_fields_and_empty_cells_clear_them(admin_client, people):
    ada = people["ada"]
    response = post(admin_client, csv_bytes([[ada.pk, "Ada", "Obi", "ada@uni.example"]], header=HEADER[:4]), dry_run=False)
    assert rows_of(response)[2]["action"] == "unchanged"
    response = post(admin_client, csv_bytes([[ada.pk, "Ada", "Obi", "ada@uni.example", "", ""]], header=HEADER[:4] + ["student_number", "programme_codes"]), dry_run=False)
    assert rows_of(response)[2]["action"] == "updated"
    ada.refresh_from_db()
    assert ada.student_number is None and ada.programme_label == "" and not ada.enrolments.exists()


def test_text_is_stored_in_nfc_as_the_api_stores_it(admin_client):
    decomposed = "Zoe\u0308"
    post(admin_client, csv_bytes([["", decomposed, "Bronte\u0308", "zb@uni.example", "", "", ""]]), dry_run=False)
    assert Student.objects.get(email="zb@uni.example").first_name == "Zoë"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_csv_with_semicolons_or_tabs_is_read_too(admin_client, delimiter):
    data = delimiter.join(["first_name", "last_name", "email"]) + "\r\n" + delimiter.join(["José", "García, Jr", "jg@uni.example"])
    response = post(admin_client, data.encode("utf-8"), dry_run=False)
    assert response.status_code == 200, response.json()
    assert Student.objects.get(email="jg@uni.example").last_name == "García, Jr"


def test_an_xlsx_file_imports_with_number_cells(admin_client, mba):
    advisor = StaffUserFactory(email="adv@uni.example")
    header = HEADER + ["advisor_id"]
    data = xlsx_bytes([[None, "Kwame", "Mensah", "kwame@uni.example", "active", "MBA", 10042, advisor.pk]], header=header)
    response = post(admin_client, data, dry_run=False, name="students.xlsx")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["file_format"] == "xlsx"
    kwame = Student.objects.get(email="kwame@uni.example")
    assert (kwame.student_number, kwame.advisor_id, kwame.programme_label) == ("10042", advisor.pk, mba.name)


def test_xlsx_rows_keep_their_sheet_numbers_across_gaps_even_to_the_last_row():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER[1:4])
    for ref, value in (("A5", "Ada"), ("B5", "Obi"), ("C5", "a@uni.example"), ("A1048576", "Q"), ("B1048576", "R"), ("C1048576", "q@uni.example")):
        sheet[ref] = value
    target = io.BytesIO()
    workbook.save(target)
    parsed = parsing.read_students_file(target.getvalue())  # the million-row gap is skipped, not walked
    assert parsed.numbers == [5, 1_048_576]


# Formulas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2", "@SUM(A1)", " =1+1", "\t=1"])
def test_a_cell_a_spreadsheet_would_run_is_rejected(admin_client, value):
    rows = rows_of(post(admin_client, csv_bytes([["", value, "Y", "f@uni.example", "", "", ""]])))
    assert rows[2]["action"] == "rejected" and rows[2]["errors"] == {"first_name": [parsing.MSG_FORMULA]}


def test_an_xlsx_formula_cell_is_rejected(admin_client):
    data = xlsx_bytes([[None, "Placeholder", "Y", "f@uni.example"]], header=HEADER[:4], formulas=[("B2", '=CONCAT("A","B")')])
    row = rows_of(post(admin_client, data, name="s.xlsx"))[2]
    assert row["action"] == "rejected" and row["errors"] == {"first_name": [parsing.MSG_FORMULA_CELL]}
    response = post(admin_client, data, dry_run=False, name="s.xlsx")
    assert response.status_code == 400
    assert response.json()["errors"] == {"rows[2].first_name": [parsing.MSG_FORMULA_CELL]}
    assert not Student.objects.filter(email="f@uni.example").exists()


# Bad files ----------------------------------------------------------------------------


def _zip(members):
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return target.getvalue()


def _workbook_with(member, content):
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([[None, "A", "B", "c@uni.example"]], header=HEADER[:4])))
    return _zip({name: (content if name == member else source.read(name)) for name in source.namelist()})


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
)

BAD_FILES = {
    "empty": (b"", parsing.MSG_EMPTY),
    "blank lines": (b"\r\n\r\n", parsing.MSG_EMPTY),
    "a png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, parsing.MSG_NOT_CSV_OR_XLSX),
    "latin-1": ("first_name,last_name,email\nJos\xe9,Garc\xeda,j@uni.example\n".encode("latin-1"), parsing.MSG_ENCODING.format(line=2)),
    "utf-16": ("first_name,last_name,email\n".encode("utf-16"), parsing.MSG_UTF16),
    "old excel": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, parsing.MSG_OLD_EXCEL),
    "header only": (b"first_name,last_name,email\r\n", parsing.MSG_NO_ROWS),
    "unknown column": (b"first_name,last_name,email,password\nA,B,c@uni.example,x\n", parsing.MSG_UNKNOWN_COLUMNS.format(names="“password”")),
    "missing column": (b"first_name,email\nA,c@uni.example\n", parsing.MSG_MISSING_COLUMNS.format(names="last_name")),
    "repeated column": (b"first_name,last_name,email,email\nA,B,c@uni.example,d@uni.example\n", parsing.MSG_DUPLICATE_COLUMNS.format(names="email")),
    "unnamed column": (b"first_name,,last_name,email\nA,x,B,c@uni.example\n", parsing.MSG_UNNAMED_COLUMN.format(number=2)),
    "unclosed quote": (b'first_name,last_name,email\n"A,B,c@uni.example\n', parsing.MSG_CSV_BROKEN.format(line=2, problem="a quote is not closed or a cell is malformed")),
    "a zip, not a workbook": (_zip({"hello.txt": b"hi"}), parsing.MSG_NOT_A_WORKBOOK),
    "an empty zip": (_zip({}), parsing.MSG_NOT_A_WORKBOOK),
    "a truncated workbook": (xlsx_bytes([["", "A", "B", "c@uni.example"]])[:3000], parsing.MSG_NOT_A_WORKBOOK),
    "a zip bomb": (_workbook_with("xl/worksheets/sheet1.xml", b"<" + b"a" * (8 * parsing.MiB)), parsing.MSG_WORKBOOK_COMPRESSED),
    "entity expansion": (_workbook_with("xl/worksheets/sheet1.xml", BILLION_LAUGHS), parsing.MSG_WORKBOOK_DTD),
    "a broken sheet": (_workbook_with("xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row><c"), parsing.MSG_NOT_A_WORKBOOK),
}


@pytest.mark.parametrize("name", BAD_FILES)
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_bad_file_is_a_clear_400_and_changes_nothing(admin_client, name, dry_run):
    data, message = BAD_FILES[name]
    before = Student.objects.count()
    response = post(admin_client, data, dry_run=dry_run)
    assert response.status_code == 400, (name, response.content[:300])
    body = response.json()
    if name == "empty":
        assert body["errors"] == {"file": ["The submitted file is empty."]}
    else:
        assert body["errors"] == {"file": [message]}, name
    assert Student.objects.count() == before


def test_more_than_the_row_cap_is_refused(admin_client, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_ROWS", 5)
    data = csv_bytes([["", "A", "B", f"p{i}@uni.example", "", "", ""] for i in range(6)])
    response = post(admin_client, data, dry_run=False)
    assert response.status_code == 400 and list(response.json()["errors"]) == ["file"]
    assert Student.objects.count() == 0


def test_the_row_cap_message_is_50000():
    assert parsing.MAX_ROWS == 50_000 and "50,000" in parsing.MSG_TOO_MANY_ROWS


def test_a_file_over_10_mb_is_refused_before_it_is_read(admin_client):
    data = b"first_name,last_name,email\n" + b"x" * (parsing.MAX_BYTES + 1)
    response = post(admin_client, data)
    assert response.status_code == 400 and response.json()["errors"] == {"file": [parsing.MSG_TOO_LARGE]}


def test_a_request_without_a_file_or_with_unknown_fields_is_400(admin_client):
    response = admin_client.post(URL, {"dry_run": "true"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    body = {"file": SimpleUploadedFile("a.csv", b"first_name,last_name,email\nA,B,c@uni.example\n"), "extra": "1"}
    response = admin_client.post(URL, body, format="multipart")
    assert response.status_code == 400 and "extra" in response.json()["errors"]
    response = admin_client.post(URL, {"file": "x"}, format="json")
    assert response.status_code == 415


def test_junk_never_breaks_the_parser():
    rng = random.Random(16)
    good_csv = csv_bytes([["", "A", "B", "c@uni.example", "active", "MBA", "N-1"]])
    good_xlsx = xlsx_bytes([["", "A", "B", "c@uni.example", "active", "MBA", "N-1"]])
    for _attempt in range(300):
        source = rng.choice([good_csv, good_xlsx, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))])
        data = bytearray(source)
        for _ in range(rng.randrange(1, 8)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        with contextlib.suppress(parsing.FileRefused):
            parsing.read_students_file(bytes(data))


# Workbook expansion limits -------------------------------------------------------------

MiB = parsing.MiB


def _skeleton():
    """The parts of a valid one-student workbook."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([[None, "A", "B", "c@uni.example"]], header=HEADER[:4])))
    return {name: source.read(name) for name in source.namelist()}


def _padded(*paddings):
    """A valid workbook plus parts openpyxl never reads (nothing refers to them), holding
    `paddings`."""
    return _zip({**_skeleton(), **{f"xl/media/padding{n}.bin": content for n, content in enumerate(paddings)}})


def _padding(size, seed=0):
    """`size` bytes that deflate about 68 times: 48 random bytes in every 4 KB of zeros."""
    rng = random.Random(seed)
    blocks = [rng.randbytes(48) + bytes(4096 - 48) for _ in range(size // 4096 + 1)]
    return b"".join(blocks)[:size]


def _deflated_size(content):
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)  # as zipfile deflates
    return len(compressor.compress(content) + compressor.flush())


def _at_the_ratio_limit():
    """(under, over): 2 MB of padding plus zeros, compressed just under and just over
    XLSX_MAX_RATIO times (the fewest zeros that go over, and one fewer)."""
    base = _padding(2 * MiB)

    def over(zeros):
        content = base + bytes(zeros)
        return len(content) > parsing.XLSX_MAX_RATIO * _deflated_size(content)

    under_zeros, over_zeros = 0, 8 * MiB
    assert not over(under_zeros) and over(over_zeros)
    while over_zeros - under_zeros > 1:
        middle = (under_zeros + over_zeros) // 2
        if over(middle):
            over_zeros = middle
        else:
            under_zeros = middle
    return base + bytes(under_zeros), base + bytes(over_zeros)


def _ratio(data, name):
    member = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    return member.file_size / member.compress_size


def _declaring(data, name, size):
    """The zip `data` with member `name` declaring `size` bytes (in its local header and in the
    central directory) whatever it holds."""
    data = bytearray(data)
    encoded = name.encode()
    # (signature, offset of the uncompressed size, of the name's length, of the name)
    for signature, size_at, length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        at = data.find(signature)
        while at != -1:
            (length,) = struct.unpack_from("<H", data, at + length_at)
            if bytes(data[at + name_at:at + name_at + length]) == encoded:
                struct.pack_into("<I", data, at + size_at, size)
                break
            at = data.find(signature, at + 1)
        else:
            raise AssertionError(f"{name} not found")
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(name).file_size == size
    return bytes(data)


def _refused(data):
    with pytest.raises(parsing.FileRefused) as refused:
        parsing.read_students_file(data)
    return refused.value.message


def _accepted(data):
    return len(parsing.read_students_file(data).numbers) == 1


def test_the_limits_are_far_below_a_zip_bomb_and_the_messages_state_them():
    assert (64 * MiB, 96 * MiB) == (parsing.XLSX_MAX_MEMBER_BYTES, parsing.XLSX_MAX_EXPANDED_BYTES)
    assert (100, MiB) == (parsing.XLSX_MAX_RATIO, parsing.XLSX_RATIO_FLOOR_BYTES)
    assert "64 MB in one part or 96 MB in all" in parsing.MSG_WORKBOOK_TOO_BIG
    assert "more than 100 times" in parsing.MSG_WORKBOOK_COMPRESSED


def test_a_real_workbook_is_far_inside_the_limits():
    # Every column filled with long values; 2,000 rows stand for 50,000 (the sheet grows by row).
    rows = 2_000
    data = xlsx_bytes(
        [
            [f"stu_{i:08d}abcdef", f"Chidinma{i}", f"Okafọr-Brontë{i}", f"chidinma.okafor{i}@students.university.example",
             ["active", "inactive"][i % 7 == 0], "MBA ACC FIN", f"IB-{i:06d}", f"cohort-{i % 50:04d}", f"{1000 + i % 300}"]
            for i in range(rows)
        ],
        header=list(parsing.COLUMNS),
    )
    members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    sheet = next(m for m in members if m.filename == "xl/worksheets/sheet1.xml")
    assert sheet.file_size / sheet.compress_size < parsing.XLSX_MAX_RATIO / 5
    assert sheet.file_size * parsing.MAX_ROWS / rows < parsing.XLSX_MAX_MEMBER_BYTES / 2
    assert sum(m.file_size for m in members) * parsing.MAX_ROWS / rows < parsing.XLSX_MAX_EXPANDED_BYTES / 3
    assert len(parsing.read_students_file(data).numbers) == rows


def test_a_part_compressed_just_under_the_ratio_limit_is_read_and_just_over_is_refused():
    under, over = _at_the_ratio_limit()
    accepted, refused = _padded(under), _padded(over)
    assert parsing.XLSX_MAX_RATIO - 0.01 < _ratio(accepted, "xl/media/padding0.bin") <= parsing.XLSX_MAX_RATIO
    assert parsing.XLSX_MAX_RATIO < _ratio(refused, "xl/media/padding0.bin") < parsing.XLSX_MAX_RATIO + 0.01
    assert _accepted(accepted)
    assert _refused(refused) == parsing.MSG_WORKBOOK_COMPRESSED


def test_a_part_up_to_the_floor_may_be_compressed_further():
    floor = parsing.XLSX_RATIO_FLOOR_BYTES
    assert _ratio(_padded(bytes(floor)), "xl/media/padding0.bin") > 500
    assert _accepted(_padded(bytes(floor)))
    assert _refused(_padded(bytes(floor + 1))) == parsing.MSG_WORKBOOK_COMPRESSED


def test_a_part_of_just_the_size_limit_is_read_and_one_byte_more_is_refused():
    limit = parsing.XLSX_MAX_MEMBER_BYTES
    assert _accepted(_padded(_padding(limit)))
    assert _refused(_padded(_padding(limit + 1))) == parsing.MSG_WORKBOOK_TOO_BIG


def test_a_workbook_of_just_the_total_limit_is_read_and_one_byte_more_is_refused():
    skeleton = sum(len(content) for content in _skeleton().values())
    first = parsing.XLSX_MAX_MEMBER_BYTES
    second = parsing.XLSX_MAX_EXPANDED_BYTES - first - skeleton
    assert second < parsing.XLSX_MAX_MEMBER_BYTES
    assert _accepted(_padded(_padding(first), _padding(second, seed=1)))
    assert _refused(_padded(_padding(first), _padding(second + 1, seed=1))) == parsing.MSG_WORKBOOK_TOO_BIG


@pytest.mark.parametrize(
    "content, message",
    [
        (lambda: _padding(parsing.XLSX_MAX_MEMBER_BYTES + 1), parsing.MSG_WORKBOOK_TOO_BIG),
        (lambda: bytes(8 * MiB), parsing.MSG_WORKBOOK_COMPRESSED),
        (lambda: _padding(4_000), parsing.MSG_NOT_A_WORKBOOK),  # within the limits, yet a lie
    ],
    ids=["past the size limit", "past the ratio limit", "more than declared"],
)
def test_a_part_declaring_fewer_bytes_than_it_holds_is_measured_as_it_is_read(content, message):
    data = _declaring(_padded(content()), "xl/media/padding0.bin", 1_000)
    assert _refused(data) == message


def test_a_sheet_declaring_fewer_bytes_than_it_holds_is_refused():
    data = _declaring(_padded(), "xl/worksheets/sheet1.xml", 100)
    assert _refused(data) == parsing.MSG_NOT_A_WORKBOOK


def test_parts_claiming_more_compressed_bytes_than_the_file_holds_are_refused():
    data = _padded(_padding(2 * MiB))
    at = data.rfind(b"PK\x01\x02")  # the last part's central directory entry: its compressed size
    data = data[:at + 20] + struct.pack("<I", len(data)) + data[at + 24:]
    assert _refused(data) == parsing.MSG_NOT_A_WORKBOOK


# Permissions and the template ---------------------------------------------------------


def test_only_editors_may_import_or_download_the_template(operator_client, viewer_client, anon_client):
    data = csv_bytes([["", "A", "B", "c@uni.example", "", "", ""]])
    for client in (operator_client, viewer_client):
        response = post(client, data, dry_run=False)
        assert response.status_code == 403 and response.json()["message"] == MSG_PERMISSION_DENIED
        assert client.get(f"{URL}/template").status_code == 403
    assert post(anon_client, data).status_code == 401
    assert Student.objects.count() == 0


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_template_holds_the_header_and_reads_back(admin_client, file_format):
    response = admin_client.get(f"{URL}/template/", {"format": file_format})
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"] == f'attachment; filename="students_import_template.{file_format}"'
    content = response.content
    if file_format == "csv":
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert content.decode("utf-8-sig").strip() == ",".join(parsing.COLUMNS)
    else:
        sheet = load_workbook(io.BytesIO(content)).active
        assert [c.value for c in sheet[1]] == list(parsing.COLUMNS)
    # Filled in, it imports.
    assert post(admin_client, content).json()["errors"] == {"file": [parsing.MSG_NO_ROWS]}


def test_a_bad_template_format_is_400(admin_client):
    response = admin_client.get(f"{URL}/template", {"format": "pdf"})
    assert response.status_code == 400 and "format" in response.json()["errors"]


# Cost -----------------------------------------------------------------------------------


def _queries(client, rows, dry_run):
    with CaptureQueriesContext(connection) as queries:
        response = post(client, csv_bytes(rows), dry_run=dry_run)
    assert response.status_code == 200, response.json()
    return len(queries)


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_query_count_does_not_grow_with_the_rows(admin_client, mba, dry_run):
    existing = [StudentFactory(email=f"old{i}@uni.example", student_number=f"O-{i}") for i in range(250)]

    def rows(n, tag):
        new = [["", "New", f"N{i}", f"{tag}{i}@uni.example", "", "MBA", f"{tag}-{i}"] for i in range(n)]
        old = [[s.pk, s.first_name, f"{tag}-changed", s.email, "", "MBA", s.student_number] for s in existing[:n]]
        return new + old

    few = _queries(admin_client, rows(5, "a"), dry_run)
    many = _queries(admin_client, rows(250, "b"), dry_run)  # 500 rows
    assert few == many
    # Dry run: the request's 1 (the token); the programmes named; the students by
    # user_id, by student number and by email; current enrolments (with their codes).
    # Applying adds the savepoint and its release, the programmes' count locks, JIT turned off,
    # the INSERT of the new students and the UPDATE of the others (each computing the
    # maintained columns; no enrolment ends here, so no DELETE), the upsert's own savepoint and
    # release, the INSERT of the import's record (StudentImport) and of its one event. The COPYs
    # of enrolments, audit events, the students' events and the import's students
    # (ImportedStudent) pass beside Django's query log.
    assert many == (6 if dry_run else 16)



# The import's record: what the console's list filters on ------------------------------------


def test_an_applied_import_records_exactly_the_students_it_created_or_updated(admin_client, admin_user, mba):
    updated = StudentFactory(email="old@uni.example", student_number="O-1")
    unchanged = StudentFactory(email="same@uni.example", student_number="S-1", programmes=[mba])
    StudentFactory(email="bystander@uni.example")
    rows = [
        ["", "Ada", "Obi", "ada@uni.example", "", "MBA", "N-1"],
        ["", updated.first_name, "Changed", updated.email, "", "MBA", "O-1"],
        [unchanged.pk, unchanged.first_name, unchanged.last_name, unchanged.email, unchanged.status, "MBA", "S-1"],
    ]
    dry = post(admin_client, csv_bytes(rows), dry_run=True)
    assert dry.status_code == 200 and dry.json()["data"]["import_id"] is None
    assert not StudentImport.objects.exists()  # a dry run records nothing
    applied = post(admin_client, csv_bytes(rows), dry_run=False)
    assert applied.status_code == 200
    run = StudentImport.objects.get()
    assert applied.json()["data"]["import_id"] == run.pk
    assert (run.rows, run.created, run.updated, run.unchanged, run.written) == (3, 1, 1, 1, 2)
    assert run.actor_id == admin_user.pk and run.actor_email == admin_user.email and run.file_format == "csv"
    created = Student.objects.get(email="ada@uni.example")
    assert set(ImportedStudent.objects.values_list("student_id", "created")) == {(created.pk, True), (updated.pk, False)}
    # Its event names it.
    assert Event.objects.get(type="students.import_applied").subject_id == run.pk
    # The JSON list takes the same filter (the list's one FilterSet); without it, nothing changes.
    listed = admin_client.get("/v1/console/students/", {"imported": run.pk}).json()
    assert {row["student_email"] for row in listed["data"]} == {"ada@uni.example", "old@uni.example"}
    assert listed["total"] == 2
    assert admin_client.get("/v1/console/students/").json()["total"] == 4


def test_a_refused_apply_records_no_import(admin_client, mba):
    rows = [["", "Ada", "Obi", "ada@uni.example", "", "NOPE", ""]]
    assert post(admin_client, csv_bytes(rows), dry_run=False).status_code == 400
    assert not StudentImport.objects.exists() and not ImportedStudent.objects.exists()


def test_the_import_filter_holds_inside_another_query(admin_client, mba):
    StudentFactory(email="bystander@uni.example")
    rows = [["", "Ada", "Obi", "ada@uni.example", "", "MBA", "N-1"], ["", "Zoë", "Brontë", "zoe@uni.example", "", "", ""]]
    assert post(admin_client, csv_bytes(rows), dry_run=False).status_code == 200
    run = StudentImport.objects.get()
    filterset = student_list_filterset(QueryDict(f"imported={run.pk}"))
    # Its column is relabelled with the query it is nested in (a bulk action's "all matching").
    nested = Student.objects.filter(pk__in=filterset.qs.values("pk"))
    assert set(nested.values_list("email", flat=True)) == {"ada@uni.example", "zoe@uni.example"}
