"""Template helpers for the console: permission checks, sortable headers, badges, durations, the
students list's rows and options, the pager and the background-export forms."""
import datetime as dt

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.permissions import (
    AUDIT_VIEW,
    IDENTITY_MANAGE,
    USER_MANAGEMENT_EXPORT,
    USER_MANAGEMENT_VIEW,
    WEBHOOKS_MANAGE,
    has_permission,
)
from console.badges import badge
from console.markup import (
    background_export_forms_html,
    escaped,
    optgroups_html,
    options_html,
    pager_html,
    sort_header_html,
)
from console.students.rows import status_badge, student_rows_html

register = template.Library()


@register.filter
def can(user, permission):
    """`{% if request.user|can:"ATTEMPTS.can_manage" %}` — the same check the views enforce."""
    return has_permission(user, permission)


@register.simple_tag
def url_if_exists(name, *args):
    """The URL for `name`, or "" while no page is routed there yet (nav slots for later pages)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def nav_current(context, *prefixes):
    """'page' (for aria-current) when the current URL name starts with one of the prefixes."""
    match = getattr(context.get("request"), "resolver_match", None)
    name = match.url_name if match else ""
    return "page" if name and any(name.startswith(p) for p in prefixes) else ""


# The main navigation ---------------------------------------------------------------------

# (permission, URL name, the URL names' prefixes that make it current, label, drawn only once routed)
MAIN_NAV = (
    (USER_MANAGEMENT_VIEW, "console:students", ("student", "attempt"), "Students", False),
    (USER_MANAGEMENT_VIEW, "console:groups", ("group",), "Groups", True),
    (USER_MANAGEMENT_VIEW, "console:case_studies", ("case_stud",), "Case studies", True),
    (USER_MANAGEMENT_VIEW, "console:dashboard", ("dashboard",), "Dashboard", False),
    (USER_MANAGEMENT_VIEW, "console:cohorts", ("cohort",), "Cohorts", False),
    (USER_MANAGEMENT_EXPORT, "console:exports", ("export",), "Exports", False),
    (AUDIT_VIEW, "console:audit", ("audit",), "Audit", False),
    (WEBHOOKS_MANAGE, "console:webhooks", ("webhook",), "Webhooks", False),
    (IDENTITY_MANAGE, "console:identity", ("identity",), "Sign-in", False),
)


@register.simple_tag(takes_context=True)
def main_nav(context):
    """The main navigation's `<li>`s the user may follow, the current page's marked (aria-current),
    drawn in Python: as template tags they were a fifth of the list page's template nodes."""
    user = context.get("user")
    items = []
    for permission, name, prefixes, label, optional in MAIN_NAV:
        if not has_permission(user, permission):
            continue
        href = url_if_exists(name) if optional else reverse(name)
        if href:
            current = nav_current(context, *prefixes)
            items.append(f'<li><a href="{escaped(href)}" aria-current="{current}">{label}</a></li>')
    return mark_safe("\n".join(items))


# Sortable column headers --------------------------------------------------------------

# The direction a column sorts in when first clicked.
FIRST_CLICK_ORDER = {"name": "asc", "programme": "asc", "status": "asc", "last_seen": "desc", "case_studies": "desc"}


@register.simple_tag(takes_context=True)
def sort_header(context, field, label, css_class=""):
    """A <th> whose link sorts by `field`; clicking the current column toggles its direction."""
    request = context["request"]
    current_by, current_order = context["sort"]
    active = current_by == field
    next_order = ("asc" if current_order == "desc" else "desc") if active else FIRST_CLICK_ORDER.get(field, "asc")
    params = request.GET.copy()
    params["sort_by"] = field
    params["sort_order"] = next_order
    params.pop("page", None)  # a new order starts at the first page
    return sort_header_html(
        label=label,
        href="?" + params.urlencode(),
        active=active,
        order=current_order if active else "",
        aria_sort=("ascending" if current_order == "asc" else "descending") if active else "none",
        next_order="ascending" if next_order == "asc" else "descending",
        css_class=css_class,
    )


@register.simple_tag
def sort_th(header):
    """`{% sort_th h %}`: a sortable `<th>` from a dict of sort_header_html's arguments (a view's
    headers, e.g. the participants list's)."""
    return sort_header_html(**header)


# Badges --------------------------------------------------------------------------------

register.simple_tag(badge, name="badge")
register.simple_tag(status_badge, name="status_badge")


# The students list's repeated markup, drawn in Python (console.students.rows) -----------------

register.simple_tag(options_html, name="options")
register.simple_tag(optgroups_html, name="case_study_optgroups")


register.simple_tag(pager_html, name="pager")


@register.simple_tag(takes_context=True)
def background_export_forms(context):
    """The background exports' forms of `background_kinds` with `background_fields`
    (console.exports.panel)."""
    return background_export_forms_html(
        kinds=context["background_kinds"],
        fields=context["background_fields"],
        exports_url=reverse("console:exports"),
        csrf_token=context.get("csrf_token"),
    )


@register.simple_tag
def student_rows(rows, bulk_actions, selected, refused_ids):
    """`{% student_rows rows bulk_actions selected bulk_form.user_ids.errors %}`: the list's `<tr>`s."""
    return student_rows_html(rows, checkboxes=bool(bulk_actions), selected=selected, refused_ids=bool(refused_ids))


@register.simple_tag
def usage_badge(used, allowed):
    """"1/2" attempts: amber when one is left, red when none is."""
    left = allowed - used
    tone = "bad" if left <= 0 else "warn" if left == 1 else "good"
    return format_html(
        '<span class="badge badge-{} badge-usage" title="{} of {} attempts used">{}/{}</span>',
        tone,
        used,
        allowed,
        used,
        allowed,
    )


# Numbers and times ---------------------------------------------------------------------


@register.filter
def score(value):
    """75.0 -> "75", 72.5 -> "72.5", None -> "—"."""
    if value is None:
        return "—"
    return f"{value:.1f}".rstrip("0").rstrip(".")


@register.filter
def duration(value):
    """A timedelta as "9 min", "1 h 05 min" or "45 s"; "—" when unknown."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds() if isinstance(value, dt.timedelta) else value)
    if seconds < 0:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


FINAL_SCORE_RULES = {
    "highest": "Highest attempt counts",
    "latest": "Latest attempt counts",
    "first": "First attempt counts",
    "average": "Average of the attempts counts",
}


@register.filter
def final_score_rule(grading_method):
    """A case study's grading method as staff say it: "Latest attempt counts"."""
    return FINAL_SCORE_RULES.get(grading_method, grading_method)


@register.filter
def signed(value):
    """+2 / −1 (a real minus sign)."""
    return f"+{value}" if value > 0 else f"\u2212{abs(value)}"


@register.filter
def session_duration(session):
    """Start to end of an ended attempt (as the student-performance API's duration_seconds)."""
    if session.ended_at is None or session.status == "in_progress":
        return "—"
    return duration(session.ended_at - session.started_at)
