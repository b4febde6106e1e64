"""Running a bulk action posted from the students list, and the bar's part of the list page.

The list view (console.students.views.students_list) hands its POST here, with the function
that draws the list: a done action comes back to the same URL (the list's filters kept) with
its sentence at the top of the content; a refused one draws the list again (400) with the form, its
errors beside its fields and each refused student named."""
from django.contrib import messages
from django.shortcuts import redirect, render

from accounts.permissions import has_permission
from attempts.grants.services import MAX_ATTEMPTS, MAX_REASON_LENGTH, MIN_ATTEMPTS, REASON_BAD_ID
from config.bulk import MAX_BULK_IDS
from config.errors import AppError, BulkRefused
from console.bulk.actions import GRANT, GROUP_ADD, GROUP_REMOVE, REVOKE, bulk_action_for, bulk_actions_for
from console.bulk.forms import BulkActionForm
from console.bulk.selectors import bulk_case_study_options
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
MSG_REFUSED_TICKED = "{nothing_done} Untick these students, or fix what is said of each, and try again:"
MSG_REFUSED_MATCHING = (
    "{nothing_done} These students match the filters but cannot take it: narrow the filters (a programme, a "
    "status, a group) or {instead}, and try again:"
)
MSG_NONE_CAN = "{nothing_done} None of the {count} students can take it; the reasons are listed by the action bar."
MSG_ONE_CANNOT = "{nothing_done} The student cannot take it; the reason is given by the action bar."
MSG_NOTHING_CHANGED = "Nothing was changed. {reason}"
# A service's field -> the bar's field its refusal is shown beside.
SERVICE_FIELDS = {
    "withdrawn_on": "archive_on",
    "graduated_on": "archive_on",
    "user_ids": "user_ids",
    "__all__": "user_ids",
}


def students_bulk_action(request, *, render_list):
    """Preview the posted action on the ticked rows (or all the list's filters match, read from
    the URL posted to); run it only when its preview's confirm button is posted. `render_list(
    request, bulk_form=, refused=, refused_heading=, status=)` draws the list page when the
    action is refused."""
    form = BulkActionForm(request.POST)
    action = bulk_action_for(form.data.get("action"))  # an unknown one: the form names it
    if not has_permission(request.user, action.permission):
        return forbidden(request, action.permission)
    confirmed = form.is_valid() and form.cleaned_data["confirm"]
    if form.is_valid() and form.cleaned_data["scope"] == BulkActionForm.SCOPE_MATCHING and not confirmed:
        _all_matching(form, ListRequest.from_query(request.GET, request.tenant.tzinfo))
    refused = []
    if form.is_valid():
        response, refused = (_run if confirmed else _rehearse)(request, form, action)
        if response is not None:
            return response
    _say_refused(request, form, refused, action)
    heading = _refused_heading(form, action) if refused else None
    return render_list(request, bulk_form=form, refused=refused, refused_heading=heading, status=400)


def _rehearse(request, form, action, *, changed=(), status=200):
    """(the preview page, []) when some student would change, or after a confirm refused
    (`changed`: who changed since the preview; `status` 409); else (None, [(name, reason)] of
    the refused students), their refusals beside the ticked rows."""
    try:
        ids, answer, refused_ids = action.rehearse(form.cleaned_data, actor=request.user)
    except AppError as error:
        _place_service_error(form, error)
        return None, []
    refused = _refused_by_name(refused_ids)
    if ids or changed:
        return _preview(request, form, action, ids=ids, answer=answer, refused=refused, changed=changed, status=status), []
    _refuse_each(form, refused)
    return None, refused


def _run(request, form, action):
    """A confirmed action: done, back to the list with its sentence; refused because someone
    changed a student since the preview: nothing done (all or nothing), the new preview (409)."""
    try:
        message = action.run(form.cleaned_data, actor=request.user)
    except BulkRefused as error:
        return _rehearse(request, form, action, changed=_refused_by_name(error.refused), status=409)
    except AppError as error:
        _place_service_error(form, error)
        return None, []
    messages.success(request, message, extra_tags="bulk")  # at the top of the content, with the focus
    return redirect(request.get_full_path()), []


