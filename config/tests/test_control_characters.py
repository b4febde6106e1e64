"""Text a client writes holds no control character (config.text): every text field of the
API's bodies, the student import and session ingestion refuses one with a 400 in the envelope
naming the field, and changes nothing. Free text (a reason, a transcript, feedback) keeps its
tabs and line breaks. The console's forms and the XLSX files are
console/tests/test_control_characters.py."""
import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accounts.models import AuditEvent
from attempts.models import AttemptGrant, GradeReport, Session, TranscriptMessage
from catalogue.models import CaseStudy, Programme
from config.errors import MSG_VALIDATION, VALIDATION_ERROR
from config.query import normalise_text
from config.text import MSG_CONTROL_CHARACTER, MSG_CONTROL_CHARACTER_FREE_TEXT, forbidden_character_message, xml_safe
from console.exports.models import ExportJob
from students.imports import services as imports
from students.models import Cohort, Enrolment, Student, StudentCluster, StudentGroup
from testing.factories import (
    CaseStudyFactory,
    CohortFactory,
    ProgrammeFactory,
    StaffUserFactory,
    StudentClusterFactory,
    StudentFactory,
    StudentGroupFactory,
)

CTRL = "\u0001"
# Refused in any text: what XML 1.0 cannot hold, DEL and the C1 controls.
FORBIDDEN_EVERYWHERE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f", "\x7f", "\x85", "\x9f",
                        "\ud800", "\udfff", "\ufffe", "\uffff"]
LINE_BREAKS_AND_TABS = ["\t", "\n", "\r", "\r\n"]
# Not control characters, so text may hold them: no-break space, zero-width joiner, a
# right-to-left mark, a combining accent, an emoji, the replacement character.
ALLOWED = ["\u00a0", "\u200d", "\u200f", "e\u0301", "\U0001f600", "\ufffd"]
SID = "sess-ctl-1"


@pytest.fixture
def world():
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    case_study = CaseStudyFactory(title="Market entry", programmes=[mba])
    student = StudentFactory(first_name="Chidinma", last_name="Okafọr", email="chidinma@uni.example",
                             student_number="S-1", programmes=[mba])
    cohort = CohortFactory(name="Class of 2027")
    cluster = StudentClusterFactory(name="Banking")
    group = StudentGroupFactory(name="Group A", cluster=cluster)
    return {"programme": mba, "case_study": case_study, "student": student, "cohort": cohort, "cluster": cluster,
            "group": group}


def _snapshot():
    """Every row a refused write could have touched."""
    models = (Student, Enrolment, Programme, CaseStudy, Cohort, StudentCluster, StudentGroup, AttemptGrant, Session,
              TranscriptMessage, GradeReport, ExportJob, AuditEvent)
    return [list(model.objects.order_by("pk").values()) for model in models]


def _student(**change):
    return {"first_name": "Ada", "last_name": "Obi", "email": "ada.obi@uni.example", "programme_codes": ["MBA1234"],
            "student_number": "S-77", **change}


def _session(w, **change):
    body = {
        "user_id": w["student"].pk, "case_study_id": w["case_study"].pk, "status": "ended",
        "started_at": "2025-10-01T09:00:00Z", "ended_at": "2025-10-01T09:30:00Z", "transcript_status": "available",
        "grading_status": "complete",
        "transcript": [{"role": "student", "content": "Size the market first.", "timestamp": "2025-10-01T09:01:00Z"}],
        "grade": {"feedback": "Clear.", "criteria": [{"name": "Framing", "score": 20, "max_score": 25, "feedback": "Good."}]},
    }
    for key, value in change.items():  # "grade.criteria.0.name" reaches into the body
        *path, last = key.split(".")
        target = body
        for part in path:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value
    return body


