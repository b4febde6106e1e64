"""The students list and a student's page. Reads come from the students listing selector
(the same one the JSON list and the export use) and console.students.selectors (the same
detail as the JSON API); grants and revokes go through the attempts services, which look the
ids up, check the rules and answer with the card's new numbers.
"""
import math

from django.conf import settings
from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from accounts.models import StaffUser
from accounts.permissions import (
    ATTEMPTS_MANAGE,
    AUDIT_VIEW,
    CATALOG_EDIT,
    STUDENT_PERFORMANCE_VIEW,
    USER_MANAGEMENT_EDIT,
    USER_MANAGEMENT_EXPORT,
    USER_MANAGEMENT_VIEW,
    has_permission,
)
from attempts.grants.services import (
    MAX_REASON_LENGTH,
    MSG_STUDENT_UNKNOWN,
    REASON_BAD_ID,
    attempts_grant,
    attempts_grant_bulk,
    attempts_revoke,
    attempts_revoke_bulk,
)
from attempts.selectors import student_case_study_cards
from catalogue.models import Programme
from config.errors import AppError, BulkRefused
from config.replicas import lag_tolerant
from console.attempts.forms import (
    MAX_BULK_STUDENTS,
    MSG_CASE_STUDY_GONE,
    MSG_NO_STUDENTS,
    MSG_TOO_MANY_MATCHING,
    AttemptChangeForm,
    bulk_case_study_options,
)
from console.list_files.kinds import FILE_KINDS
from console.listing import ARCHIVED, PAGE_SIZES, ListRequest
from console.pages import apply_service_errors, console_page, forbidden, not_found, plural
from console.students import forms
from console.students.selectors import GRANT_HISTORY_LIMIT, student_grant_history
from console.students.selectors import student_detail as student_detail_read
from students.groups.services import student_group_members_add_bulk, student_group_members_remove_bulk
from students.listing.filters import CONSOLE_SORT_FIELDS, MAX_SEARCH_LENGTH, MSG_DATE_RANGE
from students.listing.selectors import student_get, student_list_filterset, student_list_page
from students.models import Cohort, Student, StudentGroup
from students.records.services import students_archive_bulk, students_unarchive_bulk

MSG_GRANTED = "Granted {n} extra attempt{s} on “{title}”. Allowed now: {allowed}."
MSG_REVOKED = "Revoked {n} extra attempt{s} on “{title}”. Allowed now: {allowed}."
MSG_FIX_FILTERS = "Correct the filters first: the action reaches the students they match."
MSG_BULK_GRANTED = "Granted {n} extra attempt{s} on “{title}” to {count} student{cs}."
MSG_FIX_ERRORS = "Nothing was changed. Fix the highlighted fields and try again."
MSG_PAGE_STUDENT_NOT_FOUND = "No student with this id exists here."


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_VIEW)
@lag_tolerant
def students_list(request):
    """The list; a POST runs a bulk action on the ticked rows (or all matching) and comes back to
    the same URL."""
    if request.method == "POST":
        return _students_bulk_action(request)
    return _render_students_list(request)


# What each bulk action needs, and what it says when done (staff words).
BULK_PERMISSIONS = {
    forms.GRANT: ATTEMPTS_MANAGE,
    forms.REVOKE: ATTEMPTS_MANAGE,
    forms.ARCHIVE: USER_MANAGEMENT_EDIT,
    forms.UNARCHIVE: USER_MANAGEMENT_EDIT,
    forms.GROUP_ADD: CATALOG_EDIT,
    forms.GROUP_REMOVE: CATALOG_EDIT,
}
MSG_BULK_REVOKED = "Revoked {n} extra attempt{s} on “{title}” from {count} student{cs}."
MSG_BULK_ARCHIVED = "Archived {count} student{cs} as {kind} on {day}."
MSG_BULK_UNARCHIVED = "Unarchived {count} student{cs}; they are enrolled again."
MSG_BULK_ADDED = "Added {count} student{cs} to “{group}”."
MSG_BULK_ALREADY = " {n} {were} already in it."
MSG_BULK_REMOVED = "Removed {count} student{cs} from “{group}”."
MSG_BULK_NOT_MEMBERS = " {n} {were} not in it."
BULK_NOTHING_DONE = {
    forms.GRANT: "Nothing was granted.",
    forms.REVOKE: "Nothing was revoked.",
    forms.ARCHIVE: "Nobody was archived.",
    forms.UNARCHIVE: "Nobody was unarchived.",
    forms.GROUP_ADD: "Nobody was added to the group.",
    forms.GROUP_REMOVE: "Nobody was removed from the group.",
}
MSG_TOO_MANY_MATCHING_ACTION = (
    "The filters match {total} students; a bulk action reaches at most {limit} at a time. Narrow the "
    "filters (a programme, a status or a date range) and try again."
)


