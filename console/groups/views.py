"""Console pages for student groups: the list (each group with its results) and one group.

Reads come from attempts.group_results.selectors, the same selectors the /v1/student-groups API uses,
so a figure on the page and in the API is computed by the same SQL.
"""
import math

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.permissions import USER_MANAGEMENT_VIEW
from attempts.group_results.selectors import rate, student_group_results, student_groups_results
from config.errors import AppError
from config.replicas import lag_tolerant
from console.exports.panel import background_export_panel
from console.listing import ListRequest
from console.pages import console_page, not_found
from students.groups import selectors as group_selectors
from students.models import StudentCluster

MSG_GROUP_NOT_FOUND = "No group with this id exists here."
GROUP_PAGE_SIZES = (10, 25, 50)
GROUP_PAGE_SIZE = 10
MEMBER_PAGE_SIZE = 50
# A group's results per case study, a page at a time: with 45 case studies, the table and 50
# members made a page 20,000 px tall on a phone.
RESULTS_PAGE_SIZE = 15
SEARCH_MAX_LENGTH = 200


class _Paging(ListRequest):
    """The console list's page/page_size handling and page links, with this page's sizes."""

    def __init__(self, query, tzinfo, *, sizes, default):
        super().__init__(query, tzinfo)
        size = query.get("page_size", "")
        self.page_size = int(size) if size.isdigit() and int(size) in sizes else default


class _ResultsPaging(_Paging):
    """The results table's own pages (`results_page`), beside the members' (`page`)."""

    PAGE_PARAMETER = "results_page"


def _rate_percent(value):
    return round(value * 100)


def _decorate(results):
    """Per-case-study rows with the completion rate as a whole percentage for the meter, and
    the group's summary over its case studies for the list (completed of in scope, attempts)."""
    rows = results["case_studies"]
    for row in rows:
        row["completion_percent"] = _rate_percent(row["completion_rate"])
    in_scope = sum(row["members_in_scope"] for row in rows)
    completed = sum(row["members_completed"] for row in rows)
    results["summary"] = {
        "in_scope": in_scope,
        "completed": completed,
        "completion_percent": _rate_percent(rate(completed, in_scope)),
        "attempts_used": sum(row["attempts_used"] for row in rows),
    }
    return results


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_VIEW)
@lag_tolerant
def groups_list(request):
    """Groups by name, filtered by cluster and name, each with its results.

    Queries: cluster options, count, page of groups (member counts as correlated
    subqueries), member summaries of the page's groups, per-(group, case study) results."""
    paging = _Paging(request.GET, request.tenant.tzinfo, sizes=GROUP_PAGE_SIZES, default=GROUP_PAGE_SIZE)
    search = request.GET.get("search", "").strip()[:SEARCH_MAX_LENGTH]
    clusters = list(StudentCluster.objects.order_by("name", "id").only("id", "name"))
    cluster_id = request.GET.get("cluster", "").strip()
    if cluster_id not in {c.pk for c in clusters}:
        cluster_id = ""

    queryset = group_selectors.student_group_list(cluster_id=cluster_id or None)
    if search:
        queryset = queryset.filter(name__icontains=search)
    total = queryset.count()
    paging.clamp(total)
    groups = list(queryset[paging.skip : paging.skip + paging.page_size]) if total else []
    results = student_groups_results(groups=groups)
    cluster_names = {c.pk: c.name for c in clusters}
    rows = [
        {"group": group, "cluster_name": cluster_names.get(group.cluster_id), "results": _decorate(results[group.pk])}
        for group in groups
    ]
    context = {
        "rows": rows,
        "total": total,
        "clusters": clusters,
        "cluster_id": cluster_id,
        "search": search,
        "has_filters": bool(search or cluster_id),
        "paging": paging,
        "page_sizes": GROUP_PAGE_SIZES,
        "pages": paging.page_links(total),
        "total_pages": max(1, math.ceil(total / paging.page_size)),
        "first_row": paging.skip + 1 if rows else 0,
        "last_row": paging.skip + len(rows),
    }
    return render(request, "console/groups/list.html", context)


@require_http_methods(["GET", "HEAD"])
@console_page(USER_MANAGEMENT_VIEW)
@lag_tolerant
def group_detail(request, group_id):
    """One group: its results (a page of case studies) and its members (a page of them;
    archived and deleted students left out).

    Queries: group (with member count), cluster, member summary, per-case-study results,
    members count, members page."""
    try:
        group = group_selectors.student_group_get(group_id=group_id)
    except AppError:
        return not_found(request, MSG_GROUP_NOT_FOUND)
    cluster = StudentCluster.objects.filter(pk=group.cluster_id).first() if group.cluster_id else None
    results = _decorate(student_group_results(group=group))
    results_paging = _ResultsPaging(request.GET, request.tenant.tzinfo, sizes=(RESULTS_PAGE_SIZE,), default=RESULTS_PAGE_SIZE)
    case_studies = results["case_studies"]
    results_paging.clamp(len(case_studies))
    shown = {**results, "case_studies": case_studies[results_paging.skip : results_paging.skip + results_paging.page_size]}
    paging = _Paging(request.GET, request.tenant.tzinfo, sizes=(MEMBER_PAGE_SIZE,), default=MEMBER_PAGE_SIZE)
    members_qs = group_selectors.student_group_members(group=group)
    total = members_qs.count()
    paging.clamp(total)
    members = list(members_qs[paging.skip : paging.skip + paging.page_size]) if total else []
    context = {
        "group": group,
        "cluster": cluster,
        "results": results,
        "results_shown": shown,
        "results_paging": results_paging,
        "results_pages": results_paging.page_links(len(case_studies)),
        "results_total_pages": max(1, math.ceil(len(case_studies) / RESULTS_PAGE_SIZE)),
        "members": members,
        "background_export": background_export_panel(request.user, [("group", group.pk)]),
        "total": total,
        "paging": paging,
        "pages": paging.page_links(total),
        "total_pages": max(1, math.ceil(total / paging.page_size)),
    }
    return render(request, "console/groups/detail.html", context)