# (method, path, body, field named by the 400) for every text field a client writes through
# the API: `t` is the text to put in the field.
WRITES = {
    "student create first_name": lambda w, t: ("post", "/v1/students", _student(first_name=f"Ada{t}"), "first_name"),
    "student create last_name": lambda w, t: ("post", "/v1/students", _student(last_name=f"O{t}bi"), "last_name"),
    "student create email": lambda w, t: ("post", "/v1/students", _student(email=f'"a{t}"@uni.example'), "email"),
    "student create student_number": lambda w, t: ("post", "/v1/students", _student(student_number=f"S{t}77"),
                                                   "student_number"),
    "student update first_name": lambda w, t: ("patch", f"/v1/students/{w['student'].pk}", {"first_name": f"C{t}"},
                                               "first_name"),
    "student update last_name": lambda w, t: ("patch", f"/v1/students/{w['student'].pk}", {"last_name": f"O{t}"},
                                              "last_name"),
    "student update email": lambda w, t: ("patch", f"/v1/students/{w['student'].pk}",
                                          {"email": f'"c{t}"@uni.example'}, "email"),
    "student update student_number": lambda w, t: ("patch", f"/v1/students/{w['student'].pk}",
                                                   {"student_number": f"S-{t}1"}, "student_number"),
    "programme create code": lambda w, t: ("post", "/v1/programmes", {"code": f"ECO{t}1", "name": "Economics"}, "code"),
    "programme create name": lambda w, t: ("post", "/v1/programmes", {"code": "ECO1", "name": f"Eco{t}nomics"}, "name"),
    "programme update name": lambda w, t: ("patch", "/v1/programmes/MBA1234", {"name": f"Masters{t}"}, "name"),
    "case study create title": lambda w, t: ("post", "/v1/case-studies",
                                             {"title": f"Pricing{t}", "programme_codes": ["MBA1234"]}, "title"),
    "case study create programme code": lambda w, t: ("post", "/v1/case-studies",
                                                      {"title": "Pricing", "programme_codes": [f"MBA{t}1234"]},
                                                      "programme_codes.0"),
    "case study update title": lambda w, t: ("patch", f"/v1/case-studies/{w['case_study'].pk}",
                                             {"title": f"Market{t} entry"}, "title"),
    "cohort create name": lambda w, t: ("post", "/v1/cohorts", {"name": f"Class{t} of 2028"}, "name"),
    "cohort update name": lambda w, t: ("patch", f"/v1/cohorts/{w['cohort'].pk}", {"name": f"Class{t}"}, "name"),
    "cluster create name": lambda w, t: ("post", "/v1/student-clusters", {"name": f"Fin{t}ance"}, "name"),
    "cluster update name": lambda w, t: ("patch", f"/v1/student-clusters/{w['cluster'].pk}", {"name": f"B{t}"},
                                         "name"),
    "group create name": lambda w, t: ("post", "/v1/student-groups",
                                       {"name": f"Group{t} B", "student_cluster_id": w["cluster"].pk}, "name"),
    "group update name": lambda w, t: ("patch", f"/v1/student-groups/{w['group'].pk}", {"name": f"G{t}"}, "name"),
    "background export search": lambda w, t: ("post", "/v1/console/exports",
                                              {"kind": "list", "format": "xlsx", "search": f"Ada{t}"}, "search"),
}
FREE_TEXT_WRITES = {
    "grant reason": lambda w, t: ("post", "/v1/console/attempts/grant",
                                  {"user_id": w["student"].pk, "case_study_id": w["case_study"].pk,
                                   "reason": f"Outage{t}"}, "reason"),
    "bulk grant reason": lambda w, t: ("post", "/v1/console/attempts/grant/bulk",
                                       {"user_ids": [w["student"].pk], "case_study_id": w["case_study"].pk,
                                        "reason": f"Outage{t}"}, "reason"),
    "session transcript content": lambda w, t: ("put", f"/v1/sessions/{SID}",
                                                _session(w, **{"transcript.0.content": f"Hello{t}"}),
                                                "transcript.0.content"),
    "session grade feedback": lambda w, t: ("put", f"/v1/sessions/{SID}", _session(w, **{"grade.feedback": f"Ok{t}"}),
                                            "grade.feedback"),
    "session criterion feedback": lambda w, t: ("put", f"/v1/sessions/{SID}",
                                                _session(w, **{"grade.criteria.0.feedback": f"Ok{t}"}),
                                                "grade.criteria.0.feedback"),
}
ONE_LINE_SESSION_WRITES = {
    "session criterion name": lambda w, t: ("put", f"/v1/sessions/{SID}",
                                            _session(w, **{"grade.criteria.0.name": f"Framing{t}"}),
                                            "grade.criteria.0.name"),
}


