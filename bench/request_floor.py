"""Each request against its floor: a request's time through the production server beside the SQL
it runs, replayed on one persistent connection, side by side, interleaved, in one run.

    .venv/bin/python bench/request_floor.py --tenant bench [--runs 300] [--clients 8 --seconds 20]

Cases: the JSON list with its default sort, the HTML list (the console page, signed in) and the
detail of the tenant's busiest student. For each, the statements the request runs (the token
or session, the page) are captured once in this process, then the request over a keep-alive
HTTP connection to `python -m config.serve` and the same statements on a psycopg connection are
timed alternately; the lines give medians and ratios. That connection prepares each statement
after its fifth run, as psycopg does by default (the server's hot reads are prepared too:
config.postgresql); beside it, the same statements sent as text, parsed and planned each time,
as Django sends the rest. Like the server's connections, which send `SET search_path` only
when they change tenants, both are put on the tenant's path once, before the timing. Then, for scale, two requests that run no statement: /healthz,
answered by the first middleware, and the JSON list without credentials, refused (401) after
the tenant's routing, every middleware and DRF's dispatch. Each request is also timed in this
process, interleaved with the others: the app's WSGI handler called directly (every middleware,
the signals that open and check the database connection, the response read to its end), so a
line splits the request's time into the app's own and what the server and HTTP add. Then, for
each goal (the JSON list within 3x its statements, the detail within 2x, the HTML list within
1.5x the JSON list), what it leaves the request's own work: the goal's time less the refused
request's (no statement) and the request's own statements, beside what that work takes now; a
budget below 0 means no work at all would meet it on this framework. Then the default JSON
list's throughput with `--clients` closed-loop clients (bench/load.py).

Writes one staff user `bench-floor@<tenant>.localhost` with a token and a session (kept).
"""
import argparse
import http.client
import io
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from wsgiref.util import setup_testing_defaults

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from attempts.models import Session  # noqa: E402
from bench.clients import staff_user  # noqa: E402
from bench.load import HEADER, run_load  # noqa: E402
from bench.server_throughput import database_url, tenant_and_host  # noqa: E402
from testing.clients import issue_token  # noqa: E402
from testing.live import LiveServer, app_env  # noqa: E402

# Requests that run no statement: what the server and the framework cost before any work.
FLOORS = [
    ("/healthz (first middleware)", "/healthz", 200),
    ("JSON list, no credentials (401)", "/v1/console/students", 401),
]


def busiest_student():
    """The student with the most sessions (one scan of the sessions, once per run)."""
    row = Session.objects.values("student_id").annotate(n=Count("pk")).order_by("-n").first()
    return row["student_id"], row["n"]


def captured(client, path):
    """The statements `path` runs in this process, as sent (values inlined)."""
    client.get(path)  # warm: caches, prepared lookups
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return [query["sql"] for query in queries.captured_queries]


class Http:
    """One keep-alive connection to the server."""

    def __init__(self, port, host, headers):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Host": host, **headers}

    def get(self, path, status=200):
        try:
            response = self._get(path)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closes a connection idle past its keep-alive (WEB_KEEPALIVE): open another.
            self.connection.close()
            response = self._get(path)
        assert response.status == status, (path, response.status)

    def _get(self, path):
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        response.read()
        return response


