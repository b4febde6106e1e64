"""Student records in the console: create, edit, archive, unarchive, photo; through the records
services (so audited as the API is), field errors beside the fields, only for record editors."""
import io
import shutil

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import AuditEvent
from console.records import forms, views
from students.models import Student
from students.records.services import MSG_AVATAR_NOT_IMAGE, MSG_EMAIL_TAKEN, MSG_STUDENT_NUMBER_TAKEN
from testing.factories import CohortFactory, ProgrammeFactory, StudentFactory


@pytest.fixture(autouse=True)
def _clean_media():
    yield
    shutil.rmtree(settings.MEDIA_ROOT / "avatars", ignore_errors=True)


@pytest.fixture
def choices(admin_user):
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    msc = ProgrammeFactory(code="MSC2001", name="MSc Public Policy")
    cohort = CohortFactory(name="Class of 2027")
    return mba, msc, cohort, admin_user


def _body(choices, **change):
    mba, msc, cohort, advisor = choices
    body = {
        "first_name": "Chidinma", "last_name": "Okafọr", "email": "chidinma@uni.example", "student_number": "S-0042",
        "status": "active", "cohort": cohort.pk, "advisor": str(advisor.pk), "programmes": [mba.code, msc.code],
    }
    body.update(change)
    return {k: v for k, v in body.items() if v is not None}


def test_new_student_form_creates_through_the_service_and_is_audited(console_as, admin_user, choices):
    client = console_as(admin_user)
    page = client.get("/students/new/").content.decode()
    assert '<label for="id_first_name">First name</label>' in page and 'name="programmes" value="MBA1234"' in page
    response = client.post("/students/new/", _body(choices), follow=True)
    student = Student.objects.get(email="chidinma@uni.example")
    assert response.redirect_chain == [(f"/students/{student.pk}/", 302)]
    assert "Added Chidinma Okafọr." in response.content.decode()
    assert student.cohort.name == "Class of 2027" and student.advisor_id == admin_user.pk
    assert student.student_number == "S-0042" and student.programme_label == "Masters in Business Administration, MSc Public Policy"
    event = AuditEvent.objects.get(action="student.create")
    assert event.target_id == student.pk and event.actor_id == admin_user.pk


def test_the_list_offers_new_student_only_to_record_editors(console_as, admin_user, operator_user):
    assert "New student" in console_as(admin_user).get("/students/").content.decode()
    assert "New student" not in console_as(operator_user).get("/students/").content.decode()


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"first_name": ""}, "first_name", forms.MSG_FIRST_NAME_REQUIRED),
        ({"email": "not-an-email"}, "email", forms.MSG_EMAIL_INVALID),
        ({"cohort": "abcdef0123456789abcdef01"}, "cohort", forms.MSG_CHOOSE_FROM_LIST),
        ({"advisor": "999999"}, "advisor", forms.MSG_CHOOSE_FROM_LIST),
        ({"programmes": ["NOPE1"]}, "programmes", forms.MSG_CHOOSE_FROM_LIST),
        ({"status": "expelled"}, "status", forms.MSG_CHOOSE_FROM_LIST),
        ({"last_name": "x" * 151}, "last_name", "Keep it to 150 characters or fewer."),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_kept(console_as, admin_user, choices, change, field, message):
    response = console_as(admin_user).post("/students/new/", _body(choices, **change))
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    html = response.content.decode()
    assert f'aria-describedby="id_{field}-err"' in html and f'id="id_{field}-err"' in html
    assert 'value="S-0042"' in html  # the rest of the input is kept
    assert not Student.objects.exists()


def test_a_taken_email_or_student_number_is_the_services_refusal_beside_the_field(console_as, admin_user, choices):
    StudentFactory(email="chidinma@uni.example")
    response = console_as(admin_user).post("/students/new/", _body(choices))
    assert response.status_code == 400 and response.context["form"].errors["email"] == [MSG_EMAIL_TAKEN]
    StudentFactory(student_number="S-0042")
    response = console_as(admin_user).post("/students/new/", _body(choices, email="other@uni.example"))
    assert response.context["form"].errors["student_number"] == [MSG_STUDENT_NUMBER_TAKEN]
    assert Student.objects.count() == 2 and not AuditEvent.objects.exists()


def test_edit_shows_the_record_and_saves_changes_through_the_service(console_as, admin_user, choices):
    mba, msc, cohort, _ = choices
    student = StudentFactory(first_name="Zoe", last_name="Bronte", programmes=[mba])
    client = console_as(admin_user)
    page = client.get(f"/students/{student.pk}/edit/").content.decode()
    assert 'value="Zoe"' in page and 'name="programmes" value="MBA1234" checked' in page
    body = _body(choices, first_name="Zoë", last_name="Brontë", email=student.email, cohort="", advisor="",
                 programmes=[msc.code], status="inactive")
    response = client.post(f"/students/{student.pk}/edit/", body, follow=True)
    assert "Saved the changes to Zoë Brontë’s record." in response.content.decode()
    student.refresh_from_db()
    assert (student.first_name, student.status, student.cohort_id, student.programme_label) == (
        "Zoë", "inactive", None, "MSc Public Policy")
    event = AuditEvent.objects.get(action="student.update")
    assert event.changes["first_name"] == ["Zoe", "Zoë"] and event.via == "session"


