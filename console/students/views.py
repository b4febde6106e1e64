"""The students list and a student's page. Reads come from the students listing selector
(the same one the JSON list and the export use) and console.students.selectors (the same
detail as the JSON API). The list's POST (a bulk action) is run by console.bulk; the grant and
revoke forms of a student's page post to console.attempts.views, which draws this page again
when the change is refused.
"""
import math

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import (
    ATTEMPTS_MANAGE,
    AUDIT_VIEW,
    DATA_RIGHTS_MANAGE,
    STUDENT_PERFORMANCE_VIEW,
    USER_MANAGEMENT_EDIT,
    USER_MANAGEMENT_EXPORT,
    USER_MANAGEMENT_VIEW,
    has_permission,
)
from attempts.grants.services import MAX_ATTEMPTS, MAX_REASON_LENGTH, MIN_ATTEMPTS
from attempts.selectors import student_case_study_cards
from config.errors import AppError
from config.replicas import lag_tolerant
from console.bulk.selectors import every_programme, listed_programmes_with_students, programmes_with_students
from console.bulk.views import bulk_bar, students_bulk_action
from console.exports.panel import background_export_panel
from console.listing import ARCHIVED, PAGE_SIZES, ListRequest, filter_controls
from console.pages import console_page, student_not_found
from console.students.selectors import GRANT_HISTORY_LIMIT, list_filter_choices, student_grant_history
from console.students.selectors import student_detail as student_detail_read
from students.imports.selectors import student_import_get
from students.listing.filters import MAX_SEARCH_LENGTH, MSG_DATE_RANGE
from students.listing.selectors import student_file_filterset, student_get, student_list_page
from students.models import LISTED, Student


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(USER_MANAGEMENT_VIEW)
@lag_tolerant
def students_list(request):
    """The list; a POST runs a bulk action on the ticked rows (or all matching) and comes back to
    the same URL (console.bulk)."""
    if request.method == "POST":
        return students_bulk_action(request, render_list=_render_students_list)
    return _render_students_list(request)


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
    "imported": "That is not an import's id: follow the link from the Import page again.",
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


def _render_students_list(request, *, bulk_form=None, refused=(), refused_heading=None, status=200):
    """Queries: the total, page rows, programmes of the page rows (students.listing selectors; no rows:
    no programmes query), the programme options, and the case-study options when the user may
    grant; with the `imported` filter, the import (its time, who applied it, its counts)."""
    listing = ListRequest.from_query(request.GET, request.tenant.tzinfo)
    rows, total, errors, filterset = [], 0, {}, None
    try:
        filterset = student_file_filterset(listing.selector_params, archived=listing.archived)
        rows, total = student_list_page(filterset, skip=listing.skip, limit=listing.page_size)
        if not rows and total:  # a page past the end: the last page instead
            listing.clamp(total)
            rows, total = student_list_page(filterset, skip=listing.skip, limit=listing.page_size)
    except AppError as error:
        errors = _staff_wording(error.errors or {"__all__": [error.message]})

    # Archived students take no attempts (revoking stays possible) and the export lists current
    # students only.
    can_manage = has_permission(request.user, ATTEMPTS_MANAGE) and not listing.archived
    controls = filter_controls()
    programmes = _programmes(request, filterset)
    extra_filters = _extra_filters(listing, errors, controls)

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
        "page_size_options": [(size, size) for size in PAGE_SIZES],
        "programmes": programmes,
        "programme_options": [(programme.code, f"{programme.name} ({programme.code})") for programme in programmes],
        "extra_filters": extra_filters,
        "controls": controls,
        "statuses": [*controls["status"]["choices"], (ARCHIVED, "Archived")],
        "archived": listing.archived,
        "has_filters": listing.has_filters,
        "imported": _import_filter(listing, errors),
        "can_export": has_permission(request.user, USER_MANAGEMENT_EXPORT) and not listing.archived,
        "can_edit": has_permission(request.user, USER_MANAGEMENT_EDIT),
        "export_csv": _export_url("csv", listing),
        "export_xlsx": _export_url("xlsx", listing),
        "over_cap": total > settings.EXPORT_MAX_ROWS,
        "export_cap": settings.EXPORT_MAX_ROWS,
        # Its "Export in the background", with the list's filters (none for staff who may not export).
        **(background_export_panel(request.user, [(k, v) for k, values in listing.selector_params.lists() for v in values]) or {}),
        "gradebook_csv": _export_url("csv", listing, url_name="console-gradebook"),
        "gradebook_xlsx": _export_url("xlsx", listing, url_name="console-gradebook"),
        "can_manage": can_manage,
        **bulk_bar(
            request,
            archived=listing.archived,
            group=listing.values["group"],
            # The group filter's options (already read) are the bar's groups too.
            group_options=next(f["options"] for f in extra_filters if f["name"] == "group"),
            programmes=programmes,
            form=bulk_form,
            refused=refused,
            refused_heading=refused_heading,
        ),
    }
    return render(request, "console/students/list.html", context, status=status)


