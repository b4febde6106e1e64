"""The Cohorts page: every cohort with its number of current students; staff who may edit records
add, rename and delete them (a cohort with students is not deleted, and the page says why),
through students.cohorts.services, the services behind /v1/cohorts."""
from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import USER_MANAGEMENT_EDIT, USER_MANAGEMENT_VIEW, has_permission
from config.errors import AppError
from config.ids import is_valid_opaque_id
from console.cohorts.forms import MSG_NO_SUCH_COHORT, CohortNameForm
from console.pages import apply_service_errors, confirmation_page, console_page, forbidden
from students.cohorts import services
from students.cohorts.selectors import cohort_list
from students.models import Student

MSG_ADDED = "Added the cohort “{name}”."
MSG_RENAMED = "Renamed the cohort to “{name}”."
MSG_COHORT_DELETED = "Deleted the cohort “{name}”."
MSG_HAS_STUDENTS = "“{name}” still has {n} student{s} (archived and deleted records count too); move them to another cohort first."
MSG_FIX = "Nothing was changed. Fix what is said beside the cohort and try again."
MSG_CONFIRM_COHORT_DELETE = "Delete the cohort “{name}”?"
COHORT_DELETE_CONSEQUENCES = (
    "No student record names it, so no record changes.",
    "It leaves the Cohorts page and the lists’ Cohort filter; a cohort of the same name can be added again.",
)
ACTIONS = ("create", "rename", "delete")


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_VIEW)
def cohorts(request):
    """GET `?delete=<id>`: the confirmation of deleting that cohort; only its POST deletes."""
    if request.method == "POST" or "delete" in request.GET:
        if not has_permission(request.user, USER_MANAGEMENT_EDIT):
            return forbidden(request, USER_MANAGEMENT_EDIT)
        return _change(request) if request.method == "POST" else _confirm_delete(request, request.GET["delete"])
    return _render(request)


def _confirm_delete(request, cohort_id):
    try:
        name = _name_of(cohort_id) if is_valid_opaque_id(cohort_id) else None
    except AppError:
        name = None
    if name is None:
        return _render(request, failed=(None, MSG_NO_SUCH_COHORT), status=404)
    return confirmation_page(
        request,
        title="Delete a cohort",
        crumbs=(("Cohorts", reverse("console:cohorts")),),
        question=MSG_CONFIRM_COHORT_DELETE.format(name=name),
        consequences=COHORT_DELETE_CONSEQUENCES,
        action=reverse("console:cohorts"),
        fields=(("action", "delete"), ("cohort", cohort_id)),
        button=f"Delete “{name}”",
        cancel=reverse("console:cohorts"),
    )


def _change(request):
    action = request.POST.get("action")
    cohort_id = request.POST.get("cohort", "")
    if action not in ACTIONS:
        action = "create"
    form = CohortNameForm(request.POST)
    if action != "create" and not is_valid_opaque_id(cohort_id):
        return _render(request, failed=(None, MSG_NO_SUCH_COHORT), status=400)
    try:
        if action == "delete":
            name = _name_of(cohort_id)
            services.cohort_delete(cohort_id=cohort_id)
            message = MSG_COHORT_DELETED.format(name=name)
        elif form.is_valid():
            name = form.cleaned_data["name"]
            if action == "create":
                services.cohort_create(name=name)
                message = MSG_ADDED.format(name=name)
            else:
                services.cohort_update(cohort_id=cohort_id, name=name)
                message = MSG_RENAMED.format(name=name)
        else:
            return _failed(request, action, cohort_id, form)
    except AppError as error:
        if error.status_code == 404:
            return _render(request, failed=(None, MSG_NO_SUCH_COHORT), status=404)
        if action == "delete":
            n = int((error.errors or {}).get("student_count", ["0"])[0])
            reason = MSG_HAS_STUDENTS.format(name=_name_of(cohort_id), n=n, s="" if n == 1 else "s")
            return _render(request, failed=(cohort_id, reason), status=error.status_code)
        apply_service_errors(form, error, {"__all__": "name"})
        return _failed(request, action, cohort_id, form, status=error.status_code)
    messages.success(request, message)
    return redirect("console:cohorts")


def _name_of(cohort_id):
    row = cohort_list().filter(pk=cohort_id).values_list("name", flat=True).first()
    if row is None:
        raise AppError.not_found()
    return row


def _failed(request, action, cohort_id, form, status=400):
    reason = " ".join(form.errors.get("name", [])) or " ".join(m for msgs in form.errors.values() for m in msgs)
    return _render(
        request,
        failed=("new" if action == "create" else cohort_id, reason),
        typed=form.data.get("name", ""),
        status=status,
    )


def _render(request, *, failed=None, typed="", status=200):
    """Queries: the cohorts with their student counts and whether any record names them."""
    if failed:
        messages.error(request, MSG_FIX)
    failed_id, reason = failed or (None, None)
    # Delete is offered only where it can succeed: no record names the cohort, archived and
    # deleted ones included (the service's rule).
    rows = list(cohort_list().annotate(in_use=Exists(Student.objects.filter(cohort=OuterRef("pk")))))
    context = {
        "rows": rows,
        "can_edit": has_permission(request.user, USER_MANAGEMENT_EDIT),
        "failed_id": failed_id,
        "reason": reason,
        "typed": typed,
        "page_error": reason if failed and failed_id is None else None,
    }
    return render(request, "console/cohorts/list.html", context, status=status)
