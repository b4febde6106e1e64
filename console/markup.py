"""Markup the console draws many times a page, built in Python rather than by the template engine
(whose cost is per node: each variable, filter, tag and include): `<option>`s, the case-study
optgroups, sortable column headers, the pager, the background-export forms. Each draws what its template fragment drew;
console/tests/test_list_markup.py renders the old fragments beside these and compares them."""
import html

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.safestring import mark_safe


def escaped(value):
    """`value` as the template's `{{ value }}` puts it into the page: conditional_escape, without
    its lazy-string wrapper (a tenth of its cost, and the rows and options escape ~500 values)."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def options_html(choices, selected):
    """`<option>`s of (value, label) pairs; the one whose value equals `selected` (plain ==, as
    the template's `{% if value == … %}` compared) is selected."""
    return mark_safe(
        "".join(
            f'<option value="{escaped(value)}"{" selected" if value == selected else ""}>{escaped(label)}</option>'
            for value, label in choices
        )
    )


def optgroups_html(groups, selected):
    """The bulk bar's case studies: an `<optgroup>` per programme (labelled with its name and
    code, `data-programme` its code) of its (case study id, title) options."""
    return mark_safe(
        "".join(
            f'<optgroup label="{escaped(programme.name)} ({escaped(programme.code)})" data-programme="{escaped(programme.code)}">'
            f"{options_html(choices, selected)}</optgroup>"
            for programme, choices in groups
        )
    )


def sort_header_html(*, label, href, active, order, aria_sort, next_order, css_class=""):
    """A sortable column's `<th>`: its link sorts by it (`href`), the arrow shows the current order."""
    arrow = {"asc": "▲", "desc": "▼"}.get(order, "↕")
    return mark_safe(
        f'<th scope="col" aria-sort="{escaped(aria_sort)}" class="sortable{" is-sorted" if active else ""} {escaped(css_class)}">'
        f'<a href="{escaped(href)}" title="Sort {escaped(next_order)}">{escaped(label)}'
        f'<span class="sort-arrow" aria-hidden="true">{arrow}</span></a></th>'
    )


def grouped(number):
    """An integer as the template's `{{ number|intcomma }}` (which groups nothing below 1,000)."""
    return str(number) if -1000 < number < 1000 else escaped(intcomma(number))


def pager_html(pages, page, total_pages, label=""):
    """The page links (console/includes/pager.html): `pages` from ListRequest.page_links, `page`
    the current number; `label` names the navigation when a page has more than one list."""
    previous, next_ = pages["previous"], pages["next"]
    items = "".join(f"\n    <li>{_page_item(item)}</li>" for item in pages["items"])
    return mark_safe(
        f'<nav class="pager" aria-label="{escaped(label or "Pages")}">'
        f'\n  <span class="muted">Page {grouped(page)} of {grouped(total_pages)}</span>'
        "\n  <ul>"
        "\n    <li>"
        + (f'<a href="{escaped(previous)}" rel="prev">‹ <span class="visually-hidden">Previous page</span></a>' if previous
           else '<span class="page disabled" aria-hidden="true">‹</span>')
        + f"</li>{items}"
        "\n    <li>"
        + (f'<a href="{escaped(next_)}" rel="next">› <span class="visually-hidden">Next page</span></a>' if next_
           else '<span class="page disabled" aria-hidden="true">›</span>')
        + "</li>\n  </ul>\n</nav>"
    )


def _page_item(item):
    """A page number (the current one unlinked), or None: a gap."""
    if item is None:
        return '<span class="page gap" aria-hidden="true">…</span>'
    number = grouped(item["number"])
    if item["current"]:
        return f'<span class="page" aria-current="page">{number}</span>'
    return f'<a href="{escaped(item["href"])}" aria-label="Page {number}">{number}</a>'


def background_export_forms_html(*, kinds, fields, exports_url, csrf_token):
    """The background exports' buttons (console/exports/start_forms.html): a form per kind of
    file, (kind, label) of `kinds`, posting the list's filters (`fields`, (name, value) pairs)
    and the CSRF token to `exports_url`, with a button per format."""
    hidden = "".join(f'<input type="hidden" name="{escaped(name)}" value="{escaped(value)}">' for name, value in fields)
    token = ""
    if csrf_token and csrf_token != "NOTPROVIDED":  # as {% csrf_token %} draws it
        token = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escaped(csrf_token)}">'
    forms = "".join(
        f'\n  <form method="post" action="{escaped(exports_url)}" class="inline-form">'
        f"\n    {token}"
        f'\n    <input type="hidden" name="kind" value="{escaped(kind)}">'
        f"\n    {hidden}"
        f'\n    <button type="submit" class="btn" name="format" value="csv" data-background="{escaped(kind)}-csv">{escaped(label)} CSV</button>'
        f'\n    <button type="submit" class="btn" name="format" value="xlsx" data-background="{escaped(kind)}-xlsx">{escaped(label)} XLSX</button>'
        "\n  </form>"
        for kind, label in kinds
    )
    return mark_safe(f'<div class="actions">{forms}\n</div>')
