"""Every endpoint's answers on one fixed dataset, recorded so that two versions of the code can
be compared answer by answer (before and after a restructuring). Run from the project's root:

    python -m bench.answers seed --database-url postgresql://postgres@127.0.0.1:5432/answers_fixture
    python -m bench.answers record --database-url postgresql://postgres@127.0.0.1:5432/answers_fixture --out before.json
    python -m bench.answers compare before.json after.json    # a diff per answer; exit 1 if any differ

`seed` makes the dataset once, in a new database: a tenant `answers` (answers.localhost) of 60
demo students (console.demo), then a few changes made through the API, so there are advisors,
archived and deleted students, grants and revokes, a cohort, audit events and a queued export.

`record` copies that database (CREATE DATABASE … TEMPLATE, dropped afterwards), so no run sees
another's writes, migrates the copy (a no-op on the code that seeded it) and drives the app
in-process with Django's test Client on the tenant's host, as an admin (a Bearer token for
/v1/, a signed-in session for pages): the job queue worker until nothing is due; a GET of every route of the URL
resolver (the admin's aside), each path parameter filled with real, unknown and malformed ids,
lists with filter, sort, paging and bad-parameter variants (QUERIES), the schema, the CSV and
XLSX files; then writes in a fixed order, through the API and the console's forms, each
followed where useful by a read of what it changed. Each answer keeps its status, content type,
Location and Content-Disposition, and its body: JSON pretty-printed with sorted keys, HTML and
CSV as text, XLSX as its cells' values, an image as its size and hash.

Kept the same in every run: Python's clock (django.utils.timezone.now) starts at RECORD_NOW and
creeps at 1/1000 of real time, so "today", the dashboard's weeks and the dates a run writes do
not depend on when it runs; string hashing (PYTHONHASHSEED=0); each request's X-Request-ID (a
hash of its label). Normalised: ids made during the run (<new-1>, <new-2> … in order of first
appearance), times at or after RECORD_NOW (<now>, <now+24h>), "… ago" phrases (<timesince>),
CSRF, Bearer and import tokens, the file size of exports (an XLSX file holds the real time it
was written; the files' cells are compared instead).
"""
import argparse
import csv
import datetime as dt
import difflib
import hashlib
import io
import itertools
import json
import logging
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg

SLUG, HOST = "answers", "answers.localhost"
ADMIN = ("admin@answers.localhost", "answers-admin-password")
ADVISOR = ("advisor@answers.localhost", "answers-advisor-password")
RUNTIME = ("runtime@answers.localhost", "answers-runtime-password")
STUDENTS = 60
# After every date the code and the demo seeder hold (the latest: 2026-06-04), before today.
SEED_NOW = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.timezone.utc)
RECORD_NOW = SEED_NOW + dt.timedelta(days=1)
UNKNOWN_ID = "0123456789abcdef01234567"
# The demo seeder's fixed example: a student with two attempts on a case study (SPEC's own ids).
EXAMPLE_STUDENT, EXAMPLE_CASE_STUDY = "6650a1b2c3d4e5f6a7b8c9d0", "6650c3d4e5f6a7b8c9d0e1f2"


# Set-up ------------------------------------------------------------------------------------


def _database_url(url, name):
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _server(url):
    """An autocommit connection to the server's `postgres` database (to create and drop others)."""
    return psycopg.connect(_database_url(url, "postgres"), autocommit=True)


def _pin_clock(at):
    """timezone.now() starts at `at` and moves at 1/1000 of real time: runs see the same dates,
    and what they write keeps its order. Before django.setup(), so that model fields'
    `default=timezone.now` take it too."""
    from django.utils import timezone

    started = time.monotonic()
    timezone.now = lambda: at + dt.timedelta(seconds=(time.monotonic() - started) / 1000)


def _django(database_url, media_root, now):
    os.environ.update(
        DATABASE_URL=database_url, MEDIA_ROOT=str(media_root), SECRET_KEY="answers-fixed-secret-key",
        DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="ERROR", JOB_WORKERS="0",
    )
    import django

    _pin_clock(now)
    django.setup()
    logging.getLogger("console.access").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="No directory at")


def _client(token=None, host=HOST):
    from django.test import Client

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client(HTTP_HOST=host, **headers)


# Seed --------------------------------------------------------------------------------------