def _were(n):
    return "was" if n == 1 else "were"


def bulk_actions_for(user, *, archived):
    """[(action, label)] the bar offers this user on this list: only what their permissions
    allow, and on the Archived list only what applies to archived students."""
    offered = (
        (forms.UNARCHIVE, forms.REVOKE, forms.GROUP_REMOVE)
        if archived
        else (forms.GRANT, forms.REVOKE, forms.ARCHIVE, forms.GROUP_ADD, forms.GROUP_REMOVE)
    )
    return [(a, forms.ACTION_LABELS[a]) for a in offered if has_permission(user, BULK_PERMISSIONS[a])]


def _students_bulk_action(request):
    form = forms.BulkActionForm(request.POST)
    action = form.data.get("action") or forms.GRANT
    if action not in BULK_PERMISSIONS:
        action = forms.GRANT  # the form names the unknown action
    if not has_permission(request.user, BULK_PERMISSIONS[action]):
        return forbidden(request, BULK_PERMISSIONS[action])
    refused = []
    if form.is_valid() and form.cleaned_data["scope"] == forms.BulkActionForm.SCOPE_MATCHING:
        _all_matching(form, ListRequest.from_query(request.GET, request.tenant.tzinfo))
    if form.is_valid():
        data = form.cleaned_data
        try:
            message = _run_bulk_action(request, data)
        except BulkRefused as error:
            refused = _refused_by_name(error.refused)
            for name, reason in refused:
                form.add_error("user_ids", reason if reason == REASON_BAD_ID else f"{name}: {reason}")
        except AppError as error:
            if "case_study_id" in (error.errors or {}):
                # The options were case studies when the page was drawn; one has gone since.
                form.add_error("case_study", MSG_CASE_STUDY_GONE)
            elif error.status_code == 404:
                form.add_error("group", forms.MSG_GROUP_GONE)
            else:
                apply_service_errors(
                    form,
                    error,
                    {"withdrawn_on": "archive_on", "graduated_on": "archive_on", "user_ids": "user_ids", "__all__": "user_ids"},
                )
        else:
            messages.success(request, message, extra_tags="bulk")  # shown beside the bar
            return redirect(request.get_full_path())
    messages.error(request, MSG_FIX_ERRORS)
    return _render_students_list(
        request, bulk_form=form, refused=refused, nothing_done=BULK_NOTHING_DONE.get(action), status=400
    )


def _run_bulk_action(request, data):
    """Run the chosen action through its service; the sentence saying what was done."""
    action, ids = data["action"], data["user_ids"]
    if action in (forms.GRANT, forms.REVOKE):
        bulk = attempts_grant_bulk if action == forms.GRANT else attempts_revoke_bulk
        changed = bulk(
            user_ids=ids, case_study_id=data["case_study"], attempts=data["attempts"], reason=data["reason"],
            actor=request.user,
        )
        n, count = data["attempts"], len(changed)
        sentence = MSG_BULK_GRANTED if action == forms.GRANT else MSG_BULK_REVOKED
        title = changed[0].grant.case_study.title
        return sentence.format(n=n, s=plural(n), title=title, count=count, cs=plural(count))
    if action == forms.ARCHIVE:
        day = data["archive_on"]
        as_date = {"withdrawn_on": day} if data["archive_as"] == forms.WITHDRAWN else {"graduated_on": day}
        count = len(students_archive_bulk(user_ids=ids, **as_date))
        return MSG_BULK_ARCHIVED.format(count=count, cs=plural(count), kind=data["archive_as"], day=date_format(day, "j F Y"))
    if action == forms.UNARCHIVE:
        count = len(students_unarchive_bulk(user_ids=ids))
        return MSG_BULK_UNARCHIVED.format(count=count, cs=plural(count))
    if action == forms.GROUP_ADD:
        group, outcome = student_group_members_add_bulk(group_id=data["group"], user_ids=ids)
        count, already = len(outcome["added"]), len(outcome["already_members"])
        message = MSG_BULK_ADDED.format(count=count, cs=plural(count), group=group.name)
        return message + (MSG_BULK_ALREADY.format(n=already, were=_were(already)) if already else "")
    group, outcome = student_group_members_remove_bulk(group_id=data["group"], user_ids=ids)
    count, outside = len(outcome["removed"]), len(outcome["not_members"])
    message = MSG_BULK_REMOVED.format(count=count, cs=plural(count), group=group.name)
    return message + (MSG_BULK_NOT_MEMBERS.format(n=outside, were=_were(outside)) if outside else "")


