"""Console pages for case studies: the catalogue list, one case study's overview, and its
participants tab (the same selector, filters and ordering as GET /v1/case-studies/{id}/users/)."""
import math

from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import STUDENT_PERFORMANCE_VIEW, USER_MANAGEMENT_EXPORT, USER_MANAGEMENT_VIEW, has_permission
from attempts.participants import selectors as participants
from catalogue.models import CaseStudy, Programme
from config.errors import AppError
from config.replicas import lag_tolerant
from console.exports.panel import background_export_panel
from console.listing import PAGE_SIZES, ListRequest
from console.pages import console_page, not_found

MSG_CASE_STUDY_NOT_FOUND = "No case study with this id exists here."
CATALOGUE_PAGE_SIZE = 25
SEARCH_MAX_LENGTH = participants.SEARCH_MAX_LENGTH
MSG_SEARCH_TOO_LONG = f"Use at most {SEARCH_MAX_LENGTH} characters."
MSG_UNKNOWN_PROGRAMME = "Choose a programme from the list."

JOIN_STATUS_LABELS = {
    participants.INVITED: ("Invited", "muted"),
    participants.JOINED: ("Joined", "info"),
    participants.COMPLETED: ("Completed", "good"),
}
# Column key -> (label, direction of the first click).
SORT_COLUMNS = {
    "name": ("Student", "asc"),
    "joined_at": ("Joined", "desc"),
    "last_active_at": ("Last active", "desc"),
    "best_score": ("Best score", "desc"),
}


def _case_study_or_none(case_study_id):
    programmes = Prefetch("programmes", queryset=Programme.objects.order_by("code"))
    return CaseStudy.objects.prefetch_related(programmes).filter(pk=case_study_id).first()


def _tabs(case_study, current, user):
    tabs = [{"key": "overview", "label": "Overview", "url_name": "console:case_study"}]
    if has_permission(user, STUDENT_PERFORMANCE_VIEW):
        tabs.append({"key": "participants", "label": "Participants", "url_name": "console:case_study_participants"})
    for tab in tabs:
        tab["current"] = tab["key"] == current
    return tabs


def _gradebook_files(case_study, user):
    """The header's gradebook downloads and its "Export in the background"."""
    return {
        "gradebook": _gradebook_links(case_study, user),
        "background_export": background_export_panel(user, [("case_study", case_study.pk)], kinds=["gradebook"]),
    }


def _gradebook_links(case_study, user):
    """The case study's gradebook (every listed student, this case study's columns) as CSV and
    XLSX, for those who may export; None for the others."""
    if not has_permission(user, USER_MANAGEMENT_EXPORT):
        return None
    base = f"{reverse('console-gradebook')}?case_study={case_study.pk}"
    return {"csv": f"{base}&format=csv", "xlsx": f"{base}&format=xlsx"}


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_VIEW)
def case_studies_list(request):
    """The catalogue by title, found by title and programme (so staff find the case studies a
    programme's students can be granted). An unknown programme is a 400 saying so. Queries:
    the programme options, count, page, the page's programmes."""
    paging = ListRequest(request.GET, request.tenant.tzinfo)
    paging.page_size = CATALOGUE_PAGE_SIZE
    search = request.GET.get("search", "").strip()[:SEARCH_MAX_LENGTH]
    programme_options = list(Programme.objects.order_by("code").values_list("code", "name"))
    # Any case, as the students list's programme filter takes it (its link to here passes it on).
    asked = request.GET.get("programme", "").strip()
    programme = next((code for code, _ in programme_options if code.upper() == asked.upper()), asked)
    programme_error = programme and programme not in {code for code, _ in programme_options}
    queryset = CaseStudy.objects.order_by("title", "case_study_id")
    if search:
        queryset = queryset.filter(title__icontains=search)
    if programme:
        queryset = queryset.filter(programmes__code=programme)  # codes are unique: one row each
    total = queryset.count() if not programme_error else 0
    paging.clamp(total)
    programmes = Prefetch("programmes", queryset=Programme.objects.order_by("code"))
    rows = list(queryset.prefetch_related(programmes)[paging.skip : paging.skip + paging.page_size]) if total else []
    context = {
        "rows": rows,
        "total": total,
        "search": search,
        "programme": programme,
        "programme_options": programme_options,
        "programme_error": MSG_UNKNOWN_PROGRAMME if programme_error else None,
        "paging": paging,
        "pages": paging.page_links(total),
        "total_pages": max(1, math.ceil(total / paging.page_size)),
        "can_view_participants": has_permission(request.user, STUDENT_PERFORMANCE_VIEW),
    }
    return render(request, "console/case_studies/list.html", context, status=400 if programme_error else 200)


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_VIEW)
@lag_tolerant
def case_study_overview(request, case_study_id):
    """Facts and participant counts. Queries: case study, its programmes, the summary."""
    case_study = _case_study_or_none(case_study_id)
    if case_study is None:
        return not_found(request, MSG_CASE_STUDY_NOT_FOUND)
    summary = participants.participants_summary(case_study=case_study)
    context = {
        "case_study": case_study,
        "programmes": list(case_study.programmes.all()),
        "summary": summary,
        "completion_percent": round(100 * summary[participants.COMPLETED] / summary["participants"])
        if summary["participants"]
        else 0,
        "tabs": _tabs(case_study, "overview", request.user),
        **_gradebook_files(case_study, request.user),
    }
    return render(request, "console/case_studies/overview.html", context)