def seed(database_url):
    name = urlsplit(database_url).path.lstrip("/")
    with _server(database_url) as server:
        if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            sys.exit(f"The database {name} exists: drop it first, or seed another (the dataset is made once).")
        server.execute(f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory() as media:
        _django(database_url, media, SEED_NOW)
        _seed_data()
    print(f"Seeded {name}: tenant {SLUG} at {HOST}, {STUDENTS} students; sign in as {ADMIN[0]} / {ADMIN[1]}.")


def _seed_data():
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from console.demo.services import DemoBuilder

    call_command("migrate_schemas", shared=True, verbosity=0)
    quiet = {"verbosity": 0, "stdout": io.StringIO()}
    call_command("create_tenant", slug=SLUG, name="Answers University", domain=HOST, no_spare=True, **quiet)
    for (email, password), roles, name in (
        (ADMIN, ["admin"], "Ada Admin"), (ADVISOR, ["operator"], "Grace Advisor"), (RUNTIME, ["ingest"], "Runtime"),
    ):
        call_command("create_staff", tenant=SLUG, email=email, password=password, role=roles, name=name, **quiet)
    with schema_context(SLUG):
        builder = DemoBuilder(students=STUDENTS, now=SEED_NOW)
        builder.build_catalogue()
        builder.write_people()
        builder.write_transcripts_and_grades()
        builder.write_groups()
    _seed_changes()


def _seed_changes():
    """A few changes through the API, so the dataset holds what the demo seeder does not make."""

    def call(method, path, body=None):
        response = getattr(api, method)(path, body, content_type="application/json")
        assert response.status_code < 300, (method, path, response.status_code, response.content)
        return response.json()["data"] if response.content else None

    api = _client()  # signed out, for the token
    api = _client(call("post", "/v1/auth/token", {"email": ADMIN[0], "password": ADMIN[1]})["token"])
    ids = [s["user_id"] for s in call("get", "/v1/students?per_page=100&archived=false")]
    mba = [s["user_id"] for s in call("get", "/v1/console/students?programme=MBA1234&sort_by=name&limit=100")]
    advisor = next(s["id"] for s in call("get", "/v1/staff") if s["email"] == ADVISOR[0])
    for user_id in ids[1:4]:
        call("patch", f"/v1/students/{user_id}", {"advisor_id": advisor})
    call("put", f"/v1/students/{ids[4]}/archive", {"withdrawn_on": "2026-05-02"})
    call("put", f"/v1/students/{ids[5]}/archive", {"graduated_on": "2026-05-20"})
    call("delete", f"/v1/students/{ids[6]}")
    grant = {"case_study_id": EXAMPLE_CASE_STUDY, "attempts": 2, "reason": "Power cut during the session"}
    for user_id in mba[:3]:
        call("post", "/v1/console/attempts/grant", {**grant, "user_id": user_id})
    call("post", "/v1/console/attempts/revoke", {**grant, "user_id": mba[2], "attempts": 1, "reason": "Granted twice"})
    cohort = call("post", "/v1/cohorts", {"name": "Class of 2030"})
    call("patch", f"/v1/students/{ids[7]}", {"cohort_id": cohort["id"]})
    call("post", "/v1/console/exports", {"kind": "list", "format": "csv", "status": "active"})


# Record --------------------------------------------------------------------------------------


def record(database_url, out):
    seeded = urlsplit(database_url).path.lstrip("/")
    copy = f"{seeded}_copy_{os.getpid()}"
    with _server(database_url) as server:
        server.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{seeded}"')
    try:
        with tempfile.TemporaryDirectory() as media:
            _django(_database_url(database_url, copy), media, RECORD_NOW)
            from django.core.management import call_command
            from django.db import connections

            # Nothing to apply on the code that seeded it; a later version's new migrations, if any.
            call_command("migrate_schemas", shared=True, verbosity=0)
            call_command("migrate_schemas", verbosity=0)
            recorder = Recorder(ids=_dataset_ids(_database_url(database_url, copy)))
            recorder.run()
            connections.close_all()
    finally:
        with _server(database_url) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(recorder.document(), indent=1, ensure_ascii=False) + "\n")
    counts = ", ".join(f"{n} {section}" for section, n in recorder.counts().items())
    print(f"{len(recorder.answers)} answers ({counts}) in {out}")


def _dataset_ids(database_url):
    """Real ids of the seeded records each path parameter names: the first is the one query
    variants use."""
    first_of_each = {
        "user_id": [
            f"SELECT '{EXAMPLE_STUDENT}'",
            "SELECT user_id FROM students_student WHERE archived AND deleted_at IS NULL ORDER BY user_id",
            "SELECT user_id FROM students_student WHERE deleted_at IS NOT NULL ORDER BY user_id",
        ],
        "session_id": [
            "SELECT session_id FROM attempts_session WHERE student_id = %(student)s ORDER BY last_activity_at DESC",
            "SELECT session_id FROM attempts_session WHERE student_id = %(student)s ORDER BY last_activity_at",
            "SELECT session_id FROM attempts_session WHERE transcript_status = 'partial' ORDER BY session_id",
        ],
        "case_study_id": [f"SELECT '{EXAMPLE_CASE_STUDY}'"],
        "code": ["SELECT 'MBA1234'"],
        "cohort_id": ["SELECT id FROM students_cohort ORDER BY name"],
        "cluster_id": ["SELECT id FROM students_studentcluster ORDER BY name"],
        "group_id": ["SELECT id FROM students_studentgroup ORDER BY name"],
        "job_id": ["SELECT id FROM console_exportjob ORDER BY id"],
        "advisor": [f"SELECT id FROM accounts_staffuser WHERE email = '{ADVISOR[0]}'"],
    }
    current = "NOT s.archived AND s.deleted_at IS NULL AND s.user_id <> %(student)s"
    every = {
        "mba": "SELECT s.user_id FROM students_student s JOIN students_enrolment e ON e.student_id = s.user_id "
        f"JOIN catalogue_programme p ON p.id = e.programme_id WHERE p.code = 'MBA1234' AND {current} ORDER BY s.user_id",
        "others": f"SELECT s.user_id FROM students_student s WHERE {current} AND NOT EXISTS (SELECT 1 FROM "
        "students_enrolment e JOIN catalogue_programme p ON p.id = e.programme_id WHERE e.student_id = s.user_id "
        "AND p.code = 'MBA1234') ORDER BY s.user_id",
    }
    with psycopg.connect(database_url) as db:
        db.execute(f"SET search_path = {SLUG}")
        ids = {
            param: [str(db.execute(sql, {"student": EXAMPLE_STUDENT}).fetchone()[0]) for sql in sqls]
            for param, sqls in first_of_each.items()
        }
        for name, sql in every.items():
            ids[name] = [str(row[0]) for row in db.execute(sql, {"student": EXAMPLE_STUDENT})]
    return ids


