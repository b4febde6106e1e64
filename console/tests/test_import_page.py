"""The console's Import page: check a file, read the report, apply it."""
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from console.imports import views
from console.imports.views import MSG_BAD_TOKEN
from students.imports import parsing
from students.imports.models import StudentImport
from students.models import Student
from testing.factories import ProgrammeFactory, StaffUserFactory, StudentFactory

PAGE = "/students/import/"
HEADER = b"first_name,last_name,email,programme_codes\r\n"


def upload(client, content, name="students.csv"):
    return client.post(PAGE, {"file": SimpleUploadedFile(name, content)})


def token_of(response):
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    return match.group(1) if match else None


@pytest.fixture(autouse=True)
def _no_kept_files(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    yield


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA", name="Master of Business Administration")


def test_editors_see_the_import_link_and_page_others_do_not(console_as, admin_user, operator_user, viewer_user):
    admin = console_as(admin_user)
    assert 'href="/students/import/"' in admin.get("/students/").content.decode()
    page = admin.get(PAGE)
    assert page.status_code == 200 and b"Template CSV" in page.content
    for user in (operator_user, viewer_user):
        client = console_as(user)
        assert 'href="/students/import/"' not in client.get("/students/").content.decode()
        assert client.get(PAGE).status_code == 403
        assert upload(client, HEADER + b"A,B,a@uni.example,\r\n").status_code == 403
    assert console_as().get(PAGE).status_code == 302
    assert Student.objects.count() == 0


def test_a_check_shows_the_report_rejected_rows_first_and_changes_nothing(console_as, admin_user, mba):
    StudentFactory(email="taken@uni.example")
    client = console_as(admin_user)
    response = upload(client, HEADER + b"Ada,Obi,ada@uni.example,MBA\r\nBad,Row,taken@UNI.example,NOPE\r\n")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Rejected" in html and "Programmes: Unknown programme code(s): NOPE." in html
    assert html.index("Rejected") < html.index(">New<")
    assert token_of(response) is None  # nothing to apply while a row is rejected
    assert Student.objects.count() == 1 and not AuditEvent.objects.exists()


def test_apply_imports_the_checked_file_and_audits_each_student(console_as, admin_user, mba):
    client = console_as(admin_user)
    response = upload(client, HEADER + b"Ada,Obi,ada@uni.example,MBA\r\nZo\xc3\xab,Bront\xc3\xab,zoe@uni.example,\r\n")
    token = token_of(response)
    assert token and "Apply: import 2 rows" in response.content.decode()
    assert not Student.objects.exists()
    response = client.post(PAGE, {"token": token}, follow=True)
    assert response.status_code == 200
    assert views.MSG_IMPORTED.format(rows=2, s="s", created=2, updated=0, unchanged=0) in response.content.decode()
    assert set(Student.objects.values_list("email", flat=True)) == {"ada@uni.example", "zoe@uni.example"}
    assert Student.objects.get(email="ada@uni.example").programme_label == mba.name
    events = AuditEvent.objects.filter(action="student.create")
    assert events.count() == 2 and {e.actor_id for e in events} == {admin_user.pk} and {e.via for e in events} == {"session"}
    # The kept file is gone: applying twice does nothing.
    again = client.post(PAGE, {"token": token})
    assert again.status_code == 400 and MSG_BAD_TOKEN in again.content.decode()
    assert Student.objects.count() == 2


def test_another_staff_members_token_names_no_file(console_as, admin_user, mba):
    token = token_of(upload(console_as(admin_user), HEADER + b"Ada,Obi,ada@uni.example,MBA\r\n"))
    colleague = StaffUserFactory(email="colleague@uni.example", roles=["admin"])
    response = console_as(colleague).post(PAGE, {"token": token})
    assert response.status_code == 400 and MSG_BAD_TOKEN in response.content.decode()
    for value in ("", "../../etc/passwd", "x" * 32, "a\x00b"):
        assert console_as(admin_user).post(PAGE, {"token": value}).status_code == 400
    assert not Student.objects.exists()


def test_a_file_over_the_size_limit_is_refused_naming_the_file(console_as, admin_user, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_BYTES", 64)
    response = upload(console_as(admin_user), HEADER + b"Ada,Obi,ada@uni.example,\r\n" * 4)
    assert response.status_code == 400 and parsing.MSG_TOO_LARGE in response.content.decode()
    assert token_of(response) is None and not Student.objects.exists()


def test_what_changed_since_the_check_is_seen_when_applying(console_as, admin_user, mba):
    client = console_as(admin_user)
    token = token_of(upload(client, HEADER + b"Ada,Obi,ada@uni.example,MBA\r\n"))
    StudentFactory(email="ada@uni.example", student_number="S-1")  # now it matches someone: an update
    token_two = token_of(upload(client, b"first_name,last_name,email,student_number\r\nAda,Obi,ada@uni.example,S-2\r\n"))
    StudentFactory(email="other@uni.example", student_number="S-2")  # S-2 is taken meanwhile
    response = client.post(PAGE, {"token": token_two})
    assert response.status_code == 400
    html = response.content.decode()
    # S-2 now matches the other student first, whose email this is not.
    assert "Why nothing was imported" in html and "Email: Another student already uses this email address." in html
    assert token != token_two
    assert Student.objects.get(email="ada@uni.example").student_number == "S-1"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00", parsing.MSG_NOT_CSV_OR_XLSX),
        (b"name,email\r\nA,a@uni.example\r\n", parsing.MSG_UNKNOWN_COLUMNS.format(names="\u201cname\u201d")),
        (HEADER, parsing.MSG_NO_ROWS),
    ],
)
def test_a_bad_file_is_explained_beside_the_field(console_as, admin_user, content, message):
    response = upload(console_as(admin_user), content)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and 'id="import-file-err"' in html
    from django.utils.html import escape

    assert escape(message) in html