def _send(admin_client, ingest_client, write):
    method, path, body, field = write
    client = ingest_client if path.startswith("/v1/sessions") else admin_client
    # Sent as JSON text: a lone surrogate travels as its \ud800 escape, as a client would send it.
    return getattr(client, method)(path, json.dumps(body), content_type="application/json"), field


def _assert_refused(response, field, message):
    assert response.status_code == 400, response.content
    assert response.json() == {"success": False, "data": None, "message": MSG_VALIDATION, "code": VALIDATION_ERROR,
                               "errors": {field: [message]}}


@pytest.mark.parametrize("write", [*WRITES.values(), *ONE_LINE_SESSION_WRITES.values()],
                         ids=[*WRITES, *ONE_LINE_SESSION_WRITES])
def test_a_control_character_in_any_one_line_text_is_a_400_naming_the_field_and_changes_nothing(
    admin_client, ingest_client, world, write
):
    before = _snapshot()
    response, field = _send(admin_client, ingest_client, write(world, CTRL))
    _assert_refused(response, field, MSG_CONTROL_CHARACTER)
    assert _snapshot() == before


@pytest.mark.parametrize("write", FREE_TEXT_WRITES.values(), ids=FREE_TEXT_WRITES)
def test_a_control_character_in_free_text_is_a_400_naming_the_field_and_changes_nothing(
    admin_client, ingest_client, world, write
):
    before = _snapshot()
    response, field = _send(admin_client, ingest_client, write(world, CTRL))
    _assert_refused(response, field, MSG_CONTROL_CHARACTER_FREE_TEXT)
    assert _snapshot() == before


@pytest.mark.parametrize("char", FORBIDDEN_EVERYWHERE + LINE_BREAKS_AND_TABS)
def test_one_line_text_refuses_every_control_character_tabs_and_line_breaks_included(admin_client, world, char):
    response = admin_client.post("/v1/students", json.dumps(_student(first_name=f"Ada{char}Ngozi")),
                                 content_type="application/json")
    _assert_refused(response, "first_name", MSG_CONTROL_CHARACTER)
    assert not Student.objects.filter(email="ada.obi@uni.example").exists()


@pytest.mark.parametrize("char", FORBIDDEN_EVERYWHERE)
def test_free_text_refuses_every_control_character_but_tabs_and_line_breaks(admin_client, world, char):
    response, field = _send(admin_client, None, FREE_TEXT_WRITES["grant reason"](world, char))
    _assert_refused(response, field, MSG_CONTROL_CHARACTER_FREE_TEXT)
    assert not AttemptGrant.objects.exists()


def test_free_text_keeps_tabs_and_line_breaks(admin_client, ingest_client, world):
    response, _ = _send(admin_client, ingest_client, FREE_TEXT_WRITES["grant reason"](world, "\r\n\tsecond line"))
    assert response.status_code == 201, response.content
    assert AttemptGrant.objects.get().reason == "Outage\r\n\tsecond line"
    body = _session(world, **{"transcript.0.content": "First,\n\tthen", "grade.feedback": "Good.\r\nMore."})
    response = ingest_client.put(f"/v1/sessions/{SID}", body, format="json")
    assert response.status_code == 201, response.content
    assert TranscriptMessage.objects.get().content == "First,\n\tthen"
    assert GradeReport.objects.get().feedback == "Good.\r\nMore."


@pytest.mark.parametrize("char", ALLOWED)
def test_text_that_is_not_a_control_character_is_stored(admin_client, world, char):
    response = admin_client.post("/v1/students", _student(first_name=f"Ada{char}Ngozi"), format="json")
    assert response.status_code == 201, response.content
    assert Student.objects.get(email="ada.obi@uni.example").first_name == normalise_text(f"Ada{char}Ngozi")


