"""Markup the console draws many times a page, built in Python rather than by the template engine
(whose cost is per node: each variable, filter, tag and include): `<option>`s, the case-study
optgroups, sortable column headers. Each draws what its template fragment drew;
console/tests/test_list_markup.py renders the old fragments beside these and compares them."""
import html

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