def _all_matching(form, listing):
    """Put the ids of every student the list's filters match (the URL the form was posted to)
    in the form, or refuse past MAX_BULK_STUDENTS saying how many match. Queries: the ids,
    at most one past the limit."""
    try:
        filterset = student_list_filterset(listing.selector_params, archived=listing.archived, sort_fields=CONSOLE_SORT_FIELDS)
    except AppError:
        form.add_error("user_ids", MSG_FIX_FILTERS)
        return
    ids = list(filterset.qs.order_by().values_list("pk", flat=True)[: MAX_BULK_STUDENTS + 1])
    if len(ids) > MAX_BULK_STUDENTS:
        total = student_list_page(filterset, skip=0, limit=1)[1]
        sentence = MSG_TOO_MANY_MATCHING if form.cleaned_data["action"] == forms.GRANT else MSG_TOO_MANY_MATCHING_ACTION
        form.add_error("user_ids", sentence.format(total=f"{total:,}", limit=MAX_BULK_STUDENTS))
    elif not ids:
        form.add_error("user_ids", MSG_NO_STUDENTS)
    else:
        form.cleaned_data["user_ids"] = ids


def _refused_by_name(refused):
    """[(name, reason)] of a refused bulk action: staff know students by name, not id."""
    names = dict(Student.objects.filter(pk__in=list(refused)).values_list("pk", "full_name"))
    return [(names.get(user_id, user_id), reason) for user_id, reason in refused.items()]


# The list's filters are the JSON list's, and so are their rules; a page speaks of its own
# controls rather than of query parameters.
PAGE_FILTER_WORDING = {
    "start_date": "Pick a date from the calendar (for example 2026-06-04).",
    "end_date": "Pick a date from the calendar (for example 2026-06-04).",
    "sort_by": "That column cannot be sorted; choose a column heading to sort by it.",
    "sort_order": "That column cannot be sorted; choose a column heading to sort by it.",
    "status": "Choose Active, Inactive or Any status.",
    "search": f"Search for at most {MAX_SEARCH_LENGTH} characters.",
    "cohort": "Choose a cohort from the list.",
    "advisor": "Choose an advisor from the list.",
    "group": "Choose a group from the list.",
}
MSG_PAGE_DATE_RANGE = "“Last seen from” is after “to”: swap the two dates or clear one."


def _staff_wording(errors):
    wording = {}
    for field, messages_ in errors.items():
        if messages_ == [MSG_DATE_RANGE]:
            wording[field] = [MSG_PAGE_DATE_RANGE]
        else:
            wording[field] = [PAGE_FILTER_WORDING.get(field, message) for message in messages_]
    return wording


