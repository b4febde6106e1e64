"""The students list's rows, status badges, options, sortable headers, pager and background-export
forms, drawn in Python (console.students.rows, console.markup),
against the template markup they replace: the same elements, attributes, classes and text, so
the stylesheet, console.js and the browser tests see the page they saw. The old fragments are
kept here verbatim; the comparison is Django's HTML equality (whitespace between elements and
attribute order aside)."""
import datetime as dt

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test.html import parse_html
from django.utils import timezone

from catalogue.models import Programme
from console.markup import background_export_forms_html, optgroups_html, options_html, pager_html, sort_header_html
from console.students.rows import status_badge, student_rows_html
from students.models import Student

# list.html's rows and _status.html before they were drawn in Python.
OLD_STATUS = (
    '{% if student.archived %}<span class="badge badge-muted">Archived{% if student.graduated_on %} · graduated '
    '{{ student.graduated_on|date:"j M Y" }}{% elif student.withdrawn_on %} · withdrawn '
    '{{ student.withdrawn_on|date:"j M Y" }}{% endif %}</span>{% else %}{% badge "status" student.status %}{% endif %}'
)
OLD_ROWS = """{% load console humanize %}
          {% for student in rows %}
          <tr{% if student.user_id in selected %} class="is-selected"{% endif %}>
            {% if bulk_actions %}
            <td class="col-check">
              <input type="checkbox" name="user_ids" value="{{ student.user_id }}" id="sel-{{ student.user_id }}"{% if student.user_id in selected %} checked{% endif %} data-programmes="{% for programme in student.programme_rows %}{{ programme.code }} {% endfor %}"
                {% if bulk_form.user_ids.errors %}aria-describedby="bulk-users-err"{% endif %}>
              <label for="sel-{{ student.user_id }}" class="visually-hidden">Select {{ student.student_name }}</label>
            </td>
            {% endif %}
            <td>
              <a class="cell-title" href="{% url 'console:student' student.user_id %}">{{ student.student_name }}</a>
              <div class="cell-sub">{{ student.email }}</div>
            </td>
            <td class="cell-programme" data-label="Programme" title="{% for programme in student.programme_rows %}{{ programme.code }}{% if not forloop.last %}, {% endif %}{% endfor %}">
              {{ student.programme_label|default:"—" }}
            </td>
            <td class="num" data-label="Case studies">{{ student.overall_case_studies|intcomma }}</td>
            <td data-label="Status">""" + OLD_STATUS + """</td>
            <td class="nowrap" data-label="Last seen">
              {% if student.last_seen %}
              <time datetime="{{ student.last_seen|date:'c' }}" title="{{ student.last_seen|timesince }} ago">{{ student.last_seen|date:"j M Y, H:i" }}</time>
              {% else %}<span class="faint">Never</span>{% endif %}
            </td>
          </tr>
          {% endfor %}"""
# console/includes/sort_header.html, before the headers were drawn in Python.
OLD_SORT_HEADER = (
    '<th scope="col" aria-sort="{{ aria_sort }}" class="sortable{% if active %} is-sorted{% endif %} {{ css_class }}">'
    '<a href="{{ href }}" title="Sort {{ next_order }}">{{ label }}<span class="sort-arrow" aria-hidden="true">'
    '{% if order == "asc" %}▲{% elif order == "desc" %}▼{% else %}↕{% endif %}</span></a></th>'
)
OLD_OPTGROUPS = """{% for programme, choices in case_study_options %}
        <optgroup label="{{ programme.name }} ({{ programme.code }})" data-programme="{{ programme.code }}">
          {% for value, label in choices %}<option value="{{ value }}"{% if value == selected %} selected{% endif %}>{{ label }}</option>{% endfor %}
        </optgroup>
        {% endfor %}"""
