"""Student records in the console: create and edit a student, archive and unarchive them, set or
remove their photo. Forms parse shapes; students.records.services (the API's own services) find
the student, check the rules and audit the change, and their refusals are shown beside the
fields. Only for staff who may edit records (USER_MANAGEMENT.can_edit)."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import DATA_RIGHTS_MANAGE, USER_MANAGEMENT_EDIT, has_permission
from accounts.staff.selectors import staff_choices
from catalogue.models import Programme
from config.errors import AppError
from console.pages import apply_service_errors, confirmation_page, console_page, form_refused, student_not_found
from console.records.forms import RECORD_FIELD_MAP, ArchiveForm, AvatarForm, StudentRecordForm
from console.students.views import render_student_detail
from students.listing.selectors import student_get
from students.models import Cohort
from students.records import services

MSG_CREATED = "Added {name}."
MSG_SAVED = "Saved the changes to {name}’s record."
MSG_ARCHIVED = "Archived {name} as {kind} on {day}."
MSG_UNARCHIVED = "Unarchived {name}: enrolled again, back in the groups they were in."
MSG_AVATAR_SET = "The photo of {name} is updated."
MSG_AVATAR_CLEARED = "The photo of {name} is removed."
MSG_CONFIRM_STUDENT_ARCHIVE = "Archive {name} ({email})?"
ARCHIVE_CONSEQUENCES = (
    "They leave the students list (the Archived status still lists them) and the exports.",
    "They are taken out of their groups; unarchiving puts them back.",
    "They cannot be granted attempts while archived; their sessions, grades and history are kept.",
    "Their enrolment reads Withdrawn or Graduated, with the date you give.",
)
MSG_CONFIRM_REMOVE_PHOTO = "Remove the photo of {name} ({email})?"
REMOVE_PHOTO_CONSEQUENCES = ("The photo file is deleted; a new one can be uploaded at any time.",)


def _record_form(data=None, *, initial=None, student=None, with_legal_hold=False):
    """The record form with the current choices. Queries: programmes, cohorts, staff. A student's
    advisor stays a choice after their account is deactivated, so saving does not drop them.
    `with_legal_hold`: the legal hold's checkbox too (an existing student, a data-rights manager)."""
    programmes = Programme.objects.order_by("code").values_list("code", "name")
    advisors = staff_choices()
    advisor = getattr(student, "advisor", None)
    if advisor is not None and advisor.pk not in {pk for pk, _ in advisors}:
        advisors.append((advisor.pk, advisor.full_name or advisor.email))
    return StudentRecordForm(
        data,
        initial=initial,
        programme_options=[(code, f"{name} ({code})") for code, name in programmes],
        cohort_options=list(Cohort.objects.order_by("name", "id").values_list("pk", "name")),
        advisor_options=advisors,
        with_legal_hold=with_legal_hold,
    )


def _render_form(request, form, *, student=None, status=200):
    return render(request, "console/records/form.html", {"form": form, "student": student}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_EDIT)
def student_new(request):
    if request.method != "POST":
        return _render_form(request, _record_form(initial={"status": "active"}))
    form = _record_form(request.POST)
    if form.is_valid():
        try:
            student = services.student_create(**form.service_arguments())
        except AppError as error:
            apply_service_errors(form, error, RECORD_FIELD_MAP)
        else:
            messages.success(request, MSG_CREATED.format(name=student.student_name))
            return redirect("console:student", student.pk)
    form_refused(request)
    return _render_form(request, form, status=400)


def _student_or_none(user_id):
    try:
        return student_get(user_id)
    except AppError:
        return None


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_EDIT)
def student_edit(request, user_id):
    student = _student_or_none(user_id)
    if student is None:
        return student_not_found(request)
    with_legal_hold = has_permission(request.user, DATA_RIGHTS_MANAGE)
    if request.method != "POST":
        form = _record_form(initial=StudentRecordForm.initial_for(student), student=student, with_legal_hold=with_legal_hold)
        return _render_form(request, form, student=student)
    form = _record_form(request.POST, student=student, with_legal_hold=with_legal_hold)
    if form.is_valid():
        try:
            student = services.student_update(user_id=student.pk, **form.service_arguments())
        except AppError as error:
            apply_service_errors(form, error, RECORD_FIELD_MAP)
        else:
            messages.success(request, MSG_SAVED.format(name=student.student_name))
            return redirect("console:student", student.pk)
    form_refused(request)
    return _render_form(request, form, student=student, status=400)


