"""The students list page's template rendered by Django's engine beside the same page in Jinja2:
how much of the HTML list's time a faster template engine would take back.

    .venv/bin/python bench/template_engine.py --tenant million [--runs 300]

One GET /students/ in this process (signed in as bench/request_floor.py's operator, found or
made, so the page has its bulk bar) gives the view's context and request. The page's four templates
(console/base.html, console/students/list.html, _bulk_bar.html, _import_filter.html) are turned
into Jinja2 by the few rewrites below (their tags are calls of the same Python helpers the
Django tags call: the rows, options, pager, sort headers, navigation), and the Jinja2 page is
checked to be the Django page, byte for byte apart from the CSRF token's mask. Then both render
the same context, interleaved; the lines give medians. Nothing here is served: the console
renders with Django's engine.
"""
import argparse
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import jinja2  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.humanize.templatetags.humanize import intcomma  # noqa: E402
from django.contrib.messages import get_messages  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.template import defaultfilters  # noqa: E402
from django.template.loader import get_template  # noqa: E402
from django.templatetags.static import static  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from markupsafe import Markup  # noqa: E402

import console.students.views as list_views  # noqa: E402
from bench.clients import staff_user  # noqa: E402
from bench.request_floor import interleaved_medians  # noqa: E402
from bench.server_throughput import tenant_and_host  # noqa: E402
from console.templatetags import console as tags  # noqa: E402

TEMPLATES = ("console/base.html", "console/students/list.html", "console/students/_bulk_bar.html",
             "console/students/_import_filter.html")
CALLED_TAGS = "options|case_study_optgroups|sort_header|pager|student_rows|main_nav|background_export_forms"
ARGUMENT = re.compile(r"\"[^\"]*\"|'[^']*'|\S+")
CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')

# Django template syntax -> Jinja2, as these four templates use it.
REWRITES = [
    (r"\{% load [^%]*%\}", ""),
    (r"(?s)\{% comment %\}.*?\{% endcomment %\}", ""),
    (r"\{% url '([^']+)' %\}", r"{{ url('\1') }}"),
    (r"\{% url '([^']+)' (\w+) %\}", r"{{ url('\1', \2) }}"),
    (r"\{% static '([^']+)' %\}", r"{{ static('\1') }}"),
    (r"\{% csrf_token %\}", "{{ csrf_input }}"),
    (r"\|join:\"([^\"]*)\"", r'|join("\1")'),
    (r"\|default_if_none:'([^']*)'", r"|default_if_none('\1')"),
    (r"\|default:'([^']*)'", r"|default('\1', true)"),
    (r"\|default:\"([^\"]*)\"", r"|default('\1', true)"),
    (r"\|default:([\w.]+)", r"|default(\1, true)"),
    (r"\|slice:\":5\"", "[:5]"),
    (r"\|pluralize:\"([^\"]*)\"", r'|pluralize("\1")'),
    (r"\|date:'([^']*)'", r"|date('\1')"),
    (r"\|date:\"([^\"]*)\"", r"|date('\1')"),
    (r"(bulk_form\.\w+)\.value\b", r"\1.value()"),  # a bound field's value: a method Django's engine calls
    (r"\.non_field_errors(?=[ }%])", ".non_field_errors()"),
    (r"forloop\.last", "loop.last"),
]


def to_jinja(text):
    for pattern, replacement in REWRITES:
        text = re.sub(pattern, replacement, text)

    def called(match):
        return "{{ %s(%s) }}" % (match.group(1), ", ".join(ARGUMENT.findall(match.group(2))))

    text = re.sub(r"\{% (" + CALLED_TAGS + r") ?([^%]*)%\}", called, text)
    text = re.sub(r"\{% with ([^%]*)%\}", lambda m: "{% with " + ", ".join(m.group(1).split()) + " %}", text)
    return text


def jinja_page(request, context):
    """A function rendering the list page from `context` in Jinja2, as the view's Django one does."""
    loader = jinja2.DictLoader({name: to_jinja(get_template(name).template.source) for name in TEMPLATES})
    environment = jinja2.Environment(loader=loader, autoescape=True, keep_trailing_newline=True)
    environment.globals.update(
        url=lambda name, *args: reverse(name, args=args),
        static=static,
        options=tags.options_html,
        case_study_optgroups=tags.optgroups_html,
        pager=tags.pager_html,
        student_rows=tags.student_rows,
    )
    environment.filters.update(
        intcomma=intcomma,
        pluralize=lambda value, suffix="s": defaultfilters.pluralize(value, suffix),
        date=defaultfilters.date,
        urlencode=defaultfilters.urlencode,
        default_if_none=lambda value, default: default if value is None else value,
    )
    page = environment.get_template("console/students/list.html")

    def render():
        token = get_token(request)
        return page.render({
            **context,
            "request": request,
            "user": request.user,
            "messages": get_messages(request),
            "csrf_token": token,
            "csrf_input": Markup(f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'),
            "main_nav": lambda: tags.main_nav({"user": request.user, "request": request}),
            "sort_header": lambda *args: tags.sort_header({"request": request, "sort": context["sort"]}, *args),
            "background_export_forms": lambda: tags.background_export_forms({**context, "csrf_token": token}),
        })

    return render


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    tenant, host = tenant_and_host(args.tenant)
    browser = Client(HTTP_HOST=host)
    with schema_context(tenant.schema_name):
        browser.force_login(staff_user(f"bench-floor@{args.tenant}.localhost", roles=["operator"]))

    seen = {}
    django_render = list_views.render

    def keep(request, name, context, status=200):
        seen.update(request=request, context=context)
        return django_render(request, name, context, status=status)

    list_views.render = keep
    try:
        response = browser.get("/students/")
    finally:
        list_views.render = django_render
    assert response.status_code == 200, response.status_code
    request, context = seen["request"], seen["context"]

    with schema_context(tenant.schema_name):
        django_page = get_template("console/students/list.html")

        def django_render_page():
            return django_page.render(context, request)

        jinja_render_page = jinja_page(request, context)
        same = [CSRF_VALUE.sub("", html) for html in (django_render_page(), jinja_render_page())]
        if same[0] != same[1]:
            sys.exit("the Jinja2 page differs from the Django page: the rewrites miss something new in the templates")
        django_ms, jinja_ms = interleaved_medians(args.runs, django_render_page, jinja_render_page)

    print(f"the students list page of {args.tenant} ({len(same[0]):,} bytes of HTML, {settings.TEMPLATES[0]['BACKEND']}), "
          f"medians of {args.runs} interleaved renders of the same context:")
    print(f"  Django's engine  {django_ms:6.2f} ms")
    print(f"  Jinja2           {jinja_ms:6.2f} ms   ({django_ms - jinja_ms:.2f} ms less, {jinja_ms / django_ms:.2f}x)")
    print(f"command: .venv/bin/python bench/template_engine.py --tenant {args.tenant} --runs {args.runs}")


if __name__ == "__main__":
    main()