def _import_filter(listing, errors):
    """The active `imported` filter, said in words above the list with a link that clears it."""
    value = listing.values["imported"].strip()
    if not value:
        return None
    refused = errors.get("imported")
    return {
        "run": None if refused else student_import_get(import_id=value),
        "errors": refused,
        "clear": listing.href(imported=None, page=None),
    }


def _programmes(request, filterset):
    """The programme filter's options. For those who may grant or revoke, each says whether the
    students the filters match are in it (the bulk bar offers those programmes' case studies);
    with bad filters, every programme does. One query."""
    if has_permission(request.user, ATTEMPTS_MANAGE):
        if filterset is None:
            return programmes_with_students(Student.objects.filter(LISTED))
        return listed_programmes_with_students(filterset)
    return every_programme()


def _extra_filters(listing, errors, controls):
    """The filters beyond the seed's, as selects (labelled as the FilterSet labels them):
    cohorts, groups, and the staff who advise someone. One query for the three."""
    choices = list_filter_choices()
    every = {"cohort": "All cohorts", "group": "All groups", "advisor": "All advisors"}
    return [
        {
            "name": name,
            "label": controls[name]["label"],
            "all": every[name],
            "options": [(value, text) for value, text in choices[name]],
            "value": listing.values[name],
            "errors": errors.get(name),
        }
        for name in ("cohort", "group", "advisor")
    ]


def _export_url(file_format, listing, *, url_name="console-student-export"):
    return f"{reverse(url_name)}?format={file_format}{listing.export_query()}"


# Student detail ------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_VIEW)
def student_detail(request, user_id):
    try:
        student = student_get(user_id)
    except AppError:
        return student_not_found(request)
    return render_student_detail(request, student)


def render_student_detail(
    request, student, *, change_form=None, avatar_form=None, erase_form=None, status=200
):
    """The student's page, with a form that failed (and its errors) when given. Queries (after student_get's one): cards (sessions, then case studies
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
        "programmes": student.programme_rows,
        "totals": detail,
        "panels": panels,
        "history": history,
        "history_limited": len(history) == GRANT_HISTORY_LIMIT,
        "orphan_form": orphan_form,
        "reason_max_length": MAX_REASON_LENGTH,
        "attempts_min": MIN_ATTEMPTS,
        "attempts_max": MAX_ATTEMPTS,
        "can_manage": has_permission(request.user, ATTEMPTS_MANAGE),
        "can_edit": has_permission(request.user, USER_MANAGEMENT_EDIT),
        "avatar_form": avatar_form,
        "erase_form": erase_form,
        "can_manage_data_rights": has_permission(request.user, DATA_RIGHTS_MANAGE),
        "can_view_audit": has_permission(request.user, AUDIT_VIEW),
        "can_view_performance": has_permission(request.user, STUDENT_PERFORMANCE_VIEW),
    }
    return render(request, "console/students/detail.html", context, status=status)