def _render_students_list(request, *, bulk_form=None, refused=(), nothing_done=None, status=200):
    """Queries: the total, page rows, programmes of the page rows (students.listing selectors; no rows:
    no programmes query), the programme options, and the case-study options when the user may
    grant."""
    listing = ListRequest.from_query(request.GET, request.tenant.tzinfo)
    rows, total, errors = [], 0, {}
    try:
        filterset = student_list_filterset(
            listing.selector_params, archived=listing.archived, sort_fields=CONSOLE_SORT_FIELDS
        )
        rows, total = student_list_page(filterset, skip=listing.skip, limit=listing.page_size)
        if not rows and total:  # a page past the end: the last page instead
            listing.clamp(total)
            rows, total = student_list_page(filterset, skip=listing.skip, limit=listing.page_size)
    except AppError as error:
        errors = _staff_wording(error.errors or {"__all__": [error.message]})

    # Archived students take no attempts (revoking stays possible) and the export lists current
    # students only.
    can_manage = has_permission(request.user, ATTEMPTS_MANAGE) and not listing.archived
    bulk_actions = bulk_actions_for(request.user, archived=listing.archived)
    offered = {a for a, _ in bulk_actions}
    if bulk_actions and bulk_form is None:
        # The group the list is filtered by is the one members are most likely removed from.
        bulk_form = forms.BulkActionForm(initial={"group": listing.values["group"]})
    extra_filters = _extra_filters(listing, errors)
    selected = set(bulk_form.data.getlist("user_ids")) if bulk_form is not None and bulk_form.is_bound else set()

    context = {
        "rows": rows,
        "total": total,
        "errors": errors,
        "filter_errors": {k: v for k, v in errors.items() if k in ListRequest.FILTER_FIELDS},
        "other_errors": [m for k, msgs in errors.items() if k not in ListRequest.FILTER_FIELDS for m in msgs],
        "listing": listing,
        "sort": listing.sort,
        "first_row": listing.skip + 1 if rows else 0,
        "last_row": listing.skip + len(rows),
        "pages": listing.page_links(total),
        "total_pages": max(1, math.ceil(total / listing.page_size)),
        "page_sizes": PAGE_SIZES,
        "programmes": Programme.objects.order_by("code").only("code", "name"),
        "extra_filters": extra_filters,
        "statuses": [*Student.Status.choices, (ARCHIVED, "Archived")],
        "archived": listing.archived,
        "has_filters": listing.has_filters,
        "can_export": has_permission(request.user, USER_MANAGEMENT_EXPORT) and not listing.archived,
        "can_edit": has_permission(request.user, USER_MANAGEMENT_EDIT),
        "export_csv": _export_url("csv", listing),
        "export_xlsx": _export_url("xlsx", listing),
        "over_cap": total > settings.EXPORT_MAX_ROWS,
        "export_cap": settings.EXPORT_MAX_ROWS,
        "background_kinds": [(kind.name, kind.short_label) for kind in FILE_KINDS.values()],
        "background_fields": [(k, v) for k, values in listing.selector_params.lists() for v in values],
        "gradebook_csv": _export_url("csv", listing, url_name="console-gradebook"),
        "gradebook_xlsx": _export_url("xlsx", listing, url_name="console-gradebook"),
        "can_manage": can_manage,
        "bulk_actions": bulk_actions,
        "offered": offered,
        "bulk_form": bulk_form,
        "bulk_action": bulk_form.data.get("action") or forms.GRANT if bulk_form is not None and bulk_form.is_bound else "",
        "refused": refused,
        "nothing_done": nothing_done,
        "case_study_options": bulk_case_study_options() if offered & {forms.GRANT, forms.REVOKE} else [],
        # The group filter's options (already read) are the bar's groups too.
        "group_options": next(f["options"] for f in extra_filters if f["name"] == "group")
        if offered & {forms.GROUP_ADD, forms.GROUP_REMOVE}
        else [],
        "reason_max_length": MAX_REASON_LENGTH,
        "bulk_limit": MAX_BULK_STUDENTS,
        "selected": selected,
    }
    return render(request, "console/students/list.html", context, status=status)


def _extra_filters(listing, errors):
    """The filters beyond the seed's, as selects: cohorts, groups, and the staff who advise
    someone. One query each."""
    advisors = (
        StaffUser.objects.filter(Exists(Student.objects.filter(advisor_id=OuterRef("pk"))))
        .order_by("full_name", "email")
        .values_list("pk", "full_name", "email")
    )
    choices = [
        ("cohort", "Cohort", "All cohorts", Cohort.objects.order_by("name", "id").values_list("pk", "name")),
        ("group", "Group", "All groups", StudentGroup.objects.order_by("name", "id").values_list("pk", "name")),
        ("advisor", "Advisor", "All advisors", ((pk, name or email) for pk, name, email in advisors)),
    ]
    return [
        {
            "name": name,
            "label": label,
            "all": every,
            "options": [(str(value), text) for value, text in options],
            "value": listing.values[name],
            "errors": errors.get(name),
        }
        for name, label, every, options in choices
    ]