class ParticipantsRequest(ListRequest):
    """The participants tab's query string: search, statuses (repeated checkboxes or a comma
    string), ordering, and page/page_size paging. Bad values are collected as field errors."""

    def __init__(self, query, tzinfo):
        super().__init__(query, tzinfo)
        self.errors = {}
        self.search = query.get("search", "").strip()
        if len(self.search) > SEARCH_MAX_LENGTH:
            self.errors["search"] = [MSG_SEARCH_TOO_LONG]
        try:
            self.statuses = participants.parse_statuses(query.getlist("statuses"))
        except AppError as error:
            self.errors.update(error.errors)
            self.statuses = participants.DEFAULT_STATUSES
        try:
            self.ordering = participants.parse_ordering(query.get("ordering"))
        except AppError as error:
            self.errors.update(error.errors)
            self.ordering = participants.DEFAULT_ORDERING

    @property
    def query_object(self):
        return participants.ParticipantQuery(statuses=self.statuses, search=self.search, ordering=self.ordering)

    def headers(self):
        """Sortable column headers: the arguments of console.markup.sort_header_html (`{% sort_th %}`)."""
        current_key = self.ordering.lstrip("-")
        current_order = "desc" if self.ordering.startswith("-") else "asc"
        headers = []
        for key, (label, first_order) in SORT_COLUMNS.items():
            active = key == current_key
            next_order = ("asc" if current_order == "desc" else "desc") if active else first_order
            headers.append(
                {
                    "label": label,
                    "href": self.href(ordering=("-" if next_order == "desc" else "") + key, page=None),
                    "active": active,
                    "order": current_order if active else "",
                    "aria_sort": ("ascending" if current_order == "asc" else "descending") if active else "none",
                    "next_order": "ascending" if next_order == "asc" else "descending",
                    "css_class": "num" if key == "best_score" else "",
                }
            )
        return headers

    @property
    def sort_caption(self):
        key = self.ordering.lstrip("-")
        return f"{SORT_COLUMNS[key][0].lower()}, {'descending' if self.ordering.startswith('-') else 'ascending'}"


@require_http_methods(["GET", "HEAD"])
@console_page(STUDENT_PERFORMANCE_VIEW)
@lag_tolerant
def case_study_participants(request, case_study_id):
    """Queries: case study, its programmes, the page with its total (one more only for a page
    past the end, which then shows the last page)."""
    case_study = _case_study_or_none(case_study_id)
    if case_study is None:
        return not_found(request, MSG_CASE_STUDY_NOT_FOUND)
    listing = ParticipantsRequest(request.GET, request.tenant.tzinfo)
    rows, total = [], 0
    if not listing.errors:
        total, rows = participants.participants_page(
            case_study=case_study, query=listing.query_object, limit=listing.page_size, offset=listing.skip
        )
        if not rows and total:
            listing.clamp(total)
            total, rows = participants.participants_page(
                case_study=case_study, query=listing.query_object, limit=listing.page_size, offset=listing.skip
            )
    for row in rows:
        row["join_label"], row["join_tone"] = JOIN_STATUS_LABELS[row["join_status"]]
        row["completion_percent"] = round(row["completion_rate"] * 100)
    context = {
        "case_study": case_study,
        "programmes": list(case_study.programmes.all()),
        "tabs": _tabs(case_study, "participants", request.user),
        **_gradebook_files(case_study, request.user),
        "listing": listing,
        "errors": listing.errors,
        "rows": rows,
        "total": total,
        "headers": listing.headers(),
        "status_choices": [
            {"value": value, "label": label, "checked": value in listing.statuses}
            for value, (label, _) in JOIN_STATUS_LABELS.items()
        ],
        "has_filters": bool(listing.search) or set(listing.statuses) != set(participants.DEFAULT_STATUSES),
        "page_sizes": PAGE_SIZES,
        "paging": listing,
        "pages": listing.page_links(total),
        "total_pages": max(1, math.ceil(total / listing.page_size)),
        "first_row": listing.skip + 1 if rows else 0,
        "last_row": listing.skip + len(rows),
    }
    return render(
        request, "console/case_studies/participants.html", context, status=400 if listing.errors else 200
    )
