"""The students list's table rows, built in Python (its options: console.markup).

The list draws 25 rows (up to 200) on every request; through the template engine each variable,
filter, `{% if %}`, `{% url %}` and the status include of a row is a node to resolve, which was
the largest part of the page's CPU. Here each row is one f-string with its values escaped as the
template escaped them, the same markup the template drew (console/tests/test_list_markup.py
renders both and compares them). The template keeps everything that is drawn once.
"""
import datetime as dt
import functools
from types import SimpleNamespace

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from config.ids import OPAQUE_ID_RE
from console.badges import badge
from console.markup import escaped, grouped


def status_badge(student):
    """A student's status: an archived student's is their archiving (with its date), never "Active"."""
    if not student.archived:
        return _status(student.status)
    since = ""
    if student.graduated_on:
        since = f" · graduated {_day(student.graduated_on)}"
    elif student.withdrawn_on:
        since = f" · withdrawn {_day(student.withdrawn_on)}"
    return mark_safe(f'<span class="badge badge-muted">Archived{since}</span>')


@functools.lru_cache(maxsize=16)
def _status(status):
    return badge("status", status)


def student_rows_html(rows, *, checkboxes, selected, refused_ids):
    """The list's `<tr>`s. `checkboxes`: the bulk bar is offered (a tick box per row);
    `selected`: the ticked user ids a refused action came back with; `refused_ids`: the bar's
    refusal is about the ticked students (each box points to it)."""
    page = SimpleNamespace(  # what every row of the page shares
        checkboxes=checkboxes,
        selected=selected,
        described=' aria-describedby="bulk-users-err"' if refused_ids else "",
        href=_student_href(),
        zone=timezone.get_current_timezone(),
        now=dt.datetime.now(dt.timezone.utc),
    )
    return mark_safe("\n".join(_row(student, page) for student in rows))


def _student_href():
    """A student's page address by id: `reverse` once, then each id in its place, as `reverse`
    would put it (an opaque id has only characters it leaves unquoted); any other id through
    `reverse` itself."""
    probe = "0"
    head, _, tail = reverse("console:student", args=[probe]).rpartition(probe)

    def href(user_id):
        if OPAQUE_ID_RE.match(user_id):
            return f"{head}{user_id}{tail}"
        return reverse("console:student", args=[user_id])

    return href


def _row(student, page):
    ticked = student.user_id in page.selected
    user_id = escaped(student.user_id)
    name = escaped(student.student_name)
    codes = [escaped(programme["code"]) for programme in student.programme_rows]
    check = ""
    if page.checkboxes:
        check = (
            f'\n            <td class="col-check">'
            f'\n              <input type="checkbox" name="user_ids" value="{user_id}" id="sel-{user_id}"'
            f'{" checked" if ticked else ""} data-programmes="{"".join(f"{code} " for code in codes)}"{page.described}>'
            f'\n              <label for="sel-{user_id}" class="visually-hidden">Select {name}</label>'
            f"\n            </td>"
        )
    href = escaped(page.href(student.user_id))
    tr_class = ' class="is-selected"' if ticked else ""
    return (
        f"          <tr{tr_class}>{check}"
        f'\n            <td>'
        f'\n              <a class="cell-title" href="{href}">{name}</a>'
        f'\n              <div class="cell-sub">{escaped(student.email)}</div>'
        f"\n            </td>"
        f'\n            <td class="cell-programme" data-label="Programme" title="{", ".join(codes)}">'
        f'\n              {escaped(student.programme_label or "—")}'
        f"\n            </td>"
        f'\n            <td class="num" data-label="Case studies">{grouped(student.overall_case_studies)}</td>'
        f'\n            <td data-label="Status">{status_badge(student)}</td>'
        f'\n            <td class="nowrap" data-label="Last seen">{_last_seen(student.last_seen, page)}</td>'
        f"\n          </tr>"
    )


def _last_seen(when, page):
    """As the template's `date:'c'`, `timesince` and `date:"j M Y, H:i"`, in the current time zone."""
    if not when:
        return '<span class="faint">Never</span>'
    local = when.astimezone(page.zone)
    return (
        f'<time datetime="{local.isoformat()}" title="{escaped(timesince(when, page.now))} ago">'
        f"{_day(local)}, {local:%H:%M}</time>"
    )


def _day(date):
    """As the template's `date:"j M Y"`."""
    return f"{date.day} {MONTHS_3[date.month].title()} {date.year:04d}"