OLD_OPTIONS = '{% for value, label in choices %}<option value="{{ value }}"{% if value == selected %} selected{% endif %}>{{ label }}</option>{% endfor %}'
# console/includes/pager.html and console/exports/start_forms.html, before they were drawn in Python.
OLD_PAGER = """{% load humanize %}<nav class="pager" aria-label="{{ label|default:'Pages' }}">
  <span class="muted">Page {{ page|intcomma }} of {{ total_pages|intcomma }}</span>
  <ul>
    <li>{% if pages.previous %}<a href="{{ pages.previous }}" rel="prev">‹ <span class="visually-hidden">Previous page</span></a>{% else %}<span class="page disabled" aria-hidden="true">‹</span>{% endif %}</li>
    {% for item in pages.items %}
    {% if item %}
    <li>{% with number=item.number|intcomma %}{% if item.current %}<span class="page" aria-current="page">{{ number }}</span>{% else %}<a href="{{ item.href }}" aria-label="Page {{ number }}">{{ number }}</a>{% endif %}{% endwith %}</li>
    {% else %}<li><span class="page gap" aria-hidden="true">…</span></li>{% endif %}
    {% endfor %}
    <li>{% if pages.next %}<a href="{{ pages.next }}" rel="next">› <span class="visually-hidden">Next page</span></a>{% else %}<span class="page disabled" aria-hidden="true">›</span>{% endif %}</li>
  </ul>
</nav>"""
OLD_EXPORT_FORMS = """<div class="actions">{% url 'console:exports' as exports_url %}
  {% for kind, label in background_kinds %}
  <form method="post" action="{{ exports_url }}" class="inline-form">
    {% csrf_token %}
    <input type="hidden" name="kind" value="{{ kind }}">
    {% for name, value in background_fields %}<input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
    <button type="submit" class="btn" name="format" value="csv" data-background="{{ kind }}-csv">{{ label }} CSV</button>
    <button type="submit" class="btn" name="format" value="xlsx" data-background="{{ kind }}-xlsx">{{ label }} XLSX</button>
  </form>
  {% endfor %}
</div>"""
# console/base.html's main navigation, before it was drawn in Python (console.templatetags.console.main_nav).
OLD_NAV = """{% load console %}
              {% if user|can:"USER_MANAGEMENT.can_view" %}
              <li><a href="{% url 'console:students' %}" aria-current="{% nav_current 'student' 'attempt' %}">Students</a></li>
              {% url_if_exists 'console:groups' as groups_url %}
              {% if groups_url %}<li><a href="{{ groups_url }}" aria-current="{% nav_current 'group' %}">Groups</a></li>{% endif %}
              {% url_if_exists 'console:case_studies' as case_studies_url %}
              {% if case_studies_url %}<li><a href="{{ case_studies_url }}" aria-current="{% nav_current 'case_stud' %}">Case studies</a></li>{% endif %}
              <li><a href="{% url 'console:dashboard' %}" aria-current="{% nav_current 'dashboard' %}">Dashboard</a></li>
              <li><a href="{% url 'console:cohorts' %}" aria-current="{% nav_current 'cohort' %}">Cohorts</a></li>
              {% endif %}
              {% if user|can:"USER_MANAGEMENT.can_export" %}<li><a href="{% url 'console:exports' %}" aria-current="{% nav_current 'export' %}">Exports</a></li>{% endif %}
              {% if user|can:"AUDIT.can_view" %}<li><a href="{% url 'console:audit' %}" aria-current="{% nav_current 'audit' %}">Audit</a></li>{% endif %}
              {% if user|can:"WEBHOOKS.can_manage" %}<li><a href="{% url 'console:webhooks' %}" aria-current="{% nav_current 'webhook' %}">Webhooks</a></li>{% endif %}
              {% if user|can:"IDENTITY.can_manage" %}<li><a href="{% url 'console:identity' %}" aria-current="{% nav_current 'identity' %}">Sign-in</a></li>{% endif %}"""

SEEN = dt.datetime(2026, 6, 4, 23, 30, 5, tzinfo=dt.timezone.utc)


def _student(user_id, first, last, **fields):
    values = {
        "email": f"{user_id}@uni.example",
        "status": "active",
        "programme_label": "",
        "last_seen": SEEN,
        **fields,
    }
    programme_rows = values.pop("programme_rows", [])
    overall = values.pop("overall_case_studies", 3)
    student = Student(user_id=user_id, first_name=first, last_name=last, **values)
    student.programme_rows = programme_rows
    student.overall_case_studies = overall
    return student