def test_archive_and_unarchive_from_the_student_page(console_as, admin_user):
    student = StudentFactory(first_name="Amara", last_name="Nwosu")
    client = console_as(admin_user)
    # The student's page offers Archive as a link to its confirmation, not as a form that archives.
    page = client.get(f"/students/{student.pk}/").content.decode()
    assert f'href="/students/{student.pk}/archive/"' in page and f'action="/students/{student.pk}/archive/"' not in page
    response = client.post(f"/students/{student.pk}/archive/", {"archive_as": "withdrawn", "archive_on": "2026-01-05"}, follow=True)
    html = response.content.decode()
    assert "Archived Amara Nwosu as withdrawn on 5 January 2026." in html and "Withdrawn on 5 Jan 2026" in html
    assert '<span class="badge badge-muted">Archived · withdrawn 5 Jan 2026</span>' in html
    assert ">Active<" not in html  # an archived student's status is its archiving, not "Active · Archived"
    student.refresh_from_db()
    assert student.archived and student.withdrawn_on.isoformat() == "2026-01-05"
    response = client.post(f"/students/{student.pk}/unarchive/", follow=True)
    assert "Unarchived Amara Nwosu" in response.content.decode()
    student.refresh_from_db()
    assert not student.archived and student.enrollment_status == "enrolled"
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["student.archive", "student.unarchive"]


@pytest.mark.parametrize("action", ["unarchive", "avatar"])
def test_the_address_of_a_refused_form_reloaded_is_the_student_page_not_a_405(console_as, admin_user, action):
    student = StudentFactory()
    response = console_as(admin_user).get(f"/students/{student.pk}/{action}/")
    assert response.status_code == 302 and response["Location"] == f"/students/{student.pk}/"
    student.refresh_from_db()
    assert not student.archived