def test_no_file_is_explained(console_as, admin_user):
    response = console_as(admin_user).post(PAGE, {})
    assert response.status_code == 400 and "Choose a CSV or Excel (.xlsx) file to check." in response.content.decode()


def test_the_report_lists_at_most_its_limit(console_as, admin_user, monkeypatch):
    monkeypatch.setattr(views, "SHOWN_ROWS", 3)
    rows = b"".join(b"A,B,p%d@uni.example,\r\n" % i for i in range(5))
    html = upload(console_as(admin_user), HEADER + rows).content.decode()
    assert html.count('data-label="Row"') == 3 and "and 2 more rows" in html


def test_the_progress_of_a_check_is_kept_for_its_page_and_user_only(console_as, admin_user):
    client = console_as(admin_user)
    progress_id = re.search(r'name="progress_id" value="([^"]+)"', client.get(PAGE).content.decode()).group(1)
    url = f"/students/import/progress/?id={progress_id}"
    assert client.get(url).json() == {"percent": None, "step": None}
    client.post(PAGE, {"file": SimpleUploadedFile("s.csv", HEADER + b"A,B,a@uni.example,\r\n"), "progress_id": progress_id})
    figure = client.get(url)
    assert figure.json() == {"percent": 100, "step": "checking"} and figure["Cache-Control"] == "private, no-store"
    colleague = StaffUserFactory(email="colleague@uni.example", roles=["admin"])
    assert console_as(colleague).get(url).json() == {"percent": None, "step": None}
    for value in ("", "../x", "x" * 5000):
        assert client.get("/students/import/progress/", {"id": value}).json()["percent"] is None
    assert client.get("/students/import/progress/", {"id": "a\x00b"}).status_code == 400  # NUL: refused early