ROWS = [
    _student("6b14e20c65d72ec81bf52e0b", "Chidinma", "Okafọr", programme_label="Masters in Business Administration",
             programme_rows=[{"code": "MBA1234", "name": "MBA"}, {"code": "MSC2001", "name": "MSc"}]),
    _student("a.b:c-d_e", "Zoë", "Brontë", status="inactive", overall_case_studies=1234567, last_seen=None),
    _student("6b14e20c65d72ec81bf52e0c", '<script>alert("x")</script>', "O'Brien & Sons", email="o'brien&<x>@uni.example",
             programme_label="Law & Société <b>", programme_rows=[{"code": "L&W\"1", "name": "Law"}]),
    _student("6b14e20c65d72ec81bf52e0d", "Søren", "Kierkegård", archived=True, graduated_on=dt.date(2026, 1, 9)),
    _student("6b14e20c65d72ec81bf52e0e", "Ada", "Obi", archived=True, withdrawn_on=dt.date(2025, 12, 31), overall_case_studies=0),
    _student("6b14e20c65d72ec81bf52e0f", "Bea", "Ng", archived=True, status="inactive"),
    _student("6b14e20c65d72ec81bf52e10", "Cy", "Lu", status="on_leave", last_seen=SEEN - dt.timedelta(days=400)),
]


class _BulkForm:
    """What the old template read of the bulk form: `user_ids.errors`."""

    def __init__(self, refused):
        self.user_ids = type("Field", (), {"errors": ["refused"] if refused else []})()


def _same(old, new):
    assert parse_html(str(new)) == parse_html(old), f"\nold:\n{old}\nnew:\n{new}"


@pytest.mark.parametrize("zone", ["UTC", "Africa/Lagos", "America/St_Johns"])
@pytest.mark.parametrize("checkboxes", [True, False])
@pytest.mark.parametrize("refused", [True, False])
def test_rows_are_the_templates_markup(zone, checkboxes, refused):
    selected = {ROWS[0].user_id, ROWS[3].user_id}
    with timezone.override(zone):
        old = Template(OLD_ROWS).render(Context({
            "rows": ROWS,
            "bulk_actions": [("grant", "Grant")] if checkboxes else [],
            "selected": selected,
            "bulk_form": _BulkForm(refused),
        }))
        new = student_rows_html(ROWS, checkboxes=checkboxes, selected=selected, refused_ids=refused)
    _same(old, new)
    assert new.count("<tr") == len(ROWS)


def test_rows_escape_what_students_and_staff_wrote():
    html = student_rows_html(ROWS[2:3], checkboxes=True, selected=set(), refused_ids=False)
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'title="L&amp;W&quot;1"' in html and 'data-programmes="L&amp;W&quot;1 "' in html
    assert "Law &amp; Société &lt;b&gt;" in html


def test_an_id_reverse_would_quote_is_linked_as_reverse_links_it():
    odd = _student("x y%é", "Odd", "Id")
    old = Template(OLD_ROWS).render(Context({"rows": [odd], "bulk_actions": [], "selected": set(), "bulk_form": None}))
    new = student_rows_html([odd], checkboxes=False, selected=set(), refused_ids=False)
    _same(old, new)
    assert 'href="/students/x%20y%25%C3%A9/"' in new


@pytest.mark.parametrize("student", ROWS, ids=lambda s: s.user_id)
def test_status_badge_is_the_templates(student):
    _same(Template("{% load console %}" + OLD_STATUS).render(Context({"student": student})), status_badge(student))


@pytest.mark.parametrize(
    "choices, selected",
    [
        ([("BSC1101", "BSc Accounting (BSC1101)"), ("MBA1234", "Masters & <More> (MBA1234)")], "MBA1234"),
        ([("active", "Active"), ("inactive", "Inactive"), ("archived", "Archived")], ""),
        ([(10, 10), (25, 25), (50, 50), (100, 100)], 25),
        ([(10, 10), (25, 25)], "25"),  # as the template's ==: a string is not the number
        ([('a"b', "quote's"), ("x", "y")], 'a"b'),
        ([], None),
    ],
)
def test_options_are_the_templates(choices, selected):
    old = Template(OLD_OPTIONS).render(Context({"choices": choices, "selected": selected}))
    _same(old, options_html(choices, selected))