def _export_url(file_format, listing, *, url_name="console-student-export"):
    return f"{reverse(url_name)}?format={file_format}{listing.export_query()}"


# Student detail ------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_VIEW)
def student_detail(request, user_id):
    if request.method == "POST":
        return _student_change_attempts(request, user_id)
    try:
        student = student_get(user_id)
    except AppError:
        return not_found(request, MSG_PAGE_STUDENT_NOT_FOUND)
    return render_student_detail(request, student)


def _student_change_attempts(request, user_id):
    if not has_permission(request.user, ATTEMPTS_MANAGE):
        return forbidden(request, ATTEMPTS_MANAGE)
    form = AttemptChangeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        action = data["action"]
        change_attempts = attempts_grant if action == "grant" else attempts_revoke
        try:
            change = change_attempts(
                user_id=user_id,
                case_study_id=data["case_study"],
                attempts=data["attempts"],
                reason=data["reason"],
                actor=request.user,
            )
        except AppError as error:
            if "user_id" in (error.errors or {}) and error.errors["user_id"] == [MSG_STUDENT_UNKNOWN]:
                return not_found(request, MSG_PAGE_STUDENT_NOT_FOUND)
            apply_service_errors(form, error, {"case_study_id": "case_study", "__all__": "attempts"})
        else:
            card = change.card
            message = MSG_GRANTED if action == "grant" else MSG_REVOKED
            n = data["attempts"]
            messages.success(
                request,
                message.format(n=n, s=plural(n), title=card.case_study.title, allowed=card.attempts_allowed),
                extra_tags=f"card cs-{card.case_study.pk}",  # shown on the card that changed
            )
            url = reverse("console:student", args=[user_id])
            return redirect(f"{url}#cs-{card.case_study.pk}")
    try:
        student = student_get(user_id)
    except AppError:
        return not_found(request, MSG_PAGE_STUDENT_NOT_FOUND)
    messages.error(request, MSG_FIX_ERRORS)
    return render_student_detail(request, student, change_form=form, status=400)


def render_student_detail(request, student, *, change_form=None, archive_form=None, avatar_form=None, status=200):
    """The student's page, with a form that failed (and its errors) when given. Queries (after student_get's student + programmes): cards (sessions, then case studies
    with programmes and grant totals; the totals are counted from them), grant history; two
    more only when a grant exists on a case study the student has not attempted (its card is
    shown so it can be revoked)."""
    detail = student_detail_read(student=student)
    history = student_grant_history(student_id=student.pk)
    cards = detail.cards
    attempted = {card.case_study.pk for card in cards}
    granted_only = sorted({g.case_study_id for g in history} - attempted)
    if granted_only:
        cards += student_case_study_cards(student_id=student.pk, case_study_ids=granted_only)

    # The form that failed is shown again, with its errors, on its own card and action.
    failed = None
    if change_form is not None:
        failed = (change_form.data.get("case_study"), change_form.data.get("action"))
    panels = [
        {
            "card": card,
            "grant": change_form if failed == (card.case_study.pk, "grant") else None,
            "revoke": change_form if failed == (card.case_study.pk, "revoke") else None,
        }
        for card in cards
    ]
    shown = {card.case_study.pk for card in cards}
    # A failed form whose case study has no card here (a tampered or stale page): say so on top.
    orphan_form = change_form if change_form is not None and failed[0] not in shown else None
    context = {
        "student": student,
        "programmes": list(student.programmes.all()),
        "totals": detail,
        "panels": panels,
        "history": history,
        "history_limited": len(history) == GRANT_HISTORY_LIMIT,
        "orphan_form": orphan_form,
        "reason_max_length": MAX_REASON_LENGTH,
        "can_manage": has_permission(request.user, ATTEMPTS_MANAGE),
        "can_edit": has_permission(request.user, USER_MANAGEMENT_EDIT),
        "archive_form": archive_form,
        "avatar_form": avatar_form,
        "can_view_audit": has_permission(request.user, AUDIT_VIEW),
        "can_view_performance": has_permission(request.user, STUDENT_PERFORMANCE_VIEW),
    }
    return render(request, "console/students/detail.html", context, status=status)