def _on_detail_page(request, user_id, *, status=400, **forms):
    """The student's page again, with the form that failed and its errors."""
    student = _student_or_none(user_id)
    if student is None:
        return student_not_found(request)
    form_refused(request)
    return render_student_detail(request, student, status=status, **forms)


def _on_the_student(student, title):
    return {
        "crumbs": (("Students", reverse("console:students")), (student.student_name, reverse("console:student", args=[student.pk]))),
        "cancel": reverse("console:student", args=[student.pk]),
        "title": title,
    }


def _archive_step(request, student, form, *, status=200):
    return confirmation_page(
        request,
        **_on_the_student(student, "Archive"),
        question=MSG_CONFIRM_STUDENT_ARCHIVE.format(name=student.student_name, email=student.email),
        consequences=ARCHIVE_CONSEQUENCES,
        action=reverse("console:student-archive", args=[student.pk]),
        button=f"Archive {student.student_name}",
        template="console/records/archive_confirm.html",
        form=form,
        student=student,
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_EDIT)
def student_archive(request, user_id):
    """GET: the confirmation (how the student left, and when); only its POST archives."""
    student = _student_or_none(user_id)
    if student is None:
        return student_not_found(request)
    if request.method != "POST":
        if student.archived:  # nothing to confirm: back to the student
            return redirect("console:student", student.pk)
        today = timezone.localdate().isoformat()
        return _archive_step(request, student, ArchiveForm(initial={"archive_as": "withdrawn", "archive_on": today}))
    form = ArchiveForm(request.POST)
    if form.is_valid():
        try:
            student = services.student_archive(user_id=student.pk, **form.service_arguments())
        except AppError as error:
            if error.status_code == 404:
                return student_not_found(request)
            apply_service_errors(form, error, RECORD_FIELD_MAP)
        else:
            day = form.cleaned_data["archive_on"]
            kind = form.cleaned_data["archive_as"]
            messages.success(request, MSG_ARCHIVED.format(name=student.student_name, kind=kind, day=f"{day:%-d %B %Y}"))
            return redirect("console:student", student.pk)
    form_refused(request)
    return _archive_step(request, student, form, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_EDIT)
def student_unarchive(request, user_id):
    if request.method != "POST":  # the address of a refused form, reloaded or bookmarked
        return redirect("console:student", user_id)
    try:
        student = services.student_unarchive(user_id=user_id)
    except AppError:
        return student_not_found(request)
    messages.success(request, MSG_UNARCHIVED.format(name=student.student_name))
    return redirect("console:student", student.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_EDIT)
def student_avatar(request, user_id):
    """`action` = upload (with the file `avatar`) or remove. GET with `action=remove`: the
    confirmation of removing the photo; any other GET (a refused form's address, reloaded) is
    the student's page."""
    if request.method != "POST":
        student = _student_or_none(user_id) if request.GET.get("action") == "remove" else None
        if student is None or not student.avatar:
            return redirect("console:student", user_id)
        return confirmation_page(
            request,
            **_on_the_student(student, "Remove the photo"),
            question=MSG_CONFIRM_REMOVE_PHOTO.format(name=student.student_name, email=student.email),
            consequences=REMOVE_PHOTO_CONSEQUENCES,
            action=reverse("console:student-avatar", args=[student.pk]),
            fields=(("action", "remove"),),
            button="Remove the photo",
        )
    if request.POST.get("action") == "remove":
        try:
            student = services.student_avatar_clear(user_id=user_id)
        except AppError:
            return student_not_found(request)
        messages.success(request, MSG_AVATAR_CLEARED.format(name=student.student_name))
        return redirect("console:student", student.pk)
    form = AvatarForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            student = services.student_avatar_set(user_id=user_id, upload=form.cleaned_data["avatar"])
        except AppError as error:
            if error.status_code == 404:
                return student_not_found(request)
            apply_service_errors(form, error, {"__all__": "avatar"})
        else:
            messages.success(request, MSG_AVATAR_SET.format(name=student.student_name))
            return redirect("console:student", student.pk)
    return _on_detail_page(request, user_id, avatar_form=form)
