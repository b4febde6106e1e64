"""The students list's bulk bar beyond grant: revoke, archive, unarchive, add to and remove from a
group, on ticked rows or all matching; all or nothing, each refused student named, each audited."""
import pytest

from accounts.models import AuditEvent
from attempts.models import AttemptGrant
from console.bulk import forms, views
from console.pages import MSG_FIX_ERRORS
from students.groups.services import REASON_ARCHIVED
from students.models import GroupMembership, Student
from testing.factories import (
    AttemptGrantFactory,
    CaseStudyFactory,
    ProgrammeFactory,
    StudentFactory,
    StudentGroupFactory,
)


@pytest.fixture
def people():
    mba = ProgrammeFactory(code="MBA1234")
    case_study = CaseStudyFactory(title="Fuel Subsidy removal in Nigeria", programmes=[mba])
    students = [StudentFactory(first_name=n, last_name="Okafọr", programmes=[mba]) for n in ("Ada", "Bisi", "Chi")]
    return case_study, students


def _archived(students):
    return [Student.objects.values_list("archived", flat=True).get(pk=s.pk) for s in students]


def test_the_bar_offers_only_what_the_user_may_do(console_as, admin_user, operator_user, viewer_user, people):
    html = console_as(admin_user).get("/students/").content.decode()
    for label in ("Grant attempts", "Revoke attempts", "Archive students", "Add to group", "Remove from group"):
        assert label in html
    assert "Unarchive students" not in html
    html = console_as(operator_user).get("/students/").content.decode()
    assert "Revoke attempts" in html and "Archive students" not in html and "Add to group" not in html
    assert 'name="user_ids"' not in console_as(viewer_user).get("/students/").content.decode()
    html = console_as(admin_user).get("/students/", {"status": "archived"}).content.decode()
    StudentFactory(archived=True)
    html = console_as(admin_user).get("/students/", {"status": "archived"}).content.decode()
    assert "Unarchive students" in html and "Remove from group" in html and "Revoke attempts" in html
    assert "Grant attempts" not in html and "Archive students" not in html and "Add to group" not in html


def test_bulk_revoke_from_ticked_students_reports_and_audits_each(console_as, operator_user, people, preview_then_confirm):
    case_study, students = people
    for s in students:
        AttemptGrantFactory(student=s, case_study=case_study, delta=2)
    data = {"action": "revoke", "user_ids": [s.pk for s in students], "case_study": case_study.pk,
            "attempts": "1", "reason": "Granted in error"}
    preview, response = preview_then_confirm(console_as(operator_user), data)
    assert "Revoke 1 attempt on “Fuel Subsidy removal in Nigeria” from 3 students" in preview.content.decode()
    assert response.redirect_chain == [("/students/", 302)]
    assert "Revoked 1 extra attempt on “Fuel Subsidy removal in Nigeria” from 3 students." in response.content.decode()
    assert AttemptGrant.objects.filter(delta=-1).count() == 3
    assert AuditEvent.objects.filter(action="attempts.revoke").count() == 3


def test_bulk_revoke_previews_who_is_left_out_and_confirm_revokes_from_the_others(
    console_as, operator_user, people, preview_then_confirm
):
    case_study, students = people
    AttemptGrantFactory(student=students[0], case_study=case_study, delta=1)
    data = {"action": "revoke", "user_ids": [students[0].pk, students[1].pk], "case_study": case_study.pk,
            "attempts": "1", "reason": "Granted in error"}
    preview, response = preview_then_confirm(console_as(operator_user), data)
    html = preview.content.decode()
    assert preview.context["count"] == 1 and preview.context["refused"] == [
        ("Bisi Okafọr", "this student has 0 extra attempt(s) on this case study, fewer than 1.")
    ]
    assert "<li>Bisi Okafọr: this student has 0 extra attempt(s) on this case study, fewer than 1.</li>" in html
    assert "They are ticked but cannot take it: the button below leaves them out." in html
    assert "Revoked 1 extra attempt on “Fuel Subsidy removal in Nigeria” from 1 student." in response.content.decode()
    assert list(AttemptGrant.objects.filter(delta__lt=0).values_list("student_id", flat=True)) == [students[0].pk]


