"""A soak of the production server: `python -m config.serve` (gunicorn, as `make run` starts it) on
a seeded tenant under a mixed load of staff and the case-study runtime for a fixed time, then
checks that nothing failed, that the data still adds up and that memory stayed level.

    make soak                                       # tenant `soak` (10,000 students), 8 clients, 5 minutes
    make soak SOAK_SECONDS=30 SOAK_CLIENTS=12
    .venv/bin/python bench/soak.py --tenant soak --clients 8 --seconds 300 [--warmup 30]

Each client picks its next request at random by weight (MIX): the students list with sorts and
filters, search, a student's detail, the grant ledger, grants and revokes of extra attempts (single
and bulk; a third of them on a few "hot" pairs, so that concurrent changes of one pair meet), the
synchronous CSV export, background exports (queued, followed and downloaded), record edits through
the records API, and session ingestion (new sessions, then their end and grade; updates of older
ones). Staff requests carry operator, admin or viewer tokens, sessions an ingest token.

It prints requests, req/s, p50/p99 latency overall and per route, every answer that is not 2xx by
status and route, and the memory of the server (gunicorn's master, its workers and the export
worker) and of PostgreSQL (the postmaster, its background processes and the backends of the
server's connections, told apart by their application_name) after the warm-up and at the end.
It exits 1 when any check fails:
- a 5xx, a dropped connection, or a refusal the request was not meant to get (refusals that are
  correct, e.g. a revoke of more extra attempts than there are: 409, are counted and shown);
- the grant ledger and the extra attempts staff are shown disagree: over the whole tenant in SQL,
  for the ledger rows the load wrote, and through the API for a sample of pairs;
- a list total differs from an SQL count of the same filter, or paging through a small filter
  does not return exactly those students;
- a maintained column (last_seen, programme_label, overall_case_studies) of a student differs
  from its sources when it did not before the load, or the list's counts differ from a count;
- a background export did not finish, or the server's log holds a traceback;
- memory grew by 10 % or more from the warm-up to the end (server and PostgreSQL separately).
"""
import argparse
import datetime as dt
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.staff.services import staff_create  # noqa: E402
from attempts.models import AttemptGrant, Session  # noqa: E402
from attempts.selectors import students_case_study_cards  # noqa: E402
from bench.load import DROPPED, Request, percentile, run_requests  # noqa: E402
from bench.server_throughput import database_url  # noqa: E402
from catalogue.models import CaseStudy, Programme  # noqa: E402
from config.serve import server_options  # noqa: E402
from console.exports.models import ExportJob  # noqa: E402
from students.models import Cohort, Enrolment, ListedCount, Student  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from testing.clients import issue_token  # noqa: E402
from testing.live import LiveServer, app_env  # noqa: E402

APP_NAME = "console-soak"  # the server's application_name (PGAPPNAME), to find its backends
MEMORY_GROWTH_LIMIT = 0.10
HOT_PAIRS = 10

# Per mille: what the clients ask for.
MIX = {
    "listing": 240,
    "search": 120,
    "detail": 150,
    "ledger_list": 20,
    "grant": 80,
    "grant_archived": 5,
    "revoke": 60,
    "bulk_grant": 15,
    "bulk_revoke": 8,
    "export_csv": 15,
    "export_queue": 2,
    "export_follow": 10,
    "record_edit": 60,
    "record_edit_taken_email": 5,
    "ingest_new": 110,
    "ingest_update": 100,
}

# Refusals that are right, by (route, status): counted and shown, never a failure.
CORRECT_REFUSALS = {
    ("POST /v1/console/attempts/revoke", 409): "revoke of more extra attempts than the student has",
    ("POST /v1/console/attempts/revoke/bulk", 400): "bulk revoke: a student has fewer extra attempts than asked",
    ("POST /v1/console/attempts/grant (archived student)", 400): "grant to an archived student",
    ("PATCH /v1/students/{id} (email taken)", 409): "an email another student has",
}
MUST_REFUSE = {"POST /v1/console/attempts/grant (archived student)", "PATCH /v1/students/{id} (email taken)"}

_THROUGH = CaseStudy.programmes.through
# The tables (and the case studies' programmes' columns) the checks' SQL reads, by the models' names for them.
TABLES = {
    "student": Student._meta.db_table,
    "enrolment": Enrolment._meta.db_table,
    "listed": ListedCount._meta.db_table,
    "programme": Programme._meta.db_table,
    "case_study": CaseStudy._meta.db_table,
    "case_study_programmes": _THROUGH._meta.db_table,
    "cp_case_study": _THROUGH._meta.get_field("casestudy").column,
    "cp_programme": _THROUGH._meta.get_field("programme").column,
    "session": Session._meta.db_table,
    "grant": AttemptGrant._meta.db_table,
}


def sql(text):
    return text.format(**TABLES)


HOW_TO_SEED = """No tenant {slug!r}. `make soak` creates and seeds it, or:

    .venv/bin/python bench/ensure_tenants.py {slug}:10000
"""


def utc_text(moment):
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# The tenant as the load sees it ---------------------------------------------------------------


@dataclass
class Fixtures:
    """What the clients pick from, read once before the load (in the tenant's schema)."""

    tokens: dict
    students: list  # (user_id, first_name, last_name, email): listed students
    archived: list  # user_ids of archived students
    pairs: list  # (user_id, case_study_id) attempted by a listed student
    hot: list  # a few of them, which many requests change at once
    by_case_study: dict  # case_study_id: [user_id, ...] who attempted it
    max_attempts: dict  # case_study_id: base allowance
    active_case_studies: list
    programmes: list  # codes
    cohorts: list  # ids
    search_terms: list
    old_sessions: list  # ingestion bodies of seeded sessions, with their ids
    ledger_before: dict  # (user_id, case_study_id): sum of the ledger's deltas
    started: dt.datetime  # ledger rows from here on are the load's
    counts: dict
    maintained_off: dict  # maintained_off() before the load