def test_archive_without_a_date_says_so_beside_the_date(console_as, admin_user):
    student = StudentFactory()
    response = console_as(admin_user).post(f"/students/{student.pk}/archive/", {"archive_as": "graduated", "archive_on": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert forms.MSG_ARCHIVE_ON in html and 'aria-describedby="archive-on-err"' in html
    # The confirmation again, its choice kept.
    assert '<input type="radio" name="archive_as" value="graduated" checked>' in html
    student.refresh_from_db()
    assert not student.archived


def test_archive_confirms_first_naming_the_student_and_a_get_changes_nothing(
    console_as, admin_user, django_assert_num_queries
):
    student = StudentFactory(first_name="Zoë", last_name="Brontë", email="zoe@uni.example")
    client = console_as(admin_user)
    client.get(f"/students/{student.pk}/archive/")  # warm the session
    # Session, staff user with roles (one statement); the student (cohort and advisor
    # joined) with their programmes.
    with django_assert_num_queries(3):
        response = client.get(f"/students/{student.pk}/archive/")
    assert response.status_code == 200
    html = response.content.decode()
    assert views.MSG_CONFIRM_STUDENT_ARCHIVE.format(name="Zoë Brontë", email="zoe@uni.example") in html
    assert all(line in html for line in views.ARCHIVE_CONSEQUENCES)
    assert 'name="archive_as" value="withdrawn" checked' in html and 'name="archive_as" value="graduated"' in html
    assert f'action="/students/{student.pk}/archive/"' in html and ">Archive Zoë Brontë</button>" in html
    assert f'<a class="btn" href="/students/{student.pk}/">Cancel</a>' in html
    student.refresh_from_db()
    assert not student.archived and not AuditEvent.objects.exists()
    # Only the confirmation's POST archives, then leads to the student's page.
    response = client.post(f"/students/{student.pk}/archive/", {"archive_as": "graduated", "archive_on": "2026-06-30"})
    assert response.status_code == 302 and response["Location"] == f"/students/{student.pk}/"
    student.refresh_from_db()
    assert student.archived and student.enrollment_status == "graduated"
    # Once archived, its address is the student's page again; status reads as archived on the list too.
    again = client.get(f"/students/{student.pk}/archive/")
    assert again.status_code == 302 and again["Location"] == f"/students/{student.pk}/"
    listed = client.get("/students/", {"status": "archived"}).content.decode()
    row = listed[listed.index('id="students-table"'):]
    assert "Zoë Brontë" in row and '<span class="badge badge-muted">Archived · graduated 30 Jun 2026</span>' in row
    assert ">Active<" not in row


def test_removing_the_photo_confirms_first(console_as, admin_user):
    student = StudentFactory(first_name="Amara", last_name="Nwosu")
    client = console_as(admin_user)
    client.post(f"/students/{student.pk}/avatar/", {"action": "upload", "avatar": SimpleUploadedFile("me.png", _png())})
    page = client.get(f"/students/{student.pk}/").content.decode()
    assert f'href="/students/{student.pk}/avatar/?action=remove"' in page
    confirm = client.get(f"/students/{student.pk}/avatar/", {"action": "remove"})
    html = confirm.content.decode()
    assert confirm.status_code == 200 and views.MSG_CONFIRM_REMOVE_PHOTO.format(name="Amara Nwosu", email=student.email) in html
    assert '<input type="hidden" name="action" value="remove">' in html
    student.refresh_from_db()
    assert student.avatar
    response = client.post(f"/students/{student.pk}/avatar/", {"action": "remove"})
    assert response.status_code == 302 and response["Location"] == f"/students/{student.pk}/"
    student.refresh_from_db()
    assert not student.avatar
    # Without a photo there is nothing to confirm: the student's page.
    assert client.get(f"/students/{student.pk}/avatar/", {"action": "remove"}).status_code == 302


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_photo_upload_and_removal_through_the_avatar_service(console_as, admin_user):
    student = StudentFactory()
    client = console_as(admin_user)
    response = client.post(f"/students/{student.pk}/avatar/", {"action": "upload", "avatar": SimpleUploadedFile("me.png", _png())}, follow=True)
    student.refresh_from_db()
    assert student.avatar.name.endswith(".png")
    assert f'src="{student.avatar.url}"' in response.content.decode()
    response = client.post(f"/students/{student.pk}/avatar/", {"action": "remove"}, follow=True)
    student.refresh_from_db()
    assert not student.avatar
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["student.avatar_set", "student.avatar_clear"]


def test_a_file_that_is_not_an_image_is_refused_beside_the_photo_field(console_as, admin_user):
    student = StudentFactory()
    response = console_as(admin_user).post(
        f"/students/{student.pk}/avatar/", {"action": "upload", "avatar": SimpleUploadedFile("me.png", b"hello")}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert MSG_AVATAR_NOT_IMAGE in html and 'aria-describedby="avatar-err"' in html
    response = console_as(admin_user).post(f"/students/{student.pk}/avatar/", {"action": "upload"})
    assert response.status_code == 400 and forms.MSG_AVATAR_CHOOSE in response.content.decode()


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_record_pages_are_refused_to_roles_that_cannot_edit(console_as, operator_user, viewer_user, choices, role):
    user = operator_user if role == "operator" else viewer_user
    student = StudentFactory()
    client = console_as(user)
    assert client.get("/students/new/").status_code == 403
    assert client.post("/students/new/", _body(choices)).status_code == 403
    assert client.get(f"/students/{student.pk}/edit/").status_code == 403
    assert client.post(f"/students/{student.pk}/archive/", {"archive_as": "withdrawn", "archive_on": "2026-01-05"}).status_code == 403
    assert client.post(f"/students/{student.pk}/unarchive/").status_code == 403
    assert client.post(f"/students/{student.pk}/avatar/", {"action": "remove"}).status_code == 403
    assert "Edit record" not in client.get(f"/students/{student.pk}/").content.decode()
    assert not AuditEvent.objects.exists() and Student.objects.count() == 1


def test_unknown_students_are_the_404_page(console_as, admin_user):
    client = console_as(admin_user)
    for url in ("/students/nobody-here/edit/",):
        assert client.get(url).status_code == 404
    assert client.post("/students/nobody-here/archive/", {"archive_as": "withdrawn", "archive_on": "2026-01-05"}).status_code == 404
    assert client.post("/students/nobody-here/unarchive/").status_code == 404
    assert client.post("/students/nobody-here/avatar/", {"action": "remove"}).status_code == 404


@pytest.mark.parametrize(
    "change",
    [{"first_name": "a\x00b"}, {"email": "x" * 10_000}, {"cohort": "'\"<>\x00"}, {"advisor": "9" * 10_000},
     {"programmes": ["\x00"]}, {"student_number": "x" * 10_000}, {"status": "\x00"}],
)
def test_hostile_values_are_400_not_500(console_as, admin_user, choices, change):
    response = console_as(admin_user).post("/students/new/", _body(choices, **change))
    assert response.status_code == 400
    assert not Student.objects.exists()


def test_an_inactive_advisor_stays_chosen_when_the_record_is_saved(console_as, admin_user, choices):
    from testing.factories import StaffUserFactory

    former = StaffUserFactory(full_name="Former Advisor", is_active=False)
    student = StudentFactory(advisor=former)
    client = console_as(admin_user)
    page = client.get(f"/students/{student.pk}/edit/").content.decode()
    assert f'<option value="{former.pk}" selected>Former Advisor</option>' in page
    body = _body(choices, email=student.email, advisor=str(former.pk), cohort="", programmes=[])
    assert client.post(f"/students/{student.pk}/edit/", body).status_code == 302
    student.refresh_from_db()
    assert student.advisor_id == former.pk