def test_bulk_revoke_refused_for_every_ticked_student_says_untick_and_not_fix_the_fields(console_as, operator_user, people):
    case_study, students = people
    data = {"action": "revoke", "user_ids": [students[1].pk], "case_study": case_study.pk,
            "attempts": "1", "reason": "Granted in error"}
    response = console_as(operator_user).post("/students/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert views.MSG_REFUSED_TICKED.format(nothing_done="Nothing was revoked.") in html
    assert "<li>Bisi Okafọr: this student has 0 extra attempt(s) on this case study, fewer than 1.</li>" in html
    assert 'role="alert" id="bulk-users-err"' in html and 'aria-invalid="true"' not in html
    assert MSG_FIX_ERRORS not in html
    assert views.MSG_ONE_CANNOT.format(nothing_done="Nothing was revoked.") in html
    assert not AttemptGrant.objects.filter(delta__lt=0).exists()


def test_bulk_archive_then_unarchive_from_the_archived_list(console_as, admin_user, people, preview_then_confirm):
    _, students = people
    ids = [s.pk for s in students]
    client = console_as(admin_user)
    data = {"action": "archive", "user_ids": ids, "archive_as": "graduated", "archive_on": "2026-06-30"}
    preview, response = preview_then_confirm(client, data)
    assert preview.context["confirm_label"] == "Archive 3 students as graduated on 30 June 2026"
    assert "Archived 3 students as graduated on 30 June 2026." in response.content.decode()
    assert _archived(students) == [True, True, True]
    assert AuditEvent.objects.filter(action="student.archive").count() == 3
    assert Student.objects.get(pk=ids[0]).graduated_on.isoformat() == "2026-06-30"
    _, response = preview_then_confirm(client, {"action": "unarchive", "scope": "matching"}, url="/students/?status=archived")
    assert "Unarchived 3 students; they are enrolled again." in response.content.decode()
    assert _archived(students) == [False, False, False]
    assert AuditEvent.objects.filter(action="student.unarchive").count() == 3


def test_bulk_archive_previews_an_archived_student_as_left_out(console_as, admin_user, people):
    _, students = people
    gone = StudentFactory(first_name="Zoë", last_name="Brontë", archived=True)
    data = {"action": "archive", "user_ids": [students[0].pk, gone.pk], "archive_as": "withdrawn", "archive_on": "2026-01-05"}
    response = console_as(admin_user).post("/students/", data)
    assert response.status_code == 200
    assert response.context["refused"] == [("Zoë Brontë", "this student is already archived.")]
    assert response.context["confirm_label"] == "Archive 1 student as withdrawn on 5 January 2026"
    assert _archived(students[:1]) == [False] and not AuditEvent.objects.exists()


def test_bulk_archive_refused_for_every_student_changes_nobody(console_as, admin_user, people):
    gone = StudentFactory(first_name="Zoë", last_name="Brontë", archived=True)
    data = {"action": "archive", "user_ids": [gone.pk], "archive_as": "withdrawn", "archive_on": "2026-01-05"}
    response = console_as(admin_user).post("/students/", data)
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["user_ids"] == ["Zoë Brontë: this student is already archived."]
    assert "Nobody was archived." in response.content.decode()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"archive_on": ""}, "archive_on", forms.MSG_ARCHIVE_ON_REQUIRED),
        ({"archive_on": "2026-13-45"}, "archive_on", forms.MSG_ARCHIVE_ON_REQUIRED),
        ({"archive_as": "expelled"}, "archive_as", forms.MSG_ARCHIVE_AS_REQUIRED),
    ],
)
def test_bulk_archive_with_bad_input_keeps_it_and_says_what_is_wrong(console_as, admin_user, people, change, field, message):
    _, students = people
    data = {"action": "archive", "user_ids": [students[0].pk], "archive_as": "withdrawn", "archive_on": "2026-01-05", **change}
    response = console_as(admin_user).post("/students/", data)
    assert response.status_code == 400
    assert response.context["bulk_form"].errors[field] == [message]
    html = response.content.decode()
    assert f'id="bulk-{field.replace("_", "-")}-err"' in html and 'aria-invalid="true"' in html
    assert f'value="{students[0].pk}" id="sel-{students[0].pk}" checked' in html
    assert '<option value="archive" selected>Archive</option>' in html
    assert _archived(students[:1]) == [False]


def test_bulk_add_to_and_remove_from_a_group(console_as, admin_user, people, preview_then_confirm):
    _, students = people
    group = StudentGroupFactory(name="Lagos study group")
    GroupMembership.objects.create(group=group, student=students[0])
    client = console_as(admin_user)
    ids = [s.pk for s in students]
    preview, response = preview_then_confirm(client, {"action": "group_add", "user_ids": ids, "group": group.pk})
    assert (preview.context["count"], preview.context["unchanged"]) == (2, 1)
    assert preview.context["confirm_label"] == "Add 2 students to “Lagos study group”"
    assert "Added 2 students to “Lagos study group”. 1 was already in it." in response.content.decode()
    assert GroupMembership.objects.filter(group=group).count() == 3
    assert AuditEvent.objects.filter(action="student_group.members_add", target_type="student").count() == 2
    listed = client.get(f"/students/?group={group.pk}").content.decode()
    assert f'<option value="{group.pk}" selected>Lagos study group</option>' in listed.split('id="bulk-group"')[1]
    data = {"action": "group_remove", "scope": "matching", "group": group.pk}
    _, response = preview_then_confirm(client, data, url=f"/students/?group={group.pk}")
    assert "Removed 3 students from “Lagos study group”." in response.content.decode()
    assert not GroupMembership.objects.filter(group=group).exists()
    assert AuditEvent.objects.filter(action="student_group.members_remove", target_type="student").count() == 3