def prepare(slug, rng):
    tokens = {}
    for role in ("operator", "admin", "viewer", "ingest"):
        user = staff_create(email=f"soak-{role}@{slug}.localhost", password=os.urandom(16).hex(), roles=[role])
        tokens[role] = issue_token(user)

    listed = Student.objects.filter(archived=False, deleted_at__isnull=True)
    students = list(listed.order_by("?").values_list("user_id", "first_name", "last_name", "email")[:3000])
    archived = list(Student.objects.filter(archived=True, deleted_at__isnull=True).values_list("user_id", flat=True)[:50])
    student_ids = [s[0] for s in students]
    pairs = sorted(set(Session.objects.filter(student_id__in=student_ids).values_list("student_id", "case_study_id")))
    rng.shuffle(pairs)
    by_case_study = defaultdict(list)
    for user_id, case_study_id in pairs:
        by_case_study[case_study_id].append(user_id)

    old_sessions = []
    for row in Session.objects.filter(student_id__in=student_ids[:500]).values(
        "session_id", "student_id", "case_study_id", "status", "started_at", "ended_at", "score",
        "transcript_status", "grading_status",
    )[:1000]:
        old_sessions.append(
            {
                "session_id": row["session_id"],
                "user_id": row["student_id"],
                "case_study_id": row["case_study_id"],
                "status": row["status"],
                "started_at": utc_text(row["started_at"]),
                "ended_at": None if row["ended_at"] is None else utc_text(row["ended_at"]),
                "score": row["score"],
                "transcript_status": row["transcript_status"],
                "grading_status": row["grading_status"],
            }
        )

    terms = set()
    for _, first, last, email in students[:300]:
        for word in (first, last, email.split("@")[0]):
            word = word.lower()
            if word.isascii() and word.isalpha() and len(word) >= 4:
                terms.add(word[: rng.choice((3, 4, len(word)))])
    return Fixtures(
        tokens=tokens,
        students=students,
        archived=archived,
        pairs=pairs,
        hot=pairs[:HOT_PAIRS],
        by_case_study={k: v for k, v in by_case_study.items() if len(v) >= 5},
        max_attempts=dict(CaseStudy.objects.values_list("pk", "max_attempts")),
        active_case_studies=list(CaseStudy.objects.filter(is_active=True).values_list("pk", flat=True)),
        programmes=list(Programme.objects.order_by("code").values_list("code", flat=True)),
        cohorts=list(Cohort.objects.values_list("pk", flat=True)),
        search_terms=sorted(terms),
        old_sessions=old_sessions,
        ledger_before=ledger_sums(),
        started=timezone.now(),
        counts=tenant_counts(),
        maintained_off=maintained_off(),
    )


def ledger_sums():
    """{(user_id, case_study_id): sum of delta} over the whole tenant's ledger, in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(sql("SELECT student_id, case_study_id, sum(delta) FROM {grant} GROUP BY 1, 2"))
        return {(s, c): int(total) for s, c, total in cursor.fetchall()}


def tenant_counts():
    return {
        "students": Student.objects.count(),
        "sessions": Session.objects.count(),
        "grants": AttemptGrant.objects.count(),
    }


# The load -------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the server answered to grants and revokes: the rows it says it wrote."""

    rows: dict = field(default_factory=dict)  # grant id: ((user_id, case_study_id), delta)
    uncertain: set = field(default_factory=set)  # pairs of requests that got no answer
    granted: dict = field(default_factory=lambda: defaultdict(set))  # case_study_id: {user_id}