class InProcess:
    """The app's WSGI handler, called in this process with the same request (no server, no HTTP)."""

    def __init__(self, host, headers):
        self.application = get_wsgi_application()
        self.environ = {"HTTP_HOST": host}
        for name, value in headers.items():
            self.environ["HTTP_" + name.upper().replace("-", "_")] = value

    def get(self, path, status=200):
        environ = {**self.environ, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
        environ["PATH_INFO"], _, environ["QUERY_STRING"] = path.partition("?")
        setup_testing_defaults(environ)
        answered = []
        body = self.application(environ, lambda line, headers, exc_info=None: answered.append(line))
        try:
            for _ in body:
                pass
        finally:
            body.close()
        assert answered[0].startswith(str(status)), (path, answered[0])


def replay(sql_connection, statements):
    with sql_connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()


def timed(call, *args):
    started = time.perf_counter()
    call(*args)
    return (time.perf_counter() - started) * 1000


def interleaved_medians(runs, *calls):
    """Each of `calls` warmed 20 times, then timed `runs` times in turn: their medians, in ms."""
    for _ in range(20):
        for call in calls:
            call()
    times = [[] for _ in calls]
    for _ in range(runs):
        for took, call in zip(times, calls, strict=True):
            took.append(timed(call))
    return [statistics.median(took) for took in times]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    tenant, host = tenant_and_host(args.tenant)
    with schema_context(tenant.schema_name):
        user = staff_user(f"bench-floor@{args.tenant}.localhost", roles=["operator"])
        token = issue_token(user)
        student_id, sessions = busiest_student()
    bearer = {"Authorization": f"Bearer {token}"}
    api = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=bearer["Authorization"])
    browser = Client(HTTP_HOST=host)
    with schema_context(tenant.schema_name):
        browser.force_login(user)
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"}
    cases = [
        ("JSON list, default sort", "/v1/console/students", api, bearer),
        ("HTML list, default sort", "/students/", browser, cookie),
        (f"detail, busiest ({sessions} sessions)", f"/v1/console/students/{student_id}", api, bearer),
    ]
    statements = {label: captured(client, path) for label, path, client, _ in cases}
    with schema_context(tenant.schema_name):
        search_path = connection._search_path_sql()
    connection.close()

    server = LiveServer(app_env(DATABASE_URL=database_url(), LOG_LEVEL="WARNING")).start()
    try:
        # psycopg prepares a statement once it has run 5 times on a connection (the floor);
        # a client-binding cursor sends it as text each time, parsed and planned each time.
        sql_connection = psycopg.connect(database_url(), autocommit=True)
        parsed_connection = psycopg.connect(database_url(), autocommit=True, cursor_factory=psycopg.ClientCursor)
        for each in (sql_connection, parsed_connection):
            each.execute(search_path)
        results = {}
        for label, path, _, headers in cases:
            http, app = Http(server.port, host, headers), InProcess(host, headers)
            request, in_process, sql, parsed = interleaved_medians(
                args.runs,
                partial(http.get, path),
                partial(app.get, path),
                partial(replay, sql_connection, statements[label]),
                partial(replay, parsed_connection, statements[label]),
            )
            results[label] = (request, sql, len(statements[label]), parsed, in_process)
        floors = {}
        for label, path, status in FLOORS:
            http, app = Http(server.port, host, {}), InProcess(host, {})
            floors[label] = interleaved_medians(args.runs, partial(http.get, path, status), partial(app.get, path, status))
        throughput = run_load(
            label="default JSON list", port=server.port, host=host, path="/v1/console/students",
            headers=bearer, clients=args.clients, seconds=args.seconds,
        )
    finally:
        server.terminate()

    print(f"tenant {args.tenant} on {host}; medians of {args.runs} interleaved pairs; through python -m config.serve")
    for label, (request, sql, count, parsed, app) in results.items():
        print(f"  {label:<34} request {request:7.2f} ms   its {count} statements {sql:6.2f} ms   ratio {request / sql:5.2f}"
              f"   (parsed and planned each time: {parsed:5.2f} ms)")
        print(f"  {'':<34} in process {app:5.2f} ms: the app's own, of which its statements {sql / app:4.0%}; "
              f"the server and HTTP {request - app:5.2f} ms")
    html, json_list = results["HTML list, default sort"], results["JSON list, default sort"]
    print(f"  HTML list / JSON list: {html[0] / json_list[0]:.2f} (in process {html[4] / json_list[4]:.2f})")
    print("the framework's own floor (no statement):")
    for label, (request, app) in floors.items():
        print(f"  {label:<34} request {request:7.2f} ms   in process {app:5.2f} ms")
    refused = floors["JSON list, no credentials (401)"][0]
    print("what each goal leaves: its time, less the refused request's (the routing, every middleware and")
    print("DRF's dispatch) and the request's own statements, is what the request's own work may take:")
    (json_label, *_), (html_label, *_), (detail_label, *_) = cases
    goals = [
        (json_label, 3 * json_list[1], "3x its statements"),
        (detail_label, 2 * results[detail_label][1], "2x its statements"),
        (html_label, 1.5 * json_list[0], "1.5x the JSON list"),
    ]
    for label, goal, what in goals:
        request, sql = results[label][0], results[label][1]
        print(f"  {label:<34} goal {goal:5.2f} ms ({what}): its own work may take {goal - refused - sql:5.2f} ms, "
              f"takes {request - refused - sql:5.2f} ms")
    print(f"throughput, {args.clients} clients, {args.seconds:.0f} s:")
    print(HEADER)
    print(throughput.row())
    print(f"command: .venv/bin/python bench/request_floor.py --tenant {args.tenant} --runs {args.runs} "
          f"--clients {args.clients} --seconds {args.seconds:g}")


if __name__ == "__main__":
    main()
