"""Students' data rights on a student's page: "Download data (ZIP)", the erasure form (reason,
confirmation, refused under a legal hold), and the legal hold on the record's edit page; for
data-rights managers (admins) only, through the services the API calls."""
import io
import json
import zipfile

import pytest

from accounts.models import AuditEvent
from attempts.data_rights.services import MSG_ERASE_REASON_REQUIRED
from console.data_rights.forms import MSG_ERASE_CONFIRM
from console.data_rights.views import MSG_ERASED
from students.models import Student
from students.records.services import MSG_ALREADY_ERASED, MSG_LEGAL_HOLD, erased_pseudonym
from testing.factories import ProgrammeFactory, SessionFactory, StudentFactory, TranscriptMessageFactory


@pytest.fixture
def student():
    student = StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@uni.example", programmes=[ProgrammeFactory()])
    session = SessionFactory(student=student, score=70, grading_status="complete")
    TranscriptMessageFactory(session=session, content="I am Zoë from Lagos.")
    return student


def _page(client, student):
    response = client.get(f"/students/{student.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_admins_see_the_download_link_and_the_erase_form(console_as, admin_user, student):
    page = _page(console_as(admin_user), student)
    assert f'href="/students/{student.pk}/data-export/"' in page and "Download data (ZIP)" in page
    assert f'action="/students/{student.pk}/erase/"' in page
    assert '<label for="erase-reason">Reason' in page and 'name="confirm"' in page


@pytest.mark.parametrize("user_fixture", ["viewer_user", "operator_user"])
def test_others_see_neither_and_are_refused_both(request, console_as, student, user_fixture):
    client = console_as(request.getfixturevalue(user_fixture))
    page = _page(client, student)
    assert "Download data" not in page and "erase" not in page.lower().replace("erased", "")
    assert client.get(f"/students/{student.pk}/data-export/").status_code == 403
    assert client.post(f"/students/{student.pk}/erase/", {"reason": "x", "confirm": "on"}).status_code == 403
    assert Student.objects.get(pk=student.pk).erased_at is None


def test_download_gives_the_zip_and_is_audited(console_as, admin_user, student):
    response = console_as(admin_user).get(f"/students/{student.pk}/data-export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert json.loads(archive.read("student.json"))["student"]["email"] == "zoe@uni.example"
    assert AuditEvent.objects.filter(action="student.data_export", target_id=student.pk, actor_id=admin_user.pk).exists()


def test_download_of_an_unknown_student_is_the_404_page(console_as, admin_user):
    assert console_as(admin_user).get("/students/5f0000000000000000000000/data-export/").status_code == 404


def test_erasure_posts_then_redirects_to_the_page_saying_so(console_as, admin_user, student):
    client = console_as(admin_user)
    response = client.post(f"/students/{student.pk}/erase/", {"reason": "The student's request", "confirm": "on"}, follow=True)
    assert response.redirect_chain == [(f"/students/{student.pk}/", 302)]
    page = response.content.decode()
    pseudonym = erased_pseudonym(student.pk)
    name = f"{pseudonym['first_name']} {pseudonym['last_name']}"
    assert MSG_ERASED.format(pseudonym=name).replace("’", "&#x27;") in page or MSG_ERASED.format(pseudonym=name) in page
    assert "Zoë" not in page and "zoe@uni.example" not in page
    assert "Personal data erased" in page and 'action="/students/' not in page.split("Data rights", 1)[1].split("</section>", 1)[0]
    assert AuditEvent.objects.get(action="student.erase").detail["reason"] == "The student's request"


@pytest.mark.parametrize("body, field_error", [
    ({"reason": "  ", "confirm": "on"}, MSG_ERASE_REASON_REQUIRED),
    ({"reason": "The student's request"}, MSG_ERASE_CONFIRM),
])
def test_a_refused_erasure_shows_the_page_again_with_its_error_and_changes_nothing(console_as, admin_user, student, body, field_error):
    response = console_as(admin_user).post(f"/students/{student.pk}/erase/", body)
    assert response.status_code == 400
    page = response.content.decode()
    assert field_error.replace("'", "&#x27;") in page or field_error in page
    assert 'aria-invalid="true"' in page
    assert Student.objects.get(pk=student.pk).erased_at is None


def test_under_a_legal_hold_the_page_says_so_and_erasure_is_refused(console_as, admin_user, student):
    client = console_as(admin_user)
    Student.objects.filter(pk=student.pk).update(legal_hold=True)
    page = _page(client, student)
    assert "Legal hold" in page and "under a legal hold" in page
    response = client.post(f"/students/{student.pk}/erase/", {"reason": "The student's request", "confirm": "on"})
    assert response.status_code == 409
    assert MSG_LEGAL_HOLD.replace("'", "&#x27;") in response.content.decode()
    assert Student.objects.get(pk=student.pk).first_name == "Zoë"
    # The refused form was drawn at the erase address: reloading it leads to the student, not a 405.
    reloaded = client.get(f"/students/{student.pk}/erase/")
    assert reloaded.status_code == 302 and reloaded["Location"] == f"/students/{student.pk}/"
    assert Student.objects.get(pk=student.pk).first_name == "Zoë"


def test_a_second_erasure_from_a_stale_page_is_refused(console_as, admin_user, student):
    client = console_as(admin_user)
    client.post(f"/students/{student.pk}/erase/", {"reason": "Request", "confirm": "on"})
    response = client.post(f"/students/{student.pk}/erase/", {"reason": "Request", "confirm": "on"})
    assert response.status_code == 409 and MSG_ALREADY_ERASED.replace("'", "&#x27;") in response.content.decode()


def test_the_edit_page_sets_and_lifts_the_legal_hold_audited(console_as, admin_user, student):
    client = console_as(admin_user)
    page = client.get(f"/students/{student.pk}/edit/").content.decode()
    assert 'name="legal_hold"' in page and "Legal hold" in page
    body = {"first_name": "Zoë", "last_name": "Brontë", "email": "zoe@uni.example", "status": "active",
            "programmes": [p.code for p in student.programmes.all()], "legal_hold": "on"}
    assert client.post(f"/students/{student.pk}/edit/", body).status_code == 302
    assert Student.objects.get(pk=student.pk).legal_hold is True
    assert AuditEvent.objects.filter(action="student.update").latest("id").changes == {"legal_hold": [False, True]}
    del body["legal_hold"]
    client.post(f"/students/{student.pk}/edit/", body)
    assert Student.objects.get(pk=student.pk).legal_hold is False


def test_record_editors_without_data_rights_neither_see_nor_change_the_hold(console_as, student):
    from testing.factories import StaffUserFactory

    editor = StaffUserFactory(roles=[])
    editor.roles.create(name="records-editor", permissions=["USER_MANAGEMENT.can_view", "USER_MANAGEMENT.can_edit"])
    Student.objects.filter(pk=student.pk).update(legal_hold=True)
    client = console_as(editor)
    assert 'name="legal_hold"' not in client.get(f"/students/{student.pk}/edit/").content.decode()
    body = {"first_name": "Zoë", "last_name": "Brontë", "email": "zoe@uni.example", "status": "active",
            "programmes": [p.code for p in student.programmes.all()]}
    assert client.post(f"/students/{student.pk}/edit/", body).status_code == 302
    assert Student.objects.get(pk=student.pk).legal_hold is True  # kept, not cleared by the missing box


def test_an_erased_transcript_says_its_text_was_erased(console_as, admin_user, student):
    session = student.sessions.get()
    client = console_as(admin_user)
    client.post(f"/students/{student.pk}/erase/", {"reason": "Request", "confirm": "on"})
    page = client.get(f"/attempts/{session.pk}/").content.decode()
    assert "Erased with the student’s personal data." in page and "from Lagos" not in page