def _refuse_each(form, refused):
    for name, reason in refused:
        form.add_error("user_ids", reason if reason == REASON_BAD_ID else f"{name}: {reason}")


def _place_service_error(form, error):
    if "case_study_id" in (error.errors or {}):
        # The options were case studies when the page was drawn; one has gone since.
        form.case_study_gone()
    elif error.status_code == 404:
        form.group_gone()
    else:
        apply_service_errors(form, error, SERVICE_FIELDS)


# Fields shown as controls of the bar: an error there is highlighted beside it. The others
# (the ticked rows, the action) are said in the list under the bar.
UNHIGHLIGHTED = {"user_ids", "action", "scope", "confirm", "__all__"}


def _say_refused(request, form, refused, action):
    """Above the page, what is wrong: "fix the highlighted fields" only when a field is."""
    if set(form.errors) - UNHIGHLIGHTED:
        form_refused(request)
    elif refused:
        sentence = MSG_ONE_CANNOT if len(refused) == 1 else MSG_NONE_CAN
        messages.error(request, sentence.format(nothing_done=action.nothing_done, count=len(refused)))
    else:
        reasons = [*form.errors.get("user_ids", []), *form.non_field_errors(), *form.errors.get("action", [])]
        messages.error(request, MSG_NOTHING_CHANGED.format(reason=reasons[0] if reasons else ""))


def _refused_heading(form, action):
    """Heads the refused students: with "all matching" they cannot be unticked."""
    if form.cleaned_data.get("scope") == BulkActionForm.SCOPE_MATCHING:
        return MSG_REFUSED_MATCHING.format(nothing_done=action.nothing_done, instead=action.instead)
    return MSG_REFUSED_TICKED.format(nothing_done=action.nothing_done)


def _preview(request, form, action, *, ids, answer, refused, changed=(), status=200):
    """The preview page: how many students the action changes, who is refused and why, and the
    confirm button naming the count, which posts the same fields with these students' ids."""
    data = form.cleaned_data
    count = action.changed(answer) if answer is not None else 0
    fields = [("action", action.name), ("scope", data["scope"]), ("confirm", "1")]
    fields += [(name, form[name].value()) for name in action.fields]
    fields += [("user_ids", user_id) for user_id in ids]
    context = {
        "action": action,
        "count": count,
        "unchanged": len(ids) - count,
        "refused": refused,
        "refused_heading": _refused_heading(form, action) if refused else None,
        "changed": changed,
        "confirm_label": action.confirm(data, count, answer) if count else None,
        "confirm_fields": fields,
        "list_url": request.get_full_path(),
        "matching": data["scope"] == BulkActionForm.SCOPE_MATCHING,
    }
    return render(request, "console/students/bulk_preview.html", context, status=status)


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


def bulk_bar(request, *, archived, group, group_options, programmes, form=None, refused=(), refused_heading=None):
    """The bar's part of the list page's context: the actions this user may take on this list
    (`archived`: the Archived list), the form (a new one with `group`, the group the list is
    filtered by, as the one members are most likely removed from; or the refused one), the
    refused students, and the choices. `group_options` are the list's group filter's and
    `programmes` its programme filter's (already read, each with `has_students`, see
    console.bulk.selectors). Queries: the case-study options, when grant or revoke is offered:
    those of the programmes the matching students are in, grouped by programme."""
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
        "refused_heading": refused_heading,
        "case_study_options": bulk_case_study_options(programmes) if offered & {GRANT, REVOKE} else [],
        "group_options": group_options if offered & {GROUP_ADD, GROUP_REMOVE} else [],
        "reason_max_length": MAX_REASON_LENGTH,
        "attempts_min": MIN_ATTEMPTS,
        "attempts_max": MAX_ATTEMPTS,
        "bulk_limit": MAX_BULK_IDS,
        "selected": set(form.data.getlist("user_ids")) if bound else set(),
    }
