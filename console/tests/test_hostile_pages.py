"""Every console page, walked with hostile values in its path ids, its query parameters and
its form fields: a page (200, a redirect, or a 4xx page), never a 500 (issue: no input breaks
a page). The JSON API's own walk is config/tests/test_hostile_input.py."""
import pytest

from attempts.models import AttemptGrant
from console.exports.models import ExportJob
from testing.factories import (
    CaseStudyFactory,
    ProgrammeFactory,
    SessionFactory,
    StudentClusterFactory,
    StudentFactory,
    StudentGroupFactory,
)

HOSTILE = [
    "a\x00b",
    "x" * 10_000,
    "'",
    "%",
    "_",
    "\\",
    "O'Brien%_\\",
    "\u202eevil\u202c",  # right-to-left override
    "\u05e9\u05dc\u05d5\u05dd",  # Hebrew
    "e\u0301\u0301\u0301",  # combining accents
    "\U0001f600",  # emoji
    "-1",
    "99999999999999999999999",
    "2026-02-30",
    " ",
    "",
]
QUERY_PARAMETERS = [
    "id", "search", "programme", "status", "start_date", "end_date", "sort_by", "sort_order", "page", "page_size",
    "q", "cluster", "ordering", "include_archived", "state", "grading", "case_study",
]


@pytest.fixture
def world(admin_user):
    programme = ProgrammeFactory(code="MBA")
    case_study = CaseStudyFactory(programmes=[programme])
    student = StudentFactory(programmes=[programme])
    session = SessionFactory(student=student, case_study=case_study)
    group = StudentGroupFactory(cluster=StudentClusterFactory())
    export = ExportJob.objects.create(
        tenant_schema="test", requested_by=admin_user, kind="list", file_format="csv"
    )
    return {"student": student, "case_study": case_study, "session": session, "group": group, "export": export}


def _pages(w):
    return [
        "/",
        "/students/",
        "/students/import/",
        "/students/import/progress/",
        f"/students/{w['student'].pk}/",
        f"/attempts/{w['session'].pk}/",
        "/dashboard/",
        "/groups/",
        f"/groups/{w['group'].pk}/",
        "/case-studies/",
        f"/case-studies/{w['case_study'].pk}/",
        f"/case-studies/{w['case_study'].pk}/participants/",
        "/students/new/",
        f"/students/{w['student'].pk}/edit/",
        "/cohorts/",
        "/exports/",
        f"/exports/{w['export'].pk}/",
    ]


def _ok(response, what):
    assert response.status_code < 500, (what, response.status_code)


def test_every_page_with_hostile_query_parameters(console_as, admin_user, world):
    client = console_as(admin_user)
    for path in _pages(world):
        for name in QUERY_PARAMETERS:
            for value in HOSTILE:
                _ok(client.get(path, {name: value}), (path, name, value[:20]))


def test_every_path_id_hostile(console_as, admin_user, world):
    client = console_as(admin_user)
    for value in HOSTILE:
        if not value.strip() or value in ("%", "\\"):
            continue  # not a path segment a URL can carry as such
        for template in ("/students/{}/", "/students/{}/edit/", "/attempts/{}/", "/groups/{}/", "/case-studies/{}/",
                         "/case-studies/{}/participants/", "/exports/{}/"):
            path = template.format(value)
            response = client.get(path)
            _ok(response, (template, value[:20]))
            assert response.status_code in (200, 400, 404), (template, value[:20], response.status_code)


def test_every_form_field_hostile(console_as, admin_user, world):
    client = console_as(admin_user)
    student, case_study = world["student"], world["case_study"]
    grant = {"action": "grant", "case_study": case_study.pk, "attempts": "1", "reason": "Outage"}
    bulk = {"user_ids": [student.pk], "case_study": case_study.pk, "attempts": "1", "reason": "Outage"}
    for value in HOSTILE:
        for field in grant:
            _ok(client.post(f"/students/{student.pk}/attempts/", {**grant, field: value}), ("grant", field, value[:20]))
        for field in bulk:
            _ok(client.post("/students/", {**bulk, field: value}), ("bulk", field, value[:20]))
        _ok(client.post("/students/", {**bulk, "user_ids": [student.pk, value]}), ("bulk ids", value[:20]))
        _ok(client.post("/students/import/", {"token": value}), ("import token", value[:20]))
        _ok(client.post("/students/import/", {"file": value}), ("import file as text", value[:20]))
        for field in ("kind", "format", "search", "programme", "sort_by", "start_date", "case_study"):
            background = {"kind": "gradebook", "format": "csv", field: value}
            _ok(client.post("/exports/", background), ("background export", field, value[:20]))
    # Values that are valid (an apostrophe, Hebrew, an emoji) were granted as given; nothing
    # malformed was stored.
    reasons = set(AttemptGrant.objects.values_list("reason", flat=True))
    assert reasons <= {"Outage", *HOSTILE} and "a\x00b" not in reasons and "x" * 10_000 not in reasons
    assert "\U0001f600" in reasons


def test_sign_in_with_hostile_values(console_as, world):
    client = console_as()
    for value in HOSTILE:
        for field in ("username", "password"):
            body = {"username": "ops@uni.example", "password": "x", field: value}
            _ok(client.post("/login/", body), ("login", field, value[:20]))
        _ok(client.get("/login/", {"next": value}), ("login next", value[:20]))


def test_every_record_cohort_and_bulk_action_field_hostile(console_as, admin_user, world):
    client = console_as(admin_user)
    student, case_study, group = world["student"], world["case_study"], world["group"]
    record = {
        "first_name": "Ada", "last_name": "Obi", "email": "ada.obi@uni.example", "student_number": "",
        "status": "active", "cohort": "", "advisor": "", "programmes": ["MBA"],
    }
    forms = {
        "/students/new/": record,
        f"/students/{student.pk}/edit/": {**record, "email": student.email},
        f"/students/{student.pk}/archive/": {"archive_as": "withdrawn", "archive_on": "2026-01-05"},
        f"/students/{student.pk}/avatar/": {"action": "upload"},
        "/cohorts/": {"action": "create", "name": "Class of 2030", "cohort": ""},
        "/students/": {"action": "revoke", "user_ids": [student.pk], "case_study": case_study.pk, "attempts": "1",
                       "reason": "x", "archive_as": "withdrawn", "archive_on": "2026-01-05", "group": group.pk,
                       "scope": "ticked"},
    }
    for value in HOSTILE:
        for path, body in forms.items():
            for field in body:
                _ok(client.post(path, {**body, field: value}), (path, field, value[:20]))
        for action in ("grant", "revoke", "archive", "unarchive", "group_add", "group_remove"):
            body = {**forms["/students/"], "action": action}
            for field in ("group", "archive_on", "archive_as", "case_study", "scope"):
                _ok(client.post("/students/", {**body, field: value}), (action, field, value[:20]))
        _ok(client.post(f"/students/{student.pk}/unarchive/", {"x": value}), ("unarchive", value[:20]))
        _ok(client.post("/cohorts/", {"action": "delete", "cohort": value}), ("cohort delete", value[:20]))
        _ok(client.post("/cohorts/", {"action": "rename", "cohort": value, "name": value}), ("cohort rename", value[:20]))