class Mix:
    """Builds each client's next request and keeps what the answers tell."""

    def __init__(self, fixtures, *, clients, seed):
        self.f = fixtures
        self.rngs = [random.Random(seed * 1000 + index) for index in range(clients)]
        self.open_sessions = [[] for _ in range(clients)]  # sessions a client started and will end
        self.lock = threading.Lock()
        self.ledger = Ledger()
        self.export_jobs = {}  # id: last state seen
        self.exports_downloaded = 0
        self.sessions_created = 0
        actions = list(MIX)
        self.actions, self.weights = actions, [MIX[a] for a in actions]

    def next_request(self, index):
        rng = self.rngs[index]
        action = rng.choices(self.actions, self.weights)[0]
        return getattr(self, action)(rng, index)

    # helpers

    def _headers(self, role, body=False):
        headers = {"Authorization": f"Bearer {self.f.tokens[role]}"}
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    def _json(self, label, method, path, role, payload, done=None):
        return Request(label, method, path, self._headers(role, body=True), json.dumps(payload).encode(), done)

    def _filters(self, rng):
        filters = {}
        if rng.random() < 0.25:
            filters["status"] = rng.choice(("active", "inactive"))
        if rng.random() < 0.25:
            filters["programme"] = rng.choice(self.f.programmes)
        if rng.random() < 0.1 and self.f.cohorts:
            filters["cohort"] = rng.choice(self.f.cohorts)
        if rng.random() < 0.15:
            today = dt.date.today()
            filters["start_date"] = (today - dt.timedelta(days=rng.randint(14, 120))).isoformat()
            filters["end_date"] = (today - dt.timedelta(days=rng.randint(0, 13))).isoformat()
        return filters

    def _sort(self, rng):
        return {"sort_by": rng.choice(("name", "last_seen", "programme", "status")), "sort_order": rng.choice(("asc", "desc"))}

    # reads

    def listing(self, rng, index):
        params = {**self._sort(rng), **self._filters(rng)}
        params["limit"] = rng.choice((10, 10, 25, 50, 100))
        params["skip"] = rng.choice((0, 0, 0, 10, 50, 500))
        role = rng.choice(("operator", "viewer"))
        return Request("GET /v1/console/students", "GET", f"/v1/console/students?{urlencode(params)}", self._headers(role))

    def search(self, rng, index):
        params = {"search": rng.choice(self.f.search_terms)}
        if rng.random() < 0.5:
            params.update(self._sort(rng))
        role = rng.choice(("operator", "viewer"))
        return Request("GET /v1/console/students?search=", "GET", f"/v1/console/students?{urlencode(params)}",
                       self._headers(role))

    def detail(self, rng, index):
        user_id = rng.choice(self.f.hot)[0] if rng.random() < 0.2 else rng.choice(self.f.students)[0]
        query = "?include_case_studies=false" if rng.random() < 0.1 else ""
        return Request("GET /v1/console/students/{id}", "GET", f"/v1/console/students/{user_id}{query}",
                       self._headers("operator"))

    def ledger_list(self, rng, index):
        user_id, case_study_id = rng.choice(self.f.hot)
        params = urlencode({"user_id": user_id, "case_study_id": case_study_id, "limit": 100})
        return Request("GET /v1/console/attempts/grants", "GET", f"/v1/console/attempts/grants?{params}",
                       self._headers("operator"))

    # grants and revokes

    def _pair(self, rng):
        return rng.choice(self.f.hot) if rng.random() < 0.35 else rng.choice(self.f.pairs)

    def _single_done(self, pair, sign):
        def done(status, body):
            with self.lock:
                if status == 201:
                    grant = json.loads(body)["data"]["grant"]
                    self.ledger.rows[grant["id"]] = (pair, grant["delta"])
                    if sign > 0:
                        self.ledger.granted[pair[1]].add(pair[0])
                elif status == DROPPED:
                    self.ledger.uncertain.add(pair)

        return done

    def grant(self, rng, index):
        pair = self._pair(rng)
        payload = {"user_id": pair[0], "case_study_id": pair[1], "attempts": rng.randint(1, 2),
                   "reason": "Soak: power cut during the session"}
        return self._json("POST /v1/console/attempts/grant", "POST", "/v1/console/attempts/grant", "operator",
                          payload, self._single_done(pair, 1))

    def grant_archived(self, rng, index):
        if not self.f.archived:
            return self.grant(rng, index)
        payload = {"user_id": rng.choice(self.f.archived), "case_study_id": rng.choice(self.f.active_case_studies),
                   "attempts": 1, "reason": "Soak: should be refused"}
        return self._json("POST /v1/console/attempts/grant (archived student)", "POST", "/v1/console/attempts/grant",
                          "operator", payload)

    def revoke(self, rng, index):
        with self.lock:
            granted = [(u, c) for c, users in self.ledger.granted.items() for u in users] if rng.random() < 0.5 else []
        pair = rng.choice(granted) if granted else rng.choice(self.f.hot)
        payload = {"user_id": pair[0], "case_study_id": pair[1], "attempts": rng.randint(1, 2),
                   "reason": "Soak: granted in error"}
        return self._json("POST /v1/console/attempts/revoke", "POST", "/v1/console/attempts/revoke", "operator",
                          payload, self._single_done(pair, -1))

    def _bulk_done(self, case_study_id, user_ids, delta):
        def done(status, body):
            with self.lock:
                if status == 201:
                    for item in json.loads(body)["data"]:
                        self.ledger.rows[item["grant_id"]] = ((item["user_id"], case_study_id), delta)
                        if delta > 0:
                            self.ledger.granted[case_study_id].add(item["user_id"])
                elif status == DROPPED:
                    self.ledger.uncertain.update((u, case_study_id) for u in user_ids)

        return done

    def bulk_grant(self, rng, index):
        if rng.random() < 0.3:
            hot_user, case_study_id = rng.choice(self.f.hot)
            others = self.f.by_case_study.get(case_study_id, [])
            user_ids = [hot_user, *rng.sample(others, min(len(others), rng.randint(2, 30)))]
        else:
            case_study_id = rng.choice(list(self.f.by_case_study))
            users = self.f.by_case_study[case_study_id]
            user_ids = rng.sample(users, min(len(users), rng.randint(3, 50)))
        user_ids = list(dict.fromkeys(user_ids))
        attempts = rng.randint(1, 2)
        payload = {"user_ids": user_ids, "case_study_id": case_study_id, "attempts": attempts, "reason": "Soak: platform outage"}
        return self._json("POST /v1/console/attempts/grant/bulk", "POST", "/v1/console/attempts/grant/bulk", "operator",
                          payload, self._bulk_done(case_study_id, user_ids, attempts))

    def bulk_revoke(self, rng, index):
        with self.lock:
            candidates = [(c, sorted(users)) for c, users in self.ledger.granted.items() if len(users) >= 2]
        if not candidates:
            return self.bulk_grant(rng, index)
        case_study_id, users = rng.choice(candidates)
        user_ids = rng.sample(users, min(len(users), rng.randint(2, 10)))
        payload = {"user_ids": user_ids, "case_study_id": case_study_id, "attempts": 1, "reason": "Soak: outage credit withdrawn"}
        return self._json("POST /v1/console/attempts/revoke/bulk", "POST", "/v1/console/attempts/revoke/bulk", "operator",
                          payload, self._bulk_done(case_study_id, user_ids, -1))

    # exports

    def export_csv(self, rng, index):
        params = {**self._filters(rng), "format": "csv"}
        if rng.random() < 0.7 and "status" not in params and "programme" not in params:
            params["programme"] = rng.choice(self.f.programmes)
        return Request("GET /v1/console/students/export", "GET", f"/v1/console/students/export?{urlencode(params)}",
                       self._headers("operator"))

    def export_queue(self, rng, index):
        payload = {"kind": "list", "format": rng.choice(("csv", "csv", "xlsx")), **self._filters(rng)}
        if rng.random() < 0.2:
            payload.update(kind="gradebook", format="csv", case_study=[rng.choice(self.f.active_case_studies)])

        def done(status, body):
            if status == 202:
                with self.lock:
                    self.export_jobs[json.loads(body)["data"]["id"]] = "queued"

        return self._json("POST /v1/console/exports", "POST", "/v1/console/exports", "operator", payload, done)

    def export_follow(self, rng, index):
        with self.lock:
            jobs = list(self.export_jobs.items())
        if not jobs:
            return self.export_queue(rng, index)
        job_id, state = rng.choice(jobs)
        if state == "done":
            def downloaded(status, body):
                if status == 200:
                    with self.lock:
                        self.exports_downloaded += 1

            return Request("GET /v1/console/exports/{id}/file", "GET", f"/v1/console/exports/{job_id}/file",
                           self._headers("operator"), done=downloaded)

        def followed(status, body):
            if status == 200:
                with self.lock:
                    self.export_jobs[job_id] = json.loads(body)["data"]["state"]

        return Request("GET /v1/console/exports/{id}", "GET", f"/v1/console/exports/{job_id}", self._headers("operator"),
                       done=followed)

    # records

    def record_edit(self, rng, index):
        user_id, first, last, _ = rng.choice(self.f.students)
        change = rng.random()
        if change < 0.3:
            payload = {"first_name": rng.choice((first, "Zoë", "Chidinma", "Søren", "Adaeze")),
                       "last_name": rng.choice((last, "Okafọr", "Brontë", "Mensah"))}
        elif change < 0.5:
            payload = {"status": rng.choice(("active", "active", "inactive"))}
        elif change < 0.7:
            payload = {"programme_codes": rng.sample(self.f.programmes, rng.randint(1, 2))}
        elif change < 0.85:
            payload = {"student_number": f"SOAK/{os.urandom(5).hex()}"}
        else:
            # Only the first half of the students change their email: the second half's stay taken.
            user_id = rng.choice(self.f.students[: len(self.f.students) // 2])[0]
            payload = {"email": f"student.{os.urandom(6).hex()}@soak.example"}
        return self._json("PATCH /v1/students/{id}", "PATCH", f"/v1/students/{user_id}", "admin", payload)

    def record_edit_taken_email(self, rng, index):
        user_id = rng.choice(self.f.students)[0]
        _, _, _, email = rng.choice(self.f.students[len(self.f.students) // 2:])
        if email.lower() == next(s[3] for s in self.f.students if s[0] == user_id).lower():
            return self.record_edit(rng, index)
        return self._json("PATCH /v1/students/{id} (email taken)", "PATCH", f"/v1/students/{user_id}", "admin",
                          {"email": email.upper()})

    # sessions

    def ingest_new(self, rng, index):
        user_id, case_study_id = rng.choice(self.f.pairs) if rng.random() < 0.7 else (
            rng.choice(self.f.students)[0], rng.choice(self.f.active_case_studies))
        now = timezone.now()
        body = {
            "user_id": user_id,
            "case_study_id": case_study_id,
            "status": "in_progress",
            "started_at": utc_text(now - dt.timedelta(seconds=rng.randint(30, 1800))),
            "last_activity_at": utc_text(now),
            "transcript_status": "processing",
            "grading_status": "pending",
        }
        session_id = os.urandom(12).hex()

        def done(status, answer):
            if status == 201:
                with self.lock:
                    self.sessions_created += 1
                self.open_sessions[index].append((session_id, body))

        return self._json("PUT /v1/sessions/{id} (new)", "PUT", f"/v1/sessions/{session_id}", "ingest", body, done)

    def ingest_update(self, rng, index):
        mine = self.open_sessions[index]
        now = timezone.now()
        if mine and rng.random() < 0.8:
            session_id, started = mine.pop(rng.randrange(len(mine)))
            score = round(rng.uniform(35, 98), 1)
            body = {
                **started,
                "status": "ended",
                "ended_at": utc_text(now),
                "last_activity_at": utc_text(now),
                "score": score,
                "transcript_status": rng.choice(("available", "available", "available", "failed")),
                "grading_status": "complete",
                "transcript": [
                    {"role": "assistant", "content": "Welcome. What would you look at first?",
                     "timestamp": started["started_at"]},
                    {"role": "student", "content": "The cash flow, then the suppliers' terms.", "timestamp": utc_text(now)},
                ],
                "grade": {
                    "max_score": 100,
                    "feedback": "Clear structure; quantify the risks.",
                    "graded_at": utc_text(now),
                    "criteria": [
                        {"name": "Problem framing", "score": round(score / 4, 1), "max_score": 25, "feedback": "Good."},
                        {"name": "Analysis", "score": round(score * 3 / 4, 1), "max_score": 75, "feedback": "Sound."},
                    ],
                },
            }
        else:
            old = rng.choice(self.f.old_sessions)
            session_id = old["session_id"]
            body = {key: value for key, value in old.items() if key != "session_id"}
            body["last_activity_at"] = utc_text(now)
        return self._json("PUT /v1/sessions/{id} (update)", "PUT", f"/v1/sessions/{session_id}", "ingest", body)


# Memory -----------------------------------------------------------------------------------------


@dataclass
class Memory:
    """Memory of a set of processes, summed, in bytes, from /proc."""

    processes: int = 0
    rss: int = 0  # VmRSS: pages shared between processes count once per process that touched them
    uss: int = 0  # private pages (Private_Clean + Private_Dirty): what a leak would grow
    pss: int = 0  # proportional set size: each shared page split between the processes using it
    label: str = ""
    backends: int = 0

    def add(self, pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            return
        fields = {}
        for line in (status + rollup).splitlines():
            name, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                fields[name] = int(value.split()[0]) * 1024
        self.processes += 1
        self.rss += fields.get("VmRSS", 0)
        self.uss += fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
        self.pss += fields.get("Pss", 0)


def server_memory(server):
    """gunicorn's master, its workers and the job queue worker(s) it started."""
    master = psutil.Process(server.process.pid)
    children = master.children(recursive=True)
    exporters = sum(1 for p in children if "jobs_worker" in " ".join(p.cmdline()))
    memory = Memory(label=f"master + {len(children) - exporters} workers + {exporters} job worker(s)")
    for process in [master, *children]:
        memory.add(process.pid)
    return memory


def postgres_memory():
    """The postmaster, its background processes, and the client backends of the server
    (application_name APP_NAME); None when PostgreSQL is not on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_type, application_name FROM pg_stat_activity")
        rows = cursor.fetchall()
    transient = ("client backend", "autovacuum worker", "parallel worker", "walsender")
    background = [pid for pid, kind, _ in rows if kind not in transient]
    backends = [pid for pid, kind, name in rows if kind == "client backend" and name == APP_NAME]
    try:
        postmaster = psutil.Process(rows[0][0]).ppid()
        if "postgres" not in psutil.Process(postmaster).name():
            return None
    except (psutil.Error, IndexError):
        return None
    memory = Memory(label=f"postmaster + {len(background)} background processes", backends=len(backends))
    for pid in [postmaster, *background, *backends]:
        memory.add(pid)
    return memory


class Sampler(threading.Thread):
    """Memory of the server and of PostgreSQL every `every` seconds from `at` (monotonic clock)
    to just before `until`, while the load runs."""

    def __init__(self, server, *, at, until, every=5.0):
        super().__init__(daemon=True)
        self.server, self.at, self.until, self.every = server, at, until, every
        self.samples = []  # (seconds since `at`, server Memory, PostgreSQL Memory or None)
        self.shared_buffers = "?"

    def run(self):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW shared_buffers")
                self.shared_buffers = cursor.fetchone()[0]
            moment = self.at
            while moment < self.until - 1:
                time.sleep(max(0.0, moment - time.monotonic()))
                self.samples.append((moment - self.at, server_memory(self.server), postgres_memory()))
                moment += self.every
        finally:
            connection.close()


# Checks -----------------------------------------------------------------------------------------


@dataclass
class Checks:
    results: list = field(default_factory=list)  # (passed, text)

    def add(self, passed, text):
        self.results.append((bool(passed), text))

    def run(self, check, *args):
        """Run one check; one that cannot finish (an answer it did not expect) fails with the reason."""
        try:
            check(self, *args)
        except Exception as exc:  # noqa: BLE001 - reported as the check's failure
            self.add(False, f"{check.__name__} could not finish: {exc!r}")

    @property
    def failed(self):
        return [text for passed, text in self.results if not passed]


def listed_where(filters):
    """The SQL of the list's filters (SPEC §7.1), written out independently of the app's FilterSet."""
    where, params = ["NOT s.archived", "s.deleted_at IS NULL"], []
    if "status" in filters:
        where.append("s.status = %s")
        params.append(filters["status"])
    if "programme" in filters:
        where.append(
            sql("EXISTS (SELECT 1 FROM {enrolment} e JOIN {programme} p ON p.id = e.programme_id "
                "WHERE e.student_id = s.user_id AND upper(p.code) = upper(%s))")
        )
        params.append(filters["programme"])
    if "cohort" in filters:
        where.append("s.cohort_id = %s")
        params.append(filters["cohort"])
    if "start_date" in filters:
        where.append("s.last_seen >= %s::date::timestamp AT TIME ZONE 'UTC'")
        params.append(filters["start_date"])
    if "end_date" in filters:
        where.append("s.last_seen < (%s::date + 1)::timestamp AT TIME ZONE 'UTC'")
        params.append(filters["end_date"])
    if "search" in filters:
        where.append(
            "(lower(s.full_name) LIKE %s OR lower(s.email) LIKE %s "
            "OR (s.student_number IS NOT NULL AND lower(s.student_number) LIKE %s) OR s.user_id = %s)"
        )
        like = f"%{filters['search'].lower()}%"
        params += [like, like, like, filters["search"]]
    return " AND ".join(where), params


def sql_listed_count(filters):
    where, params = listed_where(filters)
    with connection.cursor() as cursor:
        cursor.execute(sql("SELECT count(*) FROM {student} s WHERE ") + where, params)
        return cursor.fetchone()[0]


def sql_listed_ids(filters):
    where, params = listed_where(filters)
    with connection.cursor() as cursor:
        cursor.execute(sql("SELECT s.user_id FROM {student} s WHERE ") + where, params)
        return {row[0] for row in cursor.fetchall()}


def api_get(server, host, token, path):
    reply = server.get(path, host=host, headers={"Authorization": f"Bearer {token}"})
    if reply.status != 200:
        raise RuntimeError(f"GET {path}: {reply.status} {reply.body[:300]!r}")
    return reply.json()


def check_ledger(checks, fixtures, mix, server, host, rng):
    sums = ledger_sums()
    negative = [pair for pair, total in sums.items() if total < 0]
    checks.add(not negative, f"grant ledger, whole tenant in SQL: {len(sums):,} (student, case study) pairs, "
                             f"{len(negative)} with a sum below 0")
    # Every card of every student with ledger rows, on every case study with ledger rows, built by
    # the detail's rules for many students at once (as the gradebook builds them).
    case_studies = list(CaseStudy.objects.filter(pk__in={c for _, c in sums}))
    students = sorted({s for s, _ in sums})
    cards = differ = 0
    for start in range(0, len(students), 500):
        chunk = students[start:start + 500]
        for (user_id, case_study_id), card in students_case_study_cards(student_ids=chunk, case_studies=case_studies).items():
            total = sums.get((user_id, case_study_id), 0)
            cards += 1
            if card.extra_attempts != total or card.attempts_allowed != card.case_study.max_attempts + total:
                differ += 1
    checks.add(not differ, f"every card's extra and allowed attempts equal the ledger's sums: {cards:,} cards "
                           f"({len(students):,} students × {len(case_studies)} case studies), {differ} differ")

    with connection.cursor() as cursor:
        cursor.execute(
            sql("SELECT id, student_id, case_study_id, delta FROM {grant} WHERE created_at >= %s"),
            [fixtures.started],
        )
        written = {row[0]: ((row[1], row[2]), row[3]) for row in cursor.fetchall()}
    answered = mix.ledger.rows
    uncertain = mix.ledger.uncertain
    missing = [g for g in answered if g not in written]
    wrong = [g for g in answered if g in written and written[g] != answered[g]]
    unexplained = [g for g, (pair, _) in written.items() if g not in answered and pair not in uncertain]
    checks.add(not (missing or wrong or unexplained),
               f"ledger rows written during the soak are exactly those answered: {len(written):,} written, "
               f"{len(answered):,} answered, {len(missing)} missing, {len(wrong)} different, {len(unexplained)} unexplained")
    expected = defaultdict(int)
    for pair, delta in answered.values():
        expected[pair] += delta
    off = [pair for pair, delta in expected.items()
           if pair not in uncertain and sums.get(pair, 0) != fixtures.ledger_before.get(pair, 0) + delta]
    checks.add(not off, f"each touched pair's sum = its sum before + the answered deltas: {len(expected):,} pairs, "
                        f"{len(off)} off")

    # Through the API: the detail's card and the ledger list of a sample of touched pairs.
    touched = [pair for pair in expected if pair not in uncertain]
    sample = [pair for pair in fixtures.hot if pair in expected]
    pool = [pair for pair in touched if pair not in sample]
    sample += rng.sample(pool, min(30, len(pool)))
    token = fixtures.tokens["operator"]
    bad = []
    for user_id, case_study_id in sample:
        total = sums.get((user_id, case_study_id), 0)
        detail = api_get(server, host, token, f"/v1/console/students/{user_id}")["data"]
        card = next((c for c in detail["case_study_details"] if c["case_study_id"] == case_study_id), None)
        rows, skip = [], 0
        while True:
            query = urlencode({"user_id": user_id, "case_study_id": case_study_id, "limit": 100, "skip": skip})
            page = api_get(server, host, token, f"/v1/console/attempts/grants?{query}")
            rows += page["data"]
            skip += 100
            if skip >= page["total"]:
                break
        allowed = fixtures.max_attempts[case_study_id] + total
        if (card is None or card["extra_attempts"] != total or card["attempts_allowed"] != allowed
                or sum(r["delta"] for r in rows) != total):
            bad.append((user_id, case_study_id, total, card and card["extra_attempts"], sum(r["delta"] for r in rows)))
    checks.add(not bad, f"through the API, {len(sample)} touched pairs ({len(fixtures.hot)} hot): the detail's card "
                        f"(extra, allowed) and the ledger list agree with SQL: {len(bad)} differ {bad[:3] if bad else ''}")


def check_list_totals(checks, fixtures, server, host, rng):
    token = fixtures.tokens["viewer"]
    today = dt.date.today()
    term = rng.choice(fixtures.search_terms)
    programme, cohort = rng.choice(fixtures.programmes), rng.choice(fixtures.cohorts) if fixtures.cohorts else None
    cases = [
        {},
        {"status": "active"},
        {"status": "inactive"},
        {"programme": programme},
        {"programme": programme, "status": "inactive"},
        {"start_date": (today - dt.timedelta(days=60)).isoformat(), "end_date": (today - dt.timedelta(days=3)).isoformat()},
        {"search": term},
    ]
    if cohort:
        cases += [{"cohort": cohort}, {"cohort": cohort, "programme": programme, "status": "inactive"}]
    wrong = []
    counted = []
    for filters in cases:
        page = api_get(server, host, token, f"/v1/console/students?{urlencode({**filters, 'limit': 1})}")
        count = sql_listed_count(filters)
        counted.append((filters, count))
        if page["total"] != count:
            wrong.append((filters, page["total"], count))
    shown = ", ".join(f"{'&'.join(f'{k}={v}' for k, v in f.items()) or 'no filter'}: {n:,}" for f, n in counted)
    checks.add(not wrong, f"list totals equal SQL counts for {len(cases)} filters ({shown}){': ' + str(wrong) if wrong else ''}")

    with connection.cursor() as cursor:
        cursor.execute(
            sql("SELECT coalesce(c.status, s.status), coalesce(c.listed, 0), coalesce(s.n, 0) FROM {listed} c "
                "FULL JOIN (SELECT status, count(*) AS n FROM {student} WHERE NOT archived AND deleted_at IS NULL "
                "GROUP BY status) s ON s.status = c.status")
        )
        counts = cursor.fetchall()
    off = [row for row in counts if row[1] != row[2]]
    checks.add(not off, f"the list's maintained counts ({TABLES['listed']}) equal a count by status: "
                        f"{', '.join(f'{s} {a:,}' for s, a, _ in counts)}{' ' + str(off) if off else ''}")

    small = [(f, n) for f, n in counted if 0 < n <= 600] or [({"search": term}, counted[-1][1])]
    filters, count = min(small, key=lambda item: item[1])
    expected_ids = sql_listed_ids(filters)
    problems = []
    for sort in ({"sort_by": "name", "sort_order": "asc"}, {}):
        seen, skip = [], 0
        while True:
            query = urlencode({**filters, **sort, "limit": 100, "skip": skip})
            page = api_get(server, host, token, f"/v1/console/students?{query}")
            seen += [row["user_id"] for row in page["data"]]
            skip += 100
            if not page["data"] or skip >= page["total"]:
                break
        if len(seen) != len(set(seen)) or set(seen) != expected_ids:
            problems.append((sort or "default sort", len(seen), len(set(seen)), len(expected_ids)))
    label = "&".join(f"{k}={v}" for k, v in filters.items())
    checks.add(not problems, f"paging through {label} ({len(expected_ids)} students, by name and by the default sort) "
                             f"returns exactly them{': ' + str(problems) if problems else ''}")


_LAST_SEEN_OFF_SQL = """
SELECT s.user_id, s.last_seen, seen.v FROM {student} s
LEFT JOIN LATERAL (SELECT max(x.last_activity_at) AS v FROM {session} x WHERE x.student_id = s.user_id) seen ON TRUE
WHERE s.last_seen IS DISTINCT FROM seen.v
"""

_PROGRAMMES_OFF_SQL = """
SELECT s.user_id, s.programme_label, s.overall_case_studies, coalesce(l.label, ''), n.n FROM {student} s
LEFT JOIN LATERAL (SELECT string_agg(p.name, ', ' ORDER BY p.code) AS label FROM {enrolment} e
    JOIN {programme} p ON p.id = e.programme_id WHERE e.student_id = s.user_id) l ON TRUE
LEFT JOIN LATERAL (SELECT count(DISTINCT c.case_study_id) AS n FROM {enrolment} e
    JOIN {case_study_programmes} cp ON cp.{cp_programme} = e.programme_id
    JOIN {case_study} c ON c.case_study_id = cp.{cp_case_study}
    WHERE e.student_id = s.user_id AND c.is_active) n ON TRUE
WHERE s.programme_label <> coalesce(l.label, '') OR s.overall_case_studies <> n.n
"""


def maintained_off():
    """{column: {user_id: (stored, from the sources)}} of the students whose maintained columns
    differ from their sources, written out in SQL independently of students.maintained."""
    with connection.cursor() as cursor:
        cursor.execute(sql(_LAST_SEEN_OFF_SQL))
        last_seen = {user_id: (stored, actual) for user_id, stored, actual in cursor.fetchall()}
        cursor.execute(sql(_PROGRAMMES_OFF_SQL))
        programmes = {row[0]: (row[1:3], row[3:]) for row in cursor.fetchall()}
    return {"last_seen": last_seen, "programme_label, overall_case_studies": programmes}


def check_maintained(checks, fixtures):
    for column, off in maintained_off().items():
        before = fixtures.maintained_off[column]
        new = {user_id: values for user_id, values in off.items() if user_id not in before}
        shown = "; ".join(f"{user_id}: {stored} stored, {actual} from its sources"
                          for user_id, (stored, actual) in list(new.items())[:5])
        checks.add(not new, f"maintained {column} equal its sources: {len(new)} students off"
                            f"{f' (and {len(before)} already off before the load)' if before else ''}"
                            f"{': ' + shown if shown else ''}")


def wait_for_exports(mix, timeout):
    job_ids = list(mix.export_jobs)
    deadline = time.monotonic() + timeout
    while True:
        states = Counter(ExportJob.objects.filter(pk__in=job_ids).values_list("state", flat=True))
        if not (states["queued"] or states["running"]) or time.monotonic() > deadline:
            return len(job_ids), states
        time.sleep(1)


_LOG_RECORD = re.compile(r"^(\[?\d{4}-\d\d-\d\d|\{)")  # a line that starts a record (text, gunicorn or JSON)
_LOG_PROBLEM = re.compile(r"^Traceback|\[(ERROR|CRITICAL)\]|^\S+ (ERROR|CRITICAL) |\"level\": ?\"(ERROR|CRITICAL)\"")


def server_log_problems(server):
    """Errors and tracebacks in the server's log (gunicorn, the app and the job queue worker), each
    with the lines that continue it."""
    lines = server.log().splitlines()
    problems, number = [], 0
    while number < len(lines):
        if not _LOG_PROBLEM.search(lines[number]):
            number += 1
            continue
        end = number + 1
        while end < len(lines) and not _LOG_RECORD.match(lines[end]):
            end += 1
        problems.append("\n".join(lines[number:end]))
        number = end
    return problems


# The run ----------------------------------------------------------------------------------------


def mb(value):
    return f"{value / 2**20:,.1f} MB"


def growth(first, last):
    return (last - first) / first if first else 0.0


def mean(values):
    return sum(values) / len(values) if values else 0.0


def print_memory(args, memory, checks):
    """Memory at the start and at the end: the means of the samples in the first and in the
    last minute of the load (less in a short run), as connections and caches come and go."""
    samples = memory.samples
    if not samples:
        checks.add(False, "memory was not sampled")
        return
    window = max(memory.every, min(60.0, args.seconds / 5))
    first = [s for s in samples if s[0] < window]
    last = [s for s in samples if s[0] >= samples[-1][0] - window + memory.every / 2]
    print(f"\nMemory, means of the samples (every {memory.every:.0f} s) in the first and in the last "
          f"{window:.0f} s of the load: start → end")

    def line(name, pick, side):
        a, b = mean([pick(s[side]) for s in first]), mean([pick(s[side]) for s in last])
        return f"{name} {mb(a)} → {mb(b)} ({growth(a, b):+.1%})", growth(a, b)

    server = samples[-1][1]
    rss, rss_growth = line("RSS", lambda m: m.rss, 1)
    print(f"  server      {server.label}: {rss}; {line('private (USS)', lambda m: m.uss, 1)[0]}; "
          f"{line('PSS', lambda m: m.pss, 1)[0]}")
    checks.add(rss_growth < MEMORY_GROWTH_LIMIT,
               f"server memory growth {rss_growth:+.1%} (RSS of gunicorn's master, workers and job queue worker; limit +10 %)")
    if any(s[2] is None for s in samples):
        print("  PostgreSQL  not on this machine: not measured")
        return
    pg = samples[-1][2]
    fewest, most = min(s[2].backends for s in samples), max(s[2].backends for s in samples)
    backends = str(fewest) if fewest == most else f"{fewest}–{most}"
    uss, uss_growth = line("private (USS)", lambda m: m.uss, 2)
    print(f"  PostgreSQL  {pg.label} + {backends} backends of the server: {uss}; "
          f"{line('RSS', lambda m: m.rss, 2)[0]}; {line('PSS', lambda m: m.pss, 2)[0]}")
    print(f"              (RSS and PSS include the pages of shared buffers each process has touched: a cache that "
          f"fills up to shared_buffers = {memory.shared_buffers}, not a leak)")
    checks.add(uss_growth < MEMORY_GROWTH_LIMIT,
               f"PostgreSQL memory growth {uss_growth:+.1%} (private memory of the postmaster, its background processes "
               f"and the server's backends; limit +10 %)")
    minute = [s for s in samples if s[0] % 60 < memory.every / 2] + [samples[-1]]
    trail = ", ".join(f"{t:.0f} s {mb(server.rss)} / {mb(pg.uss)}" for t, server, pg in minute)
    print(f"  server RSS / PostgreSQL private, every minute: {trail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenant", default="soak")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--warmup", type=float, default=30, help="seconds of load before memory is first read")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for the server (default: as make run)")
    parser.add_argument("--threads", type=int, help="WEB_THREADS for the server (default: as make run)")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    tenant = Tenant.objects.filter(slug=args.tenant).first()
    if tenant is None:
        sys.exit(HOW_TO_SEED.format(slug=args.tenant))
    host = tenant.domains.get(is_primary=True).domain
    with schema_context(tenant.schema_name):
        fixtures = prepare(args.tenant, rng)
    connection.close()

    env = app_env(
        DATABASE_URL=database_url(),
        PGAPPNAME=APP_NAME,
        WEB_CONCURRENCY=None if args.workers is None else str(args.workers),
        WEB_THREADS=None if args.threads is None else str(args.threads),
    )
    server = LiveServer(env).start()
    mix = Mix(fixtures, clients=args.clients, seed=args.seed)
    checks = Checks()
    began = time.monotonic()
    sampler = Sampler(server, at=began + args.warmup, until=began + args.warmup + args.seconds)
    try:
        sampler.start()
        samples = run_requests(
            port=server.port, host=host, next_request=mix.next_request, clients=args.clients,
            seconds=args.seconds, warmup=args.warmup,
        )
        sampler.join()
        load_ended = time.monotonic()
        with schema_context(tenant.schema_name):
            queued, export_states = wait_for_exports(mix, timeout=300)
            exports_waited = time.monotonic() - load_ended
            checks.run(check_ledger, fixtures, mix, server, host, rng)
            checks.run(check_list_totals, fixtures, server, host, rng)
            checks.run(check_maintained, fixtures)
            counts = tenant_counts()
    finally:
        server.terminate()
        connection.close()

    report(args, host, fixtures, mix, samples, sampler, checks, queued, export_states, exports_waited, counts, server)
    sys.exit(1 if checks.failed else 0)


def report(args, host, fixtures, mix, samples, memory, checks, queued, export_states, exports_waited, counts, server):
    before = fixtures.counts
    workers = memory.samples[0][1].label if memory.samples else "?"
    threads = args.threads or server_options()["threads"]
    print(f"Soak of the production server (gunicorn, config.serve: {workers}, {threads} threads each) on {host}: "
          f"{before['students']:,} students, {before['sessions']:,} sessions, {before['grants']:,} ledger rows at the start")
    print(f"{args.clients} clients, {args.seconds:.0f} s after a {args.warmup:.0f} s warm-up, loopback; "
          f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} at the end on {os.cpu_count()} CPUs")
    answered = [s for s in samples if s[1] != DROPPED]
    latencies = [s[2] for s in answered]
    print(f"\nrequests {len(samples):,}   req/s {len(samples) / args.seconds:.1f}   "
          f"p50 {percentile(latencies, 0.5):.1f} ms   p99 {percentile(latencies, 0.99):.1f} ms")

    by_route = defaultdict(list)
    statuses = Counter()
    for label, status, elapsed in samples:
        by_route[label].append((status, elapsed))
        statuses[(status, label)] += 1
    print(f"\n{'route':<52} {'requests':>9} {'share':>6} {'p50 ms':>8} {'p99 ms':>8} {'not 2xx':>8}")
    for label in sorted(by_route, key=lambda k: -len(by_route[k])):
        rows = by_route[label]
        times = [elapsed for status, elapsed in rows if status != DROPPED]
        not_ok = sum(1 for status, _ in rows if status == DROPPED or not 200 <= status < 300)
        print(f"{label:<52} {len(rows):>9,} {len(rows) / len(samples):>6.1%} {percentile(times, 0.5):>8.1f} "
              f"{percentile(times, 0.99):>8.1f} {not_ok:>8,}")

    print("\nAnswers that are not 2xx, by status and route:")
    unexpected = []
    others = [((s, label), n) for (s, label), n in statuses.items()
              if s == DROPPED or not 200 <= s < 300 or label in MUST_REFUSE]
    others.sort(key=lambda item: (str(item[0][0]), item[0][1]))
    for (status, label), count in others:
        reason = CORRECT_REFUSALS.get((label, status))
        if reason:
            verdict = f"correct refusal: {reason}"
        else:
            verdict = "FAIL"
            unexpected.append((status, label, count))
        print(f"  {status!s:>7} {label:<52} {count:>7,}   {verdict}")
    if not others:
        print("  none")
    five = sum(n for (s, _), n in statuses.items() if s != DROPPED and s >= 500)
    dropped = sum(n for (s, _), n in statuses.items() if s == DROPPED)
    # A refusal of a request that should have succeeded, or a success of one that must be refused.
    wrong = sum(n for s, _, n in unexpected if s != DROPPED and s < 500)
    log_problems = server_log_problems(server)
    text = f"{five} × 5xx, {dropped} dropped connections, {wrong} answers the request was not meant to get"
    checks.results.insert(0, (five == 0 and dropped == 0 and wrong == 0, text))
    checks.results.insert(1, (not log_problems, f"server log ({server.log_path}): {len(log_problems)} tracebacks or errors"))

    grants = sum(1 for _, delta in mix.ledger.rows.values() if delta > 0)
    print(f"\nWrites: {len(mix.ledger.rows):,} ledger rows answered ({grants:,} grants, "
          f"{len(mix.ledger.rows) - grants:,} revokes), {mix.sessions_created:,} sessions created; "
          f"the tenant now holds {counts['sessions']:,} sessions and {counts['grants']:,} ledger rows")
    done = export_states.get("done", 0)
    print(f"Background exports: {queued} queued, {done} done, {export_states.get('failed', 0)} failed, "
          f"{export_states.get('queued', 0) + export_states.get('running', 0)} unfinished "
          f"{exports_waited:.0f} s after the load; {mix.exports_downloaded} downloaded during it")
    checks.add(done == queued, f"background exports: {done} of {queued} done")

    print_memory(args, memory, checks)

    print("\nChecks:")
    for passed, text in checks.results:
        print(f"  {'PASS' if passed else 'FAIL'}  {text}")
    if log_problems:
        print("\nFrom the server's log:")
        for problem in log_problems[:5]:
            print(problem)
            print("  ---")
    print(f"\n{'FAILED' if checks.failed else 'PASSED'}: {len(checks.failed)} of {len(checks.results)} checks failed")


if __name__ == "__main__":
    main()