# Query variants of list paths (path as the resolver reverses it, placeholders from the dataset):
# filters, sort, paging, and a bad value that must be a 400.
QUERIES = {
    "/v1/audit-events": [
        "limit=5", "limit=5&skip=5", "action=student.update", "target_type=student", "target_id={user_id}",
        "since=2026-09-01T12:00:00Z", "since=2026-06-02&until=2026-01-01", "limit=0",
    ],
    "/v1/console/students": [
        "limit=5&skip=5", "sort_by=name&sort_order=asc", "sort_by=programme&sort_order=desc", "sort_by=status",
        "sort_by=last_seen&sort_order=asc", "status=inactive", "programme=MBA1234", "search=umar",
        "search={user_id}", "start_date=2026-05-01&end_date=2026-06-01", "cohort={cohort_id}",
        "advisor={advisor}", "group={group_id}", "sort_by=nope", "start_date=2026-06-02&end_date=2026-01-01",
        "limit=abc",
    ],
    "/v1/console/students/{user_id}": ["include_case_studies=false", "include_case_studies=maybe"],
    "/v1/students": [
        "per_page=5&page=2", "archived=true", "status=withdrawn", "q=umar", "ids[]={user_id}",
        "cohort_ids[]={cohort_id}", "advisor_ids[]={advisor}", "modified_since=2026-09-01T00:00:00Z",
        "deleted_since=2026-01-01", "per_page=abc",
    ],
    "/v1/case-studies": ["is_active=false", "programme=MBA1234", "per_page=5&page=2", "is_active=maybe"],
    "/v1/case-studies/{case_study_id}/users": [
        "ordering=-best_score", "ordering=name&limit=3&offset=3", "statuses=completed", "search=a", "ordering=bogus",
    ],
    "/v1/console/attempts/grants": ["user_id={user_id}", "case_study_id={case_study_id}", "limit=2&skip=1", "limit=x"],
    "/v1/programmes": ["is_active=true", "per_page=3&page=2", "per_page=0"],
    "/v1/staff": ["per_page=1&page=2"],
    "/v1/cohorts": ["per_page=2&page=2"],
    "/v1/student-clusters": ["per_page=1&page=2"],
    "/v1/student-groups": ["student_cluster_id={cluster_id}", "per_page=2&page=2", "student_cluster_id=bad*id"],
    "/v1/student-groups/{group_id}/members": ["per_page=5&page=2"],
    "/v1/console/students/export": [
        "format=xlsx", "format=csv&status=inactive&sort_by=name", "format=csv&sort_by=case_studies&sort_order=desc",
        "format=pdf",
    ],
    "/v1/console/reports/gradebook": [
        "format=xlsx", "format=xlsx&sheet_per_programme=true", "format=csv&programme=MBA1234",
        "format=csv&case_study={case_study_id}", "format=csv&case_study=bad*id",
    ],
    "/v1/students/import/template": ["format=csv", "format=xlsx", "format=xml"],
    "/v1/schema": ["format=json"],
    "/students/": [
        "status=archived", "status=inactive&sort_by=name&sort_order=desc", "search=umar", "programme=MBA1234",
        "cohort={cohort_id}", "advisor={advisor}", "group={group_id}", "page=2&page_size=10",
        "start_date=2026-05-01&end_date=2026-06-01", "start_date=2026-06-02&end_date=2026-01-01", "sort_by=nope",
    ],
    "/audit/": ["target_id={user_id}", "action=student.update"],
    "/groups/": ["page_size=2"],
}
BAD_ID = {"code": "not a code!"}
UNKNOWN = {"code": "ZZZ9999"}


