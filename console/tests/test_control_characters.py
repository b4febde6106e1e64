"""Control characters in the console (config.text): its forms refuse them beside the field and
change nothing, and rows that hold them already (stored before text was checked) still give
every XLSX file, without them: the list export, the gradebook and the background exports.
The API, the import and ingestion are config/tests/test_control_characters.py."""
import io

import openpyxl
import pytest

from accounts.models import AuditEvent
from attempts.models import AttemptGrant
from catalogue.models import CaseStudy, Programme
from config.text import MSG_CONTROL_CHARACTER, MSG_CONTROL_CHARACTER_FREE_TEXT
from console.exports import services as background
from console.exports.models import ExportJob
from students.models import Cohort, Student
from testing.factories import CaseStudyFactory, CohortFactory, ProgrammeFactory, SessionFactory, StudentFactory
from testing.jobs import run_jobs

CTRL = "\u0001"


@pytest.fixture
def world(admin_user):
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    case_study = CaseStudyFactory(title="Market entry", programmes=[mba])
    student = StudentFactory(first_name="Chidinma", last_name="Okafọr", email="chidinma@uni.example",
                             student_number="S-1", programmes=[mba])
    cohort = CohortFactory(name="Class of 2027")
    return {"programme": mba, "case_study": case_study, "student": student, "cohort": cohort, "advisor": admin_user}


def _snapshot():
    return [list(model.objects.order_by("pk").values()) for model in (Student, Cohort, AttemptGrant, AuditEvent)]


def _record(w, **change):
    body = {"first_name": "Ada", "last_name": "Obi", "email": "ada.obi@uni.example", "student_number": "S-77",
            "status": "active", "cohort": w["cohort"].pk, "advisor": str(w["advisor"].pk),
            "programmes": [w["programme"].code]}
    return {**body, **change}


# The forms ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, text", [("first_name", f"A{CTRL}da"), ("last_name", f"O{CTRL}bi"),
                                         ("email", f'"ada{CTRL}"@uni.example'), ("student_number", f"S-{CTRL}77")])
@pytest.mark.parametrize("page", ["new", "edit"])
def test_a_record_form_refuses_a_control_character_beside_its_field(console_as, admin_user, world, field, text, page):
    url = "/students/new/" if page == "new" else f"/students/{world['student'].pk}/edit/"
    before = _snapshot()
    response = console_as(admin_user).post(url, _record(world, **{field: text}))
    assert response.status_code == 400
    assert MSG_CONTROL_CHARACTER in response.context["form"].errors[field]
    assert f'id="id_{field}-err"' in response.content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize("action", ["create", "rename"])
def test_the_cohort_form_refuses_a_control_character(console_as, admin_user, world, action):
    before = _snapshot()
    response = console_as(admin_user).post("/cohorts/", {"action": action, "cohort": world["cohort"].pk,
                                                         "name": f"Class{CTRL} of 2028"})
    assert response.status_code == 400 and MSG_CONTROL_CHARACTER in response.content.decode()
    assert _snapshot() == before


def test_the_grant_forms_refuse_a_control_character_in_the_reason_but_keep_its_line_breaks(
    console_as, operator_user, world
):
    client = console_as(operator_user)
    student, case_study = world["student"], world["case_study"]
    SessionFactory(student=student, case_study=case_study)  # the student page's card holds the grant form
    before = _snapshot()
    grant = {"action": "grant", "case_study": case_study.pk, "attempts": "1", "reason": f"Outage{CTRL}"}
    response = client.post(f"/students/{student.pk}/attempts/", grant)
    assert response.status_code == 400
    assert response.context["panels"][0]["grant"].errors["reason"] == [MSG_CONTROL_CHARACTER_FREE_TEXT]
    bulk = {"user_ids": [student.pk], "case_study": case_study.pk, "attempts": "1", "reason": f"Outage{CTRL}"}
    response = client.post("/students/", bulk)
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["reason"] == [MSG_CONTROL_CHARACTER_FREE_TEXT]
    assert _snapshot() == before
    response = client.post(f"/students/{student.pk}/attempts/", {**grant, "reason": "Outage on 3 June\r\n\tsecond line"})
    assert response.status_code == 302
    assert AttemptGrant.objects.get().reason == "Outage on 3 June\r\n\tsecond line"


# The files ------------------------------------------------------------------------------------


@pytest.fixture
def stored_before_the_rule(world):
    """Control characters written straight into the database, past every check of input."""
    mba, case_study, student = world["programme"], world["case_study"], world["student"]
    SessionFactory(student=student, case_study=case_study, score=80, grading_status="complete")
    Programme.objects.filter(pk=mba.pk).update(code="MBA\x021234", name="Masters\x01 in Business\uffff Administration")
    CaseStudy.objects.filter(pk=case_study.pk).update(title="Market\x03 entry\ufffe")
    Student.objects.filter(pk=student.pk).update(
        first_name="Chi\x01dinma", last_name="Oka\x0bfọr\x1f", email="chidinma\x08@uni.example", student_number="S-\x0c1"
    )
    student.refresh_from_db()
    assert student.programme_label == "Masters\x01 in Business\uffff Administration"  # the label's trigger ran
    return world


CLEAN_ROW = ["Chidinma Okafọr", "chidinma@uni.example"]
PROGRAMME = "Masters in Business Administration"


def _workbook(raw):
    return openpyxl.load_workbook(io.BytesIO(raw))


def _body(response):
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    return b"".join(response.streaming_content)


def test_the_list_export_opens_without_the_characters_xml_cannot_hold(operator_client, stored_before_the_rule):
    response = operator_client.get("/v1/console/students/export", {"format": "xlsx"})
    rows = list(_workbook(_body(response))["Students"].values)
    assert list(rows[1][:3]) == [*CLEAN_ROW, PROGRAMME]


@pytest.mark.parametrize("sheet_per_programme", ["false", "true"])
def test_the_gradebook_opens_without_the_characters_xml_cannot_hold(
    operator_client, stored_before_the_rule, sheet_per_programme
):
    params = {"format": "xlsx", "sheet_per_programme": sheet_per_programme}
    workbook = _workbook(_body(operator_client.get("/v1/console/reports/gradebook", params)))
    expected_sheet = "MBA1234 Masters in Business Adm" if sheet_per_programme == "true" else "Gradebook"
    assert workbook.sheetnames == [expected_sheet]
    header, row = list(workbook[expected_sheet].values)[:2]
    assert header[5] == "Market entry: Attempts Used"
    assert list(row[:4]) == [*CLEAN_ROW, "S-1", PROGRAMME]


@pytest.mark.parametrize("kind", ["list", "gradebook"])
def test_a_background_export_to_xlsx_is_done_and_opens(operator_client, stored_before_the_rule, kind):
    response = operator_client.post("/v1/console/exports", {"kind": kind, "format": "xlsx",
                                                            "sheet_per_programme": kind == "gradebook"}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["data"]["id"]
    assert run_jobs(background.RUN_TASK) == 1
    assert ExportJob.objects.get(pk=job_id).state == ExportJob.State.DONE
    workbook = _workbook(_body(operator_client.get(f"/v1/console/exports/{job_id}/file")))
    assert list(list(workbook.worksheets[0].values)[1][:2]) == CLEAN_ROW
