"""Running a bulk action posted from the students list, and the bar's part of the list page.

The list view (console.students.views.students_list) hands its POST here, with the function
that draws the list: a done action comes back to the same URL (the list's filters kept) with
its sentence beside the bar; a refused one draws the list again (400) with the form, its
errors beside its fields and each refused student named."""
from django.contrib import messages
from django.shortcuts import redirect

from accounts.permissions import has_permission
from attempts.grants.services import MAX_ATTEMPTS, MAX_REASON_LENGTH, MIN_ATTEMPTS, REASON_BAD_ID
from catalogue.case_studies.selectors import case_studies_list
from config.bulk import MAX_BULK_IDS
from config.errors import AppError, BulkRefused
from console.bulk.actions import GRANT, GROUP_ADD, GROUP_REMOVE, REVOKE, bulk_action_for, bulk_actions_for
from console.bulk.forms import BulkActionForm
from console.listing import ListRequest
from console.pages import apply_service_errors, forbidden, form_refused
from students.listing.selectors import student_file_filterset, student_list_page
from students.models import Student

MSG_FIX_FILTERS = "Correct the filters first: the action reaches the students they match."
MSG_TOO_MANY_MATCHING = (
    "The filters match {total} students; a grant reaches at most {limit} at a time. Narrow the filters "
    "(a programme, a status or a date range) and grant again."
)
MSG_TOO_MANY_MATCHING_ACTION = (
    "The filters match {total} students; a bulk action reaches at most {limit} at a time. Narrow the "
    "filters (a programme, a status or a date range) and try again."
)
# A service's field -> the bar's field its refusal is shown beside.
SERVICE_FIELDS = {
    "withdrawn_on": "archive_on",
    "graduated_on": "archive_on",
    "user_ids": "user_ids",
    "__all__": "user_ids",
}


def students_bulk_action(request, *, render_list):
    """Run the posted action on the ticked rows (or all the list's filters match, read from the
    URL posted to) through its service. `render_list(request, bulk_form=, refused=,
    nothing_done=, status=)` draws the list page when the action is refused."""
    form = BulkActionForm(request.POST)
    action = bulk_action_for(form.data.get("action"))  # an unknown one: the form names it
    if not has_permission(request.user, action.permission):
        return forbidden(request, action.permission)
    refused = []
    if form.is_valid() and form.cleaned_data["scope"] == BulkActionForm.SCOPE_MATCHING:
        _all_matching(form, ListRequest.from_query(request.GET, request.tenant.tzinfo))
    if form.is_valid():
        try:
            message = action.run(form.cleaned_data, actor=request.user)
        except BulkRefused as error:
            refused = _refused_by_name(error.refused)
            for name, reason in refused:
                form.add_error("user_ids", reason if reason == REASON_BAD_ID else f"{name}: {reason}")
        except AppError as error:
            if "case_study_id" in (error.errors or {}):
                # The options were case studies when the page was drawn; one has gone since.
                form.case_study_gone()
            elif error.status_code == 404:
                form.group_gone()
            else:
                apply_service_errors(form, error, SERVICE_FIELDS)
        else:
            messages.success(request, message, extra_tags="bulk")  # shown beside the bar
            return redirect(request.get_full_path())
    form_refused(request)
    return render_list(request, bulk_form=form, refused=refused, nothing_done=action.nothing_done, status=400)


def _all_matching(form, listing):
    """Put the ids of every student the list's filters match (the URL the form was posted to)
    in the form, or refuse past MAX_BULK_IDS saying how many match. Queries: the ids, at most
    one past the limit."""
    try:
        filterset = student_file_filterset(listing.selector_params, archived=listing.archived)
    except AppError:
        form.add_error("user_ids", MSG_FIX_FILTERS)
        return
    ids = list(filterset.qs.order_by().values_list("pk", flat=True)[: MAX_BULK_IDS + 1])
    if len(ids) > MAX_BULK_IDS:
        total = student_list_page(filterset, skip=0, limit=1)[1]
        sentence = MSG_TOO_MANY_MATCHING if form.cleaned_data["action"] == GRANT else MSG_TOO_MANY_MATCHING_ACTION
        form.add_error("user_ids", sentence.format(total=f"{total:,}", limit=MAX_BULK_IDS))
    elif not ids:
        form.no_students()
    else:
        form.cleaned_data["user_ids"] = ids


def _refused_by_name(refused):
    """[(name, reason)] of a refused bulk action: staff know students by name, not id."""
    names = dict(Student.objects.filter(pk__in=list(refused)).values_list("pk", "full_name"))
    return [(names.get(user_id, user_id), reason) for user_id, reason in refused.items()]


def _case_study_options():
    """(id, title) of the case studies a bulk grant or revoke offers: the active ones. One query."""
    return list(case_studies_list(is_active=True).prefetch_related(None).values_list("pk", "title"))


def bulk_bar(request, *, archived, group, group_options, form=None, refused=(), nothing_done=None):
    """The bar's part of the list page's context: the actions this user may take on this list
    (`archived`: the Archived list), the form (a new one with `group`, the group the list is
    filtered by, as the one members are most likely removed from; or the refused one), the
    refused students, and the choices. `group_options` are the list's group filter's (already
    read). Queries: the case-study options, when grant or revoke is offered."""
    actions = bulk_actions_for(request.user, archived=archived)
    offered = {name for name, _ in actions}
    if actions and form is None:
        form = BulkActionForm(initial={"group": group})
    bound = form is not None and form.is_bound
    return {
        "bulk_actions": actions,
        "offered": offered,
        "bulk_form": form,
        "bulk_action": form.data.get("action") or GRANT if bound else "",
        "refused": refused,
        "nothing_done": nothing_done,
        "case_study_options": _case_study_options() if offered & {GRANT, REVOKE} else [],
        "group_options": group_options if offered & {GROUP_ADD, GROUP_REMOVE} else [],
        "reason_max_length": MAX_REASON_LENGTH,
        "attempts_min": MIN_ATTEMPTS,
        "attempts_max": MAX_ATTEMPTS,
        "bulk_limit": MAX_BULK_IDS,
        "selected": set(form.data.getlist("user_ids")) if bound else set(),
    }