def _routes():
    """(name, path parameters) of every named route of the tenant's URLconf but the admin's."""
    from django.urls import URLResolver, get_resolver

    def walk(resolver, namespace, params):
        for entry in resolver.url_patterns:
            names = params | set(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                if entry.namespace != "admin":
                    yield from walk(entry, namespace + (f"{entry.namespace}:" if entry.namespace else ""), names)
            elif entry.name:
                yield namespace + entry.name, sorted(names)

    return walk(get_resolver(), "", set())


def _route_templates():
    """Every route's path with {parameter} placeholders, sorted (route order does not matter)."""
    from django.urls import reverse

    return sorted({unquote(reverse(name, kwargs={p: f"{{{p}}}" for p in params})) for name, params in _routes()})


# What a run makes that differs from run to run, found in answers.
CSRF_OR_TOKEN_RE = re.compile(r'name="(csrfmiddlewaretoken|token|progress_id)" value="([^"]+)"|"(token)": "([^"]+)"')
ISO_TIME_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
OBJECT_ID_RE = re.compile(r"\b[0-9a-f]{24}\b")
_UNIT = r"\d+\s(?:year|month|week|day|hour|minute)s?"
AGO_RE = re.compile(rf"{_UNIT}(?:,\s{_UNIT})*(?=\sago\b)")
# An XLSX file holds the (real) time it was written, so its size varies by a byte or so; files
# are compared by their cells instead.
FILE_SIZE_RE = re.compile(r'(file_size"?:\s*)\d+')


def _cells(raw):
    """An XLSX file as its cell values, a sheet's title then a line per row (its bytes hold
    the time it was written)."""
    import openpyxl

    lines = []
    for sheet in openpyxl.load_workbook(io.BytesIO(raw), read_only=True).worksheets:
        lines.append(f"sheet {sheet.title!r}")
        for row in sheet.iter_rows(values_only=True):
            cells = [v.isoformat() if isinstance(v, (dt.date, dt.time)) else v for v in row]
            lines.append(json.dumps(cells, ensure_ascii=False))
    return "\n".join(lines)


class Recorder:
    """Makes the requests in a fixed order and keeps each answer, normalised."""

    def __init__(self, ids):
        self.ids = ids
        self.values = {param: values[0] for param, values in ids.items() if values}
        self.answers, self.labels = [], set()
        self.new_ids, self.secrets = {}, {}
        self.started = int(time.time())  # ids made from now on are new (their first 4 bytes: seconds)

    def run(self):
        self.api = _client(self.call_token(ADMIN))
        self.runtime = _client(self.call_token(RUNTIME))
        self.page = _client()
        self.form("post", "/login/", {"username": ADMIN[0], "password": ADMIN[1]}, note="sign in")
        self.command("jobs_worker", wait=False, note="the seeded export")
        self.reads()
        self.writes_api()
        self.writes_console()
        self.after_writes()

    # Making requests and keeping their answers.

    def call(self, section, client, method, path, body=None, *, note="", form=False, page=None):
        # A form is labelled by the page it is on when given, so a form whose target moves
        # (the page's action says where it posts) is still compared with itself.
        label = self.normalise(f"{method.upper()} {page or path}" + (f" ({note})" if note else ""))
        if body is None:
            kwargs = {}
        elif form and method == "post":
            kwargs = {"data": body}  # the test client's POST encodes it as multipart/form-data
        elif form:
            from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

            kwargs = {"data": encode_multipart(BOUNDARY, body), "content_type": MULTIPART_CONTENT}
        else:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        request_id = "answers-" + hashlib.sha1(label.encode()).hexdigest()[:16]
        response = getattr(client, method)(path, HTTP_X_REQUEST_ID=request_id, **kwargs)
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        content_type = response.get("Content-Type", "")
        answer = {"status": response.status_code, "content_type": content_type}
        for header in ("Location", "Content-Disposition"):
            if response.has_header(header):
                answer[header.lower()] = self.normalise(response[header])
        answer["body"] = self.normalise(self.text(raw, content_type)).splitlines()
        self.keep(section, label, answer)
        return response

    def keep(self, section, label, answer):
        while label in self.labels:  # the same request again later: a label of its own
            label += " again"
        self.labels.add(label)
        self.answers.append({"section": section, "label": label, **answer})

    @staticmethod
    def text(raw, content_type):
        if "spreadsheetml" in content_type:
            return _cells(raw)
        if "json" in content_type and raw:
            return json.dumps(json.loads(raw), indent=1, sort_keys=True, ensure_ascii=False)
        if content_type.startswith("image/"):
            return f"{len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()}"
        return raw.decode("utf-8", "replace")

    def normalise(self, text):
        for match in CSRF_OR_TOKEN_RE.finditer(text):
            name, value = (match[1], match[2]) if match[1] else (match[3], match[4])
            self.secrets.setdefault(value, f"<{name}>")
        for secret, placeholder in self.secrets.items():
            text = text.replace(secret, placeholder)
        text = ISO_TIME_RE.sub(self.time_of_run, text)
        text = OBJECT_ID_RE.sub(self.new_id, text)
        text = FILE_SIZE_RE.sub(r"\1<bytes>", text)
        return AGO_RE.sub("<timesince>", text)

    def time_of_run(self, match):
        try:
            at = dt.datetime.fromisoformat(match[0].replace(" ", "T"))
        except ValueError:
            return match[0]
        at = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
        if at < RECORD_NOW:
            return match[0]  # the dataset's
        hours = (at - RECORD_NOW) // dt.timedelta(hours=1)
        return f"<now+{hours}h>" if hours and at.timestamp() < self.started else "<now>"

    def new_id(self, match):
        if int(match[0][:8], 16) < self.started:
            return match[0]
        return self.new_ids.setdefault(match[0], f"<new-{len(self.new_ids) + 1}>")

    def call_token(self, account):
        email, password = account
        response = self.call("write", _client(), "post", "/v1/auth/token", {"email": email, "password": password},
                             note=email)
        return _data(response)["token"]

    def get(self, section, client, path, note=""):
        return self.call(section, client, "get", path, note=note)

    def form(self, method, path, data, *, note="", page=None):
        """A console form: its answer, and the page it redirects to (with the message it shows)."""
        response = self.call("write", self.page, method, path, data, note=note, form=True, page=page)
        if response.status_code in (301, 302, 303):
            self.get("write", self.page, response["Location"], note=f"after {note}" if note else "")
        return response

    def form_target(self, page, form_class):
        """Where the first form of `form_class` on `page` posts (its action, the fragment left
        out; no action: the page itself)."""
        html = self.page.get(page).content.decode()
        found = re.search(rf'<form[^>]*action="([^"#]*)[^"]*"[^>]*class="{form_class}"', html)
        return (found.group(1) if found else "") or page

    def command(self, name, *, note, **options):
        from django.core.management import call_command

        out = io.StringIO()
        call_command(name, stdout=out, **options)
        answer = {"status": 0, "content_type": "", "body": out.getvalue().splitlines()}
        self.keep("write", f"manage.py {name} ({note})", answer)

    # Reads: every route, with real, unknown and malformed ids, and the query variants.

    def reads(self):
        for template in _route_templates():
            api = template.startswith("/v1/")
            section, client = ("get", self.api) if api else ("page", self.page)
            params = re.findall(r"\{(\w+)\}", template)
            choices = [[*self.ids.get(p, []), UNKNOWN.get(p, UNKNOWN_ID), BAD_ID.get(p, "bad*id")] for p in params]
            for values in itertools.product(*choices):
                self.get(section, client, _fill(template, dict(zip(params, values, strict=True))))
            queries = QUERIES.get(template, []) + (["unknown_parameter=1"] if api and not params else [])
            for query in queries:
                self.get(section, client, f"{_fill(template, self.values)}?{query.format_map(self.values)}")
        anonymous, elsewhere = _client(), _client(host="unknown.localhost")
        for path in ("/healthz", "/readyz", "/v1/students", "/v1/schema/"):
            self.get("get", anonymous, path, note="signed out")
        for path in ("/", "/login/", "/students/"):
            self.get("page", anonymous, path, note="signed out")
        self.get("get", elsewhere, "/v1/students", note="unknown host")
        self.get("page", elsewhere, "/students/", note="unknown host")

    # Writes, in a fixed order; each answer kept, and some reads of what they changed.

    def writes_api(self):
        def call(method, path, body=None, note="", client=None, form=False):
            return self.call("write", client or self.api, method, path, body, note=note, form=form)

        mba, others, archived = self.ids["mba"], self.ids["others"], self.ids["user_id"][1]
        cohort, advisor, case_study = self.values["cohort_id"], int(self.values["advisor"]), EXAMPLE_CASE_STUDY
        student = {
            "first_name": "Zoë", "last_name": "Brontë", "email": "zoe.bronte@answers.example",
            "programme_codes": ["MBA1234", "MSC2001"], "student_number": "ANS/2026/0001", "cohort_id": cohort,
            "advisor_id": advisor,
        }
        new = _data(call("post", "/v1/students", student))["user_id"]
        call("post", "/v1/students", student, note="the same email again")
        path = f"/v1/students/{new}"
        call("get", path)
        call("patch", path, {"last_name": "Brontë-Okafọr", "programme_codes": ["MSC2001"], "status": "inactive"})
        call("patch", path, {"email": "not-an-email"}, note="bad email")
        call("patch", path, {"favourite_colour": "teal"}, note="unknown field")
        call("put", f"{path}/archive", {"withdrawn_on": "2026-06-01"})
        call("put", f"{path}/archive", {"withdrawn_on": "2026-06-01", "graduated_on": "2026-06-01"}, note="both dates")
        call("put", f"{path}/unarchive")
        avatar = _data(call("put", f"{path}/avatar", {"avatar": _png()}, form=True))
        call("get", urlsplit(avatar["avatar_url"]).path, note="the photo")
        call("put", f"{path}/avatar", {"avatar": _upload("a.png", b"not an image")}, form=True, note="not an image")
        call("delete", f"{path}/avatar")

        call("post", "/v1/students/bulk/archive", {"user_ids": others[:2], "graduated_on": "2026-05-31"})
        call("post", "/v1/students/bulk/archive", {"user_ids": [others[2], UNKNOWN_ID, "bad*id"], "withdrawn_on": "2026-05-31"},
             note="unknown and malformed ids")
        call("post", "/v1/students/bulk/unarchive", {"user_ids": others[:2]})
        call("post", "/v1/students/bulk/unarchive", {"user_ids": [others[3]]}, note="not archived")

        grant = {"user_id": EXAMPLE_STUDENT, "case_study_id": case_study, "attempts": 1, "reason": "Network outage"}
        call("post", "/v1/console/attempts/grant", grant)
        call("post", "/v1/console/attempts/revoke", grant)
        call("post", "/v1/console/attempts/revoke", {**grant, "attempts": 9}, note="more than granted")
        call("post", "/v1/console/attempts/grant", {**grant, "user_id": UNKNOWN_ID}, note="unknown student")
        call("post", "/v1/console/attempts/grant", {**grant, "attempts": 0}, note="no attempts")
        bulk = {"user_ids": mba[:3], "case_study_id": case_study, "attempts": 2, "reason": "Exam clash"}
        call("post", "/v1/console/attempts/grant/bulk", bulk)
        call("post", "/v1/console/attempts/revoke/bulk", {**bulk, "attempts": 1})
        call("post", "/v1/console/attempts/revoke/bulk", {**bulk, "attempts": 9}, note="more than granted")
        call("post", "/v1/console/attempts/grant/bulk", {**bulk, "user_ids": [archived, UNKNOWN_ID]}, note="refused")
        call("get", f"/v1/console/attempts/grants?user_id={mba[0]}")

        cluster = _data(call("post", "/v1/student-clusters", {"name": "Answers cluster"}))["id"]
        call("patch", f"/v1/student-clusters/{cluster}", {"name": "Answers cluster, renamed"})
        call("put", f"/v1/student-clusters/{cluster}", {"name": "Answers cluster, final"})
        group = _data(call("post", "/v1/student-groups", {"name": "Answers group", "student_cluster_id": cluster}))["id"]
        call("post", "/v1/student-groups", {"name": "x" * 300, "student_cluster_id": cluster}, note="name too long")
        path = f"/v1/student-groups/{group}"
        call("patch", path, {"name": "Answers group, renamed"})
        call("put", path, {"name": "Answers group, final", "student_cluster_id": cluster})
        call("post", f"{path}/members", {"user_ids": mba[:2]})
        call("delete", f"{path}/members", {"user_ids": mba[:1]})
        call("post", f"{path}/members/bulk-add", {"user_ids": [mba[1], archived]}, note="an archived student")
        call("post", f"{path}/members/bulk-add", {"user_ids": mba[:3]})
        call("post", f"{path}/members/bulk-remove", {"user_ids": [mba[0], others[3]]})
        call("get", f"{path}/members")
        call("get", f"{path}/results")
        call("delete", f"/v1/student-clusters/{cluster}", note="with a group")
        call("delete", path)
        call("delete", f"/v1/student-clusters/{cluster}")

        new_cohort = _data(call("post", "/v1/cohorts", {"name": "Class of 2031"}))["id"]
        call("post", "/v1/cohorts", {"name": "Class of 2031"}, note="the same name again")
        call("put", f"/v1/cohorts/{new_cohort}", {"name": "Class of 2032"})
        call("put", f"/v1/cohorts/{new_cohort}", {}, note="no name")
        call("patch", f"/v1/cohorts/{new_cohort}", {"name": "Class of 2033"})
        call("delete", f"/v1/cohorts/{cohort}", note="with students")
        call("delete", f"/v1/cohorts/{new_cohort}")

        call("post", "/v1/programmes", {"code": "ANS1001", "name": "Answers Studies"})
        call("post", "/v1/programmes", {"code": "bad code", "name": "Bad"}, note="bad code")
        call("patch", "/v1/programmes/ANS1001", {"name": "Answers Studies (renamed)"})
        call("put", "/v1/programmes/ANS1001", {"code": "ANS1001", "name": "Answers Studies", "is_active": False})
        created = call("post", "/v1/case-studies", {"title": "Answers case", "programme_codes": ["ANS1001"], "max_attempts": 3})
        path = f"/v1/case-studies/{_data(created)['case_study_id']}"
        call("patch", path, {"grading_method": "average", "is_active": False})
        call("put", path, {"title": "Answers case, final", "programme_codes": ["ANS1001", "MBA1234"]})
        call("delete", "/v1/programmes/ANS1001", note="with a case study")
        call("delete", path)
        call("delete", "/v1/programmes/ANS1001")

        rows = [
            ["user_id", "first_name", "last_name", "email", "programme_codes", "status"],
            [others[4], "Ngozi", "Updated-By-Import", f"imported.{others[4]}@answers.example", "MBA1234 BSC1101", "active"],
            ["", "Chidinma", "Okafọr", "chidinma.okafor@answers.example", "MSC2001", "inactive"],
        ]
        for dry_run in ("true", "false"):
            call("post", "/v1/students/import", {"file": _csv(rows), "dry_run": dry_run}, form=True, note=f"dry_run={dry_run}")
        bad = _csv([["first_name", "surname"], ["Ada", "Lovelace"]])
        call("post", "/v1/students/import", {"file": bad}, form=True, note="unknown column")
        again = _csv([rows[0], rows[2]])
        call("post", "/v1/students/import", {"file": again, "dry_run": "false"}, form=True, note="a row unchanged")

        job = _data(call("post", "/v1/console/exports", {"kind": "gradebook", "format": "xlsx", "programme": "MBA1234"}))
        call("post", "/v1/console/exports", {"kind": "list", "format": "pdf"}, note="bad format")
        self.command("jobs_worker", wait=False, note="the gradebook queued through the API")
        call("get", f"/v1/console/exports/{job['id']}")
        call("get", f"/v1/console/exports/{job['id']}/file")

        session = {
            "user_id": EXAMPLE_STUDENT, "case_study_id": case_study, "status": "ended",
            "started_at": "2026-06-02T09:00:00Z", "ended_at": "2026-06-02T09:40:00Z", "score": 81.5,
            "transcript_status": "available", "grading_status": "complete",
            "transcript": [
                {"role": "assistant", "content": "What would you do first?", "timestamp": "2026-06-02T09:01:00Z"},
                {"role": "student", "content": "Map who pays for it.", "timestamp": "2026-06-02T09:02:00Z"},
            ],
            "grade": {"max_score": 100, "feedback": "Clear.", "criteria": [
                {"name": "Problem framing", "score": 40, "max_score": 50, "feedback": "Good."},
                {"name": "Recommendation", "score": 41.5, "max_score": 50},
            ]},
        }
        path = "/v1/sessions/answers-session-1"
        call("put", path, session, client=self.runtime)
        call("put", path, session, client=self.runtime, note="the same again")
        call("put", path, {**session, "score": "81"}, client=self.runtime, note="score as a string")
        call("put", path, session, note="without the ingest role")
        for part in ("", "/transcript", "/grade"):
            call("get", f"/v1/console/student-performance/attempts/answers-session-1{part}")

        call("delete", f"/v1/students/{new}")
        call("get", f"/v1/students/{new}", note="deleted")
        call("get", "/v1/students?deleted_since=2026-06-02T00:00:00Z")
        call("post", "/v1/auth/token", {"email": ADMIN[0], "password": "wrong password"}, client=_client(),
             note="wrong password")
        leaving = _client(self.call_token(ADMIN))
        call("post", "/v1/auth/logout", client=leaving)
        call("get", "/v1/staff", client=leaving, note="a revoked token")

    def writes_console(self):
        mba, others, archived = self.ids["mba"], self.ids["others"], self.ids["user_id"][1]
        cohort, group = self.values["cohort_id"], self.values["group_id"]
        record = {
            "first_name": "Amara", "last_name": "Diallo", "email": "amara.diallo@answers.example",
            "student_number": "ANS/2026/0002", "status": "active", "cohort": cohort, "advisor": self.values["advisor"],
            "programmes": ["BSC1101"],
        }
        self.get("write", self.page, "/students/new/")
        created = self.form("post", "/students/new/", record, note="new student")
        self.form("post", "/students/new/", {**record, "first_name": "", "email": "nope"}, note="refused")
        path = created["Location"].split("#")[0]
        self.get("write", self.page, f"{path}edit/")
        self.form("post", f"{path}edit/", {**record, "last_name": "Diallo-Mensah", "programmes": ["BSC1101", "MBA1234"]},
                  note="edit")
        self.form("post", f"{path}archive/", {"archive_as": "graduated", "archive_on": "2026-06-01"}, note="archive")
        self.form("post", f"{path}archive/", {"archive_as": "left", "archive_on": "yesterday"}, note="refused")
        self.form("post", f"{path}unarchive/", {}, note="unarchive")
        self.form("post", f"{path}avatar/", {"action": "upload", "avatar": _png()}, note="photo")
        self.form("post", f"{path}avatar/", {"action": "remove"}, note="no photo")

        example = f"/students/{EXAMPLE_STUDENT}/"
        adjust = self.form_target(example, "adjust-form")
        change = {"case_study": EXAMPLE_CASE_STUDY, "attempts": "1", "reason": "Fire alarm"}
        self.form("post", adjust, {**change, "action": "grant"}, note="grant", page=example)
        self.form("post", adjust, {**change, "action": "revoke"}, note="revoke", page=example)
        self.form("post", adjust, {**change, "action": "grant", "attempts": "0"}, note="refused", page=example)

        bar = {**change, "user_ids": mba[:2], "attempts": "2"}
        self.form("post", "/students/?programme=MBA1234", {**bar, "action": "grant"}, note="bulk grant")
        self.form("post", "/students/?programme=MBA1234", {**bar, "action": "revoke", "attempts": "1"}, note="bulk revoke")
        self.form("post", "/students/?search=umar", {**change, "action": "grant", "scope": "matching"},
                  note="bulk grant to all matching, refused")
        self.form("post", "/students/?programme=MBA1234&status=active", {**change, "action": "grant", "scope": "matching"},
                  note="bulk grant to all matching")
        self.form("post", "/students/", {"action": "archive", "user_ids": others[5:7], "archive_as": "withdrawn",
                                         "archive_on": "2026-06-01"}, note="bulk archive")
        self.form("post", "/students/?status=archived", {"action": "unarchive", "user_ids": others[5:7]},
                  note="bulk unarchive")
        self.form("post", "/students/", {"action": "group_add", "group": group, "user_ids": [mba[3], archived]},
                  note="bulk add to a group, refused")
        self.form("post", "/students/", {"action": "group_add", "group": group, "user_ids": mba[3:5]},
                  note="bulk add to a group")
        self.form("post", f"/students/?group={group}", {"action": "group_remove", "group": group, "user_ids": mba[3:4]},
                  note="bulk remove from a group")
        self.form("post", "/students/", {"action": "grant", **change}, note="bulk with no student ticked")

        self.form("post", "/cohorts/", {"action": "create", "name": "Class of 2040"}, note="new cohort")
        cohorts = _data(self.get("write", self.api, "/v1/cohorts?per_page=100"))
        new_cohort = next(c["id"] for c in cohorts if c["name"] == "Class of 2040")
        self.form("post", "/cohorts/", {"action": "rename", "cohort": new_cohort, "name": "Class of 2041"}, note="rename")
        self.form("post", "/cohorts/", {"action": "rename", "cohort": new_cohort, "name": ""}, note="no name")
        self.form("post", "/cohorts/", {"action": "delete", "cohort": cohort}, note="delete one with students")
        self.form("post", "/cohorts/", {"action": "delete", "cohort": new_cohort}, note="delete")

        rows = [["first_name", "last_name", "email", "programme_codes"], ["Kwame", "Asante", "kwame.asante@answers.example", "MPH3001"]]
        self.get("write", self.page, "/students/import/")
        checked = self.form("post", "/students/import/", {"file": _csv(rows), "progress_id": "p" * 32}, note="check")
        token = re.search(r'name="token" value="([^"]+)"', checked.content.decode())[1]
        self.get("write", self.page, f"/students/import/progress/?id={'p' * 32}")
        self.form("post", "/students/import/", {"token": token}, note="apply")
        self.form("post", "/students/import/", {"token": token}, note="apply again")

        queued = self.form("post", "/exports/", {"kind": "list", "format": "xlsx", "status": "active"}, note="export")
        self.form("post", "/exports/", {"kind": "list", "format": "pdf"}, note="bad format")
        self.command("jobs_worker", wait=False, note="the list queued from the console")
        self.get("write", self.page, queued["Location"], note="done")
        self.get("write", self.page, "/exports/")

    def after_writes(self):
        self.get("write", self.api, "/v1/audit-events?limit=200", note="every event")
        self.get("write", self.api, "/v1/audit-events?limit=200&skip=200", note="every event")
        self.get("write", self.page, "/audit/?page_size=100")
        self.get("write", self.page, "/audit/?page_size=100&page=2")
        self.get("write", self.api, "/v1/console/students?sort_by=name&limit=100")
        self.get("write", self.page, "/students/?sort_by=name&page_size=100")
        self.get("write", self.api, "/v1/students?per_page=100")
        self.form("post", "/logout/", {}, note="sign out")
        self.get("write", self.page, "/students/", note="signed out")

    def document(self):
        return {"counts": self.counts(), "answers": self.answers}

    def counts(self):
        counts = {"get": 0, "page": 0, "write": 0}
        for answer in self.answers:
            counts[answer["section"]] += 1
        return counts


def _data(response):
    return response.json()["data"]


def _fill(template, values):
    for param, value in values.items():
        template = template.replace(f"{{{param}}}", quote(str(value), safe=""))
    return template


def _upload(name, data, content_type="application/octet-stream"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type)


def _png():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 128, 128)).save(buffer, "PNG")
    return _upload("photo.png", buffer.getvalue(), "image/png")


