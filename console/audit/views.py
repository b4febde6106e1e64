"""The audit trail in the console: the API's filters, a page of events, newest first."""
import datetime as dt
import math

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.audit.selectors import audit_event_list
from accounts.audit.serializers import AuditEventQuerySerializer
from accounts.permissions import AUDIT_VIEW
from console.audit.labels import ACTION_GROUPS, ACTION_LABELS, TARGET_TYPES
from console.audit.readable import readable_events
from console.listing import ListRequest
from console.pages import console_page

AUDIT_PAGE_SIZE = 50
TEXT_FILTERS = ("actor", "action", "target_type", "target_id")
MSG_BAD_DATE = "Pick a date from the calendar (for example 2026-06-04)."
MSG_DATE_ORDER = "“From” is after “to”: swap the two dates or clear one."


def _filters(query, tzinfo):
    """(selector keywords, {field: [message]}, the raw values for the form)."""
    values = {name: query.get(name, "").strip() for name in (*TEXT_FILTERS, "since", "until")}
    given = {name: values[name] for name in TEXT_FILTERS if values[name]}
    serializer = AuditEventQuerySerializer(data=given)
    errors = {} if serializer.is_valid() else {k: [str(m) for m in v] for k, v in serializer.errors.items()}
    keywords = {name: serializer.validated_data.get(name) for name in TEXT_FILTERS} if not errors else {}
    for name, end in (("since", False), ("until", True)):
        if not values[name]:
            continue
        try:
            day = dt.date.fromisoformat(values[name])
        except ValueError:
            errors[name] = [MSG_BAD_DATE]
            continue
        keywords[name] = dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=tzinfo)
    if keywords.get("since") and keywords.get("until") and keywords["since"] > keywords["until"]:
        errors["since"] = [MSG_DATE_ORDER]
    return keywords, errors, values


@require_http_methods(["GET", "HEAD"])
@console_page(AUDIT_VIEW)
def audit_events(request):
    """Who changed, exported or read what, each record by its name. Queries: the count, the
    page, and one per kind of record the page's events name (readable_events)."""
    paging = ListRequest(request.GET, request.tenant.tzinfo)
    paging.page_size = AUDIT_PAGE_SIZE
    keywords, errors, values = _filters(request.GET, request.tenant.tzinfo)
    rows, total = [], 0
    if not errors:
        events = audit_event_list(**keywords)
        total = events.count()
        paging.clamp(total)
        rows = readable_events(list(events[paging.skip : paging.skip + paging.page_size])) if total else []
    context = {
        "rows": rows,
        "total": total,
        "values": values,
        "errors": errors,
        "has_filters": any(values.values()),
        "target_types": TARGET_TYPES.items(),
        "action_groups": ACTION_GROUPS,
        # An action or record type the lists do not name (a family such as "student", or a malformed one)
        # stays chosen, so the filter shows what the address asked for.
        "unlisted_action": values["action"] if values["action"] not in ACTION_LABELS else "",
        "unlisted_action_is_family": "." not in values["action"],
        "unlisted_target_type": values["target_type"] if values["target_type"] not in TARGET_TYPES else "",
        "paging": paging,
        "pages": paging.page_links(total),
        "total_pages": max(1, math.ceil(total / paging.page_size)),
        "first_row": paging.skip + 1 if rows else 0,
        "last_row": paging.skip + len(rows),
    }
    return render(request, "console/audit/list.html", context, status=400 if errors else 200)