def test_a_query_string_is_searched_not_refused(viewer_client, world):
    # The rule is for text a client writes; a search for a control character finds nothing.
    response = viewer_client.get("/v1/console/students", {"search": f"Chid{CTRL}"})
    assert response.status_code == 200 and response.json()["data"] == []


# The student import ---------------------------------------------------------------------------


IMPORT_COLUMNS = ["first_name", "last_name", "email", "student_number"]


def _import(client, rows, *, dry_run):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(IMPORT_COLUMNS)
    writer.writerows(rows)
    upload = SimpleUploadedFile("students.csv", out.getvalue().encode("utf-8"), content_type="text/csv")
    return client.post("/v1/students/import", {"file": upload, "dry_run": "true" if dry_run else "false"},
                       format="multipart")


@pytest.mark.parametrize("column", IMPORT_COLUMNS)
def test_an_imported_cell_with_a_control_character_is_refused_naming_its_row_and_column(admin_client, world, column):
    good = ["Kwame", "Mensah", "kwame@uni.example", "S-10"]
    bad = ["Ama", "Owusu", "ama@uni.example", "S-11"]
    index = IMPORT_COLUMNS.index(column)
    bad[index] = bad[index][:2] + CTRL + bad[index][2:]
    before = _snapshot()
    response = _import(admin_client, [good, bad], dry_run=False)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == VALIDATION_ERROR and body["message"] == imports.MSG_NOTHING_IMPORTED.format(count=1, s="")
    assert body["errors"] == {f"rows[3].{column}": [MSG_CONTROL_CHARACTER]}
    assert _snapshot() == before
    report = _import(admin_client, [good, bad], dry_run=True).json()["data"]
    assert [(row["action"], row["errors"]) for row in report["rows"]] == [
        ("created", None), ("rejected", {column: [MSG_CONTROL_CHARACTER]})
    ]


# Session ingestion ----------------------------------------------------------------------------


def test_a_session_line_with_a_control_character_is_rejected_by_import_sessions(tmp_path, world):
    path = tmp_path / "sessions.jsonl"
    lines = [json.dumps({"session_id": "ok-1", **_session(world)}),
             json.dumps({"session_id": "bad-1", **_session(world, **{"grade.criteria.0.name": f"Framing{CTRL}"})})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_sessions", str(path), "--tenant", "test", "--no-progress", stdout=out)
    assert "created 1, updated 0, unchanged 0, rejected 1" in out.getvalue()
    assert f"grade.criteria.0.name: {MSG_CONTROL_CHARACTER}" in out.getvalue()
    assert list(Session.objects.values_list("pk", flat=True)) == ["ok-1"]


# The rule itself ------------------------------------------------------------------------------


def test_only_control_characters_are_refused_and_only_what_xml_cannot_hold_is_stripped():
    for codepoint in [*range(0x3001), *range(0xD800, 0xE000), 0xFFFD, 0xFFFE, 0xFFFF, 0x1F600]:
        char = chr(codepoint)
        control = 0xD800 <= codepoint <= 0xDFFF or codepoint in (0xFFFE, 0xFFFF) or codepoint < 0x20 or 0x7F <= codepoint <= 0x9F
        xml_illegal = (codepoint < 0x20 and char not in "\t\n\r") or 0xD800 <= codepoint <= 0xDFFF or codepoint in (0xFFFE, 0xFFFF)
        assert (forbidden_character_message(char) is not None) == control, hex(codepoint)
        assert (forbidden_character_message(char, free_text=True) is not None) == (control and char not in "\t\n\r")
        assert xml_safe(f"a{char}b") == ("ab" if xml_illegal else f"a{char}b"), hex(codepoint)
    assert xml_safe(None) is None and xml_safe(42) == 42


def test_a_password_is_compared_as_typed_whatever_its_characters(anon_client):
    StaffUserFactory(email="tab@uni.example", password="pass\tword\u0001")
    response = anon_client.post("/v1/auth/token", {"email": "tab@uni.example", "password": "pass\tword\u0001"}, format="json")
    assert response.status_code == 201, response.json()