def _csv(rows):
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return _upload("students.csv", text.getvalue().encode(), "text/csv")


# Compare -------------------------------------------------------------------------------------


def _answer_lines(answer):
    head = [f"{key}: {value}" for key, value in answer.items() if key not in ("section", "label", "body")]
    return head + [""] + answer["body"]


def compare(before, after):
    """Print a unified diff of each answer that differs, and the answers only one side has; 1 if any."""
    old, new = ({a["label"]: a for a in json.loads(path.read_text())["answers"]} for path in (before, after))
    differing = 0
    for label in [*old, *(label for label in new if label not in old)]:
        if label not in new or label not in old:
            print(f"only in {before if label in old else after}: {label}")
            differing += 1
            continue
        a, b = _answer_lines(old[label]), _answer_lines(new[label])
        if a != b:
            differing += 1
            for line in difflib.unified_diff(a, b, f"{before}: {label}", f"{after}: {label}", lineterm=""):
                print(line)
    print(f"{differing} of {len(old.keys() | new.keys())} answers differ.")
    return 1 if differing else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("seed").add_argument("--database-url", required=True)
    recording = commands.add_parser("record")
    recording.add_argument("--database-url", required=True, help="the seeded database (it is copied, never written)")
    recording.add_argument("--out", required=True, type=Path)
    comparing = commands.add_parser("compare")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command != "compare" and os.environ.get("PYTHONHASHSEED") != "0":
        # The same order of sets of strings in every run (Python's hash of a string is salted per process).
        command = [sys.executable, "-m", "bench.answers", *sys.argv[1:]]
        os.execve(sys.executable, command, {**os.environ, "PYTHONHASHSEED": "0"})
    if args.command == "seed":
        seed(args.database_url)
    elif args.command == "record":
        record(args.database_url, args.out)
    else:
        sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