def test_the_progress_of_an_apply_rises_to_the_end(console_as, admin_user, mba):
    from students.imports import services

    seen = []
    rows = b"".join(b"A,B,p%d@uni.example,MBA\r\n" % i for i in range(5))
    services.students_import(data=HEADER + rows, dry_run=False, progress=lambda f, step: seen.append((f, step)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1.0
    assert {step for _, step in seen} == {services.PROGRESS_CHECKING, services.PROGRESS_WRITING}


def test_a_file_checked_more_than_a_day_ago_is_not_applied_and_is_cleared(console_as, admin_user, mba, monkeypatch):
    client = console_as(admin_user)
    token = token_of(upload(client, HEADER + b"Ada,Obi,ada@uni.example,MBA\r\n"))
    colleague = StaffUserFactory(email="colleague@uni.example", roles=["admin"])
    monkeypatch.setattr(views, "KEEP_SECONDS", -1)  # every kept file is now stale
    response = client.post(PAGE, {"token": token})
    assert response.status_code == 400 and MSG_BAD_TOKEN in response.content.decode()
    assert not Student.objects.exists()
    upload(console_as(colleague), HEADER + b"Zoe,B,zoe@uni.example,\r\n")  # clears the stale one
    from django.core.files.storage import default_storage

    assert not default_storage.exists(views._kept_name(admin_user, token))


# The report names each row's student; the applied import lists its students -----------------


def test_the_report_names_each_rows_student(console_as, admin_user, mba):
    StudentFactory(first_name="Chidinma", last_name="Okafọr", email="chidinma@uni.example")
    client = console_as(admin_user)
    content = (
        HEADER
        + "Ada,Obi,ada@uni.example,MBA\r\n".encode()
        + "Changed,Name,chidinma@uni.example,MBA\r\n".encode()
        + "Zoë,Brontë,not-an-email,MBA\r\n".encode()
    )
    html = upload(client, content).content.decode()
    report = html[html.index('id="import-report"'):]
    assert "Student —" not in report
    # A new row: its name and email from the file; an update: the record's name, linked.
    assert "Ada Obi" in report and "ada@uni.example" in report
    assert re.search(r'<a href="/students/[^"]+/">Chidinma Okafọr</a>', report)
    assert "Changed Name" not in report
    # A refused row is named by its cells all the same.
    assert "Zoë Brontë" in report and "not-an-email" in report


def _apply(client, content):
    token = token_of(upload(client, content))
    assert token
    return client.post(PAGE, {"token": token})


def test_after_applying_one_link_lists_exactly_the_students_created_or_updated(
    console_as, admin_user, mba, django_assert_num_queries
):
    StudentFactory(first_name="Kept", last_name="Asis", email="kept@uni.example", programmes=[mba])
    StudentFactory(first_name="Old", last_name="Name", email="old@uni.example", programmes=[mba])
    StudentFactory(first_name="Bystander", last_name="Elsewhere", email="other@uni.example")
    client = console_as(admin_user)
    earlier = _apply(client, HEADER + b"Earlier,Import,earlier@uni.example,MBA\r\n")
    assert earlier.status_code == 302
    content = HEADER + (
        "Ada,Obi,ada@uni.example,MBA\r\n"
        "Zoë,Brontë,zoe@uni.example,\r\n"
        "New,Name,old@uni.example,MBA\r\n"
        "Kept,Asis,kept@uni.example,MBA\r\n"
    ).encode()
    response = _apply(client, content)
    assert response.status_code == 302
    page = client.get(response["Location"])
    html = page.content.decode()
    run = page.context["applied"]
    assert (run.created, run.updated, run.unchanged) == (2, 1, 1)
    link = f'href="/students/?imported={run.pk}"'
    assert link in html and "Show the 3 students it created or updated" in html

    client.get(f"/students/?imported={run.pk}")  # warm the session
    # Session, staff user with roles (one statement); the matching keys with their count, the page rows with their
    # programmes; advisor, cohort and group options (one statement); the import (its actor
    # joined); programme options with their case-study options.
    with django_assert_num_queries(7):
        listed = client.get(f"/students/?imported={run.pk}")
    emails = {row.email for row in listed.context["rows"]}
    assert emails == {"ada@uni.example", "zoe@uni.example", "old@uni.example"}
    assert listed.context["total"] == run.created + run.updated == 3
    html = listed.content.decode()
    assert "Imported on" in html and f"by {admin_user.full_name or admin_user.email}" in html
    assert "3 students</strong> created or updated" in html
    # It is said above the list, not counted among the filters behind the bar's disclosure.
    assert listed.context["listing"].active_filters == 0 and "1 active" not in html
    # It can be cleared: the link leads to the list without the filter.
    assert '<a class="btn btn-sm" href="?">Clear<' in html
    assert client.get("/students/").context["total"] == 6
    # The filter bar keeps it: applying another filter narrows the import's students.
    assert f'<input type="hidden" name="imported" value="{run.pk}">' in html
    narrowed = client.get("/students/", {"imported": run.pk, "search": "zoe"})
    assert [row.email for row in narrowed.context["rows"]] == ["zoe@uni.example"]


def test_the_import_filter_is_the_lists_own_in_the_export(console_as, admin_user, mba):
    client = console_as(admin_user)
    StudentFactory(email="bystander@uni.example")
    _apply(client, HEADER + b"Ada,Obi,ada@uni.example,MBA\r\n")
    assert client.get(PAGE + "?applied=x").context["applied"] is None  # an unknown id names no import
    run = StudentImport.objects.get()
    export = client.get(f"/v1/console/students/export?format=csv&imported={run.pk}")
    assert export.status_code == 200
    body = b"".join(export.streaming_content).decode()
    assert "ada@uni.example" in body and "bystander@uni.example" not in body


@pytest.mark.parametrize("value", ["not an id!", "x" * 65])
def test_a_bad_import_id_is_said_beside_the_list_and_lists_nobody(console_as, admin_user, value):
    StudentFactory()
    response = console_as(admin_user).get("/students/", {"imported": value})
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "That is not an import&#x27;s id" in response.content.decode()