def test_bulk_add_refused_for_every_student_adds_nobody(console_as, admin_user, people):
    group = StudentGroupFactory()
    gone = StudentFactory(first_name="Zoë", last_name="Brontë", archived=True)
    response = console_as(admin_user).post("/students/", {"action": "group_add", "user_ids": [gone.pk], "group": group.pk})
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["user_ids"] == [f"Zoë Brontë: {REASON_ARCHIVED}"]
    assert not GroupMembership.objects.exists()


def test_a_group_deleted_meanwhile_is_said_beside_the_group_select(console_as, admin_user, people):
    _, students = people
    response = console_as(admin_user).post(
        "/students/", {"action": "group_add", "user_ids": [students[0].pk], "group": "abcdef0123456789abcdef01"}
    )
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["group"] == [forms.MSG_GROUP_GONE]


@pytest.mark.parametrize(
    "user_role, data",
    [
        ("operator", {"action": "archive", "archive_as": "withdrawn", "archive_on": "2026-01-05"}),
        ("operator", {"action": "unarchive"}),
        ("operator", {"action": "group_add", "group": "abcdef0123456789abcdef01"}),
        ("operator", {"action": "group_remove", "group": "abcdef0123456789abcdef01"}),
        ("viewer", {"action": "revoke", "case_study": "abcdef0123456789abcdef01", "attempts": "1", "reason": "x"}),
    ],
)
def test_each_action_is_refused_without_its_permission(console_as, operator_user, viewer_user, people, user_role, data):
    _, students = people
    user = operator_user if user_role == "operator" else viewer_user
    response = console_as(user).post("/students/", {**data, "user_ids": [students[0].pk]})
    assert response.status_code == 403
    assert not AuditEvent.objects.exists() and _archived(students[:1]) == [False]


@pytest.mark.parametrize(
    "data",
    [
        {"action": "a\x00b"},
        {"action": "x" * 10_000},
        {"action": "group_add", "group": "a\x00b"},
        {"action": "group_add", "group": "x" * 10_000},
        {"action": "archive", "archive_as": "\x00", "archive_on": "x" * 10_000},
        {"action": "revoke", "case_study": "'\"<>", "attempts": "1" * 10_000, "reason": "\x00"},
        {"action": "unarchive", "scope": "\x00"},
    ],
)
def test_hostile_values_are_400_not_500(console_as, admin_user, people, data):
    _, students = people
    response = console_as(admin_user).post("/students/", {"user_ids": [students[0].pk], **data})
    assert response.status_code == 400
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("rows", [2, 12])
def test_the_list_with_every_bulk_action_costs_the_same_queries_whatever_the_rows(
    console_as, admin_user, django_assert_num_queries, rows
):
    StudentGroupFactory()
    mba, emba = ProgrammeFactory(), ProgrammeFactory()
    CaseStudyFactory(programmes=[mba])
    CaseStudyFactory(programmes=[mba, emba])
    for n in range(rows):
        StudentFactory(programmes=[mba, emba] if n % 2 else [mba])
    client = console_as(admin_user)
    client.get("/students/")  # warm the session
    # As the operator's list (test_students_list): the bar's groups are the group filter's
    # options, read once. Session, staff user with roles (one statement); the page rows with their programmes and
    # the total (the first page of a list without a narrowing filter), programme options (each
    # with whether the matching students are in it, and its case-study options), the cohort,
    # group and advisor options (one statement).
    with django_assert_num_queries(5):
        response = client.get("/students/")
    assert len(response.context["rows"]) == rows


def test_every_registered_action_names_fields_the_form_has_and_says_when_missing():
    from console.bulk.actions import BULK_ACTIONS, OFFERED

    for action in BULK_ACTIONS.values():
        for name in action.fields:
            field = forms.BulkActionForm.base_fields[name]
            assert field.error_messages["required"] != "This field is required.", (action.name, name)
    assert {name for names in OFFERED.values() for name in names} == set(BULK_ACTIONS)


def test_the_bars_attempts_input_takes_the_grants_services_range(console_as, operator_user, people):
    html = console_as(operator_user).get("/students/").content.decode()
    assert 'id="bulk-attempts" name="attempts" min="1" max="10" step="1"' in html