@pytest.mark.parametrize("selected", ["cs2", "nothing", None])
def test_case_study_optgroups_are_the_templates(selected):
    groups = [
        (Programme(code="MBA1234", name="Masters in Business Administration"), [("cs1", "Leadership"), ("cs2", "Pricing & <Risk>")]),
        (Programme(code='L&W"1', name="Law & Société"), [("cs2", "Pricing & <Risk>")]),
    ]
    old = Template(OLD_OPTGROUPS).render(Context({"case_study_options": groups, "selected": selected}))
    _same(old, optgroups_html(groups, selected))


@pytest.mark.parametrize(
    "header",
    [
        {"label": "Name", "href": "?sort_by=name&sort_order=desc", "active": True, "order": "asc",
         "aria_sort": "ascending", "next_order": "descending", "css_class": ""},
        {"label": "Case studies", "href": "?search=a%26b&sort_by=case_studies&sort_order=desc", "active": False, "order": "",
         "aria_sort": "none", "next_order": "descending", "css_class": "num"},
        {"label": "Best <score>", "href": "?ordering=-best_score", "active": True, "order": "desc",
         "aria_sort": "descending", "next_order": "ascending", "css_class": "num"},
    ],
)
def test_sort_headers_are_the_templates(header):
    _same(Template(OLD_SORT_HEADER).render(Context(header)), sort_header_html(**header))


def _pages(page, last):
    """ListRequest.page_links's answer for `page` of `last` pages (hrefs with characters to escape)."""
    numbers = sorted({1, last} | set(range(max(1, page - 2), min(last, page + 2) + 1)))
    items, previous = [], 0
    for number in numbers:
        if number - previous > 1:
            items.append(None)
        items.append({"number": number, "current": number == page, "href": f"?search=a%26b&x=<{number}>&page={number}"})
        previous = number
    href = "?q=\"&page={}".format
    return {"items": items, "previous": href(page - 1) if page > 1 else None, "next": href(page + 1) if page < last else None}


@pytest.mark.parametrize(("page", "last", "label"), [(1, 2, ""), (2, 2, "Member pages"), (6, 14, ""), (1200, 1234, "<Case> pages")])
def test_the_pager_is_the_templates(page, last, label):
    context = {"pages": _pages(page, last), "page": page, "total_pages": last, "label": label}
    old = Template(OLD_PAGER).render(Context(context))
    _same(old, pager_html(**context))
    # The include other pages draw it with is the same.
    _same(old, render_to_string("console/includes/pager.html", context))


@pytest.mark.parametrize("fields", [[], [("status", "active"), ("search", 'O\'Brien & "Sons" <b>')]])
@pytest.mark.parametrize("csrf_token", ["tok<en>", "NOTPROVIDED", ""])
def test_the_background_export_forms_are_the_templates(fields, csrf_token):
    from django.urls import reverse

    kinds = [("students", "Students"), ("gradebook", "Grade<book>")]
    context = {"background_kinds": kinds, "background_fields": fields, "csrf_token": csrf_token}
    old = Template(OLD_EXPORT_FORMS).render(Context(context))
    _same(old, background_export_forms_html(kinds=kinds, fields=fields, exports_url=reverse("console:exports"), csrf_token=csrf_token))
    _same(old, render_to_string("console/exports/start_forms.html", context))


@pytest.mark.parametrize("path", ["/students/", "/students/abc/", "/cohorts/", "/exports/", "/audit/", "/webhooks/", "/identity/", "/dashboard/"])
@pytest.mark.parametrize("roles", [["admin"], ["operator"], ["viewer"], [], "superuser", "inactive"])
def test_the_main_navigation_is_the_templates(path, roles):
    from django.test import RequestFactory
    from django.urls import Resolver404, resolve

    from testing.factories import StaffUserFactory

    if roles == "superuser":
        user = StaffUserFactory(is_superuser=True)
    else:
        user = StaffUserFactory(roles=[] if roles == "inactive" else roles, is_active=roles != "inactive")
    request = RequestFactory().get(path)
    try:
        request.resolver_match = resolve(path)
    except Resolver404:
        request.resolver_match = None
    context = {"user": user, "request": request}
    old = Template(OLD_NAV).render(Context(context))
    new = Template("{% load console %}{% main_nav %}").render(Context(context))
    assert old.count("<li>") == new.count("<li>") and (roles != "admin" or new.count("<li>") == 9)
    _same(old, new)
