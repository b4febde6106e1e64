"""Past one machine, for real (SPEC §10; `make scale-test`, skipped in `make test`).

On this machine: a throwaway PostgreSQL primary with two tenants, a streaming replica of it
(`pg_basebackup -R`), PgBouncer in transaction mode in front of the primary with fewer server
connections than the app has clients, a Redis of our own, and production servers
(`python -m config.serve`) pointed at them. Then:
- two tenants hammered through the pooler: every answer holds only its own tenant's rows (0
  leaks in 10,000 requests, 0 errors); the same load with django-tenants' once-per-connection
  `SET search_path` does leak, which shows the check can fail; connected directly in session
  mode, with the hot reads as prepared statements on connections that change tenants, the
  same check holds (0 leaks in 4,000 requests);
- lag-tolerant reads from the replica, with its replay paused: who wrote sees the write in
  the list (read-your-writes), a colleague sees the list as the replica has it until replay
  resumes, and the detail page is right for both all along;
- two app servers sharing Redis: a login, a token, a logout, a revocation and the sign-in
  throttle count on both at once;
- a bounded load on one and on two app servers, side by side.
"""
import json
import os
import time
import uuid

import psycopg
import pytest

from testing.live import LiveServer, ThrowawayCluster, app_env, manage
from testing.scale import PgBouncer, RedisServer, StreamingReplica, run_load

pytestmark = [
    pytest.mark.scale,
    pytest.mark.skipif(os.environ.get("SCALE_TEST") != "1", reason="make scale-test runs these (SCALE_TEST=1)"),
]

PASSWORD = "scale-test-password"
TENANTS = {"alpha": 25, "beta": 40}  # slug: students; different totals make a leaked count visible
POOL_SIZE = 2
LEAK_REQUESTS = 10_000
CONTROL_REQUESTS = 1_000
DIRECT_REQUESTS = 4_000
CLIENTS = 12
LOAD_SECONDS = 15
RYW_SECONDS = 4


def _host(slug):
    return f"{slug}.localhost"


def _email(slug, who="ops"):
    return f"{who}@{slug}.example"


@pytest.fixture(scope="module")
def stack():
    primary = ThrowawayCluster()
    primary.start()
    direct = app_env(DATABASE_URL=primary.socket_url())
    for slug, students in TENANTS.items():
        manage("prepare_demo", "--slug", slug, "--domain", _host(slug), "--students", str(students),
               "--email", _email(slug), "--password", PASSWORD, env=direct)
        manage("create_staff", "--tenant", slug, "--email", _email(slug, "colleague"), "--password", PASSWORD,
               "--role", "operator", env=direct)
    ids = {}
    with psycopg.connect(primary.socket_url(), autocommit=True) as conn:
        for slug in TENANTS:
            ids[slug] = {row[0] for row in conn.execute(
                f'SELECT user_id FROM "{slug}".students_student WHERE NOT archived AND deleted_at IS NULL')}
    replica = StreamingReplica(primary)
    replica.start()
    pgbouncer = PgBouncer(primary, pool_size=POOL_SIZE)
    redis = RedisServer()
    stack = {"primary": primary, "replica": replica, "pgbouncer": pgbouncer, "redis": redis, "ids": ids}
    yield stack
    redis.stop()
    pgbouncer.stop()
    replica.discard()
    primary.discard()


def _server(stack, **env):
    base = {
        "DATABASE_URL": stack["pgbouncer"].url(),
        "DATABASE_POOL_MODE": "transaction",
        "REDIS_URL": stack["redis"].url,
        "CACHE_KEY_PREFIX": uuid.uuid4().hex[:8],
        "SECRET_KEY": "scale-test-secret-key-shared-by-every-app-server",
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
        "LOG_LEVEL": "ERROR",
        # The app servers alone: job queue workers connect to PostgreSQL directly, not through
        # a transaction pooler (LISTEN needs a session; README "The job queue").
        "JOB_WORKERS": "0",
    }
    return LiveServer(env=app_env(**{**base, **env})).start()


def _auth(server, slug, who="ops"):
    token = server.token(host=_host(slug), email=_email(slug, who), password=PASSWORD)
    return {"Authorization": f"Bearer {token}"}


def _tenant_checks(stack, server):
    """For each tenant: its host, a token, its students' ids."""
    return [
        {"host": _host(slug), "headers": _auth(server, slug), "ids": stack["ids"][slug],
         "one": sorted(stack["ids"][slug] - stack["ids"][other])[0]}
        for slug, other in (("alpha", "beta"), ("beta", "alpha"))
    ]


def _checked_call(servers, sides):
    """One request per call, alternating tenants and kinds; 'ok', 'leak' or 'error: …'."""

    def call(n):
        side, server = sides[n % 2], servers[(n // 2) % len(servers)]
        kind = n % 20
        if kind == 19:  # the export: a server-side cursor inside a transaction
            reply = server.get("/v1/console/students/export?format=csv", host=side["host"], headers=side["headers"])
            if reply.status != 200:
                return f"error: export {reply.status}"
            lines = reply.body.decode("utf-8-sig").strip().splitlines()
            return "ok" if len(lines) == len(side["ids"]) + 1 else "leak"
        if kind % 3 == 0:
            reply = server.get(f"/v1/console/students/{side['one']}", host=side["host"], headers=side["headers"])
            if reply.status != 200:
                return f"error: detail {reply.status}"
            return "ok" if reply.json()["data"]["user_id"] == side["one"] else "leak"
        reply = server.get("/v1/console/students?limit=100", host=side["host"], headers=side["headers"])
        if reply.status != 200:
            return f"error: list {reply.status}"
        body = reply.json()
        seen = {row["user_id"] for row in body["data"]}
        return "ok" if body["total"] == len(side["ids"]) and seen == side["ids"] else "leak"

    return call


def _report(capsys, text):
    with capsys.disabled():
        print(f"\n[scale-test] {text}", flush=True)


def test_two_tenants_through_a_transaction_pooler_never_leak(stack, capsys):
    server = _server(stack)
    try:
        sides = _tenant_checks(stack, server)
        outcomes, seconds = run_load(_checked_call([server], sides), requests=LEAK_REQUESTS, clients=CLIENTS)
        pools = stack["pgbouncer"].server_connections()
    finally:
        server.terminate()
    _report(capsys, f"pooler, per-statement search_path: {dict(outcomes)} in {seconds:.1f} s "
                    f"({LEAK_REQUESTS / seconds:.0f} req/s); {CLIENTS} clients, 8 app connections, "
                    f"{POOL_SIZE} server connections")
    assert outcomes == {"ok": LEAK_REQUESTS}
    # Fewer server connections than the app held: the pooler really shared them.
    assert all(pool["sv_active"] + pool["sv_idle"] + pool["sv_used"] <= POOL_SIZE for pool in pools
               if pool["database"] == "postgres")


def test_connected_directly_prepared_statements_serve_each_tenant_its_own_rows(stack, capsys):
    """Session mode straight to PostgreSQL, as `make run` runs: the token, the list's first page
    and the detail run as prepared statements on connections that switch tenants between
    requests, under the same alternating load: every answer is its own tenant's."""
    server = _server(stack, DATABASE_URL=stack["primary"].socket_url(), DATABASE_POOL_MODE="session")
    try:
        sides = _tenant_checks(stack, server)
        started = time.monotonic()
        outcomes, _ = run_load(_checked_call([server], sides), requests=DIRECT_REQUESTS, clients=CLIENTS)
        seconds = time.monotonic() - started
    finally:
        server.terminate()
    _report(capsys, f"direct, session mode, prepared statements: {dict(outcomes)} in {seconds:.1f} s; "
                    f"{CLIENTS} clients, 8 app connections, 2 tenants")
    assert outcomes == {"ok": DIRECT_REQUESTS}


def test_the_leak_check_catches_a_connection_level_search_path(stack, capsys):
    """django-tenants as it comes: one `SET search_path` per connection. Behind the same pooler
    another tenant's rows come back (or errors), so the check above is not vacuous."""
    server = _server(stack, DATABASE_POOL_MODE="session")
    try:
        sides = _tenant_checks(stack, server)
        outcomes, _ = run_load(_checked_call([server], sides), requests=CONTROL_REQUESTS, clients=CLIENTS)
    finally:
        server.terminate()
    _report(capsys, f"pooler, once-per-connection search_path (the hazard): {dict(outcomes)}")
    assert outcomes["ok"] < CONTROL_REQUESTS


def _rename(server, headers, host, user_id, first_name):
    reply = server.request(
        "PATCH", f"/v1/students/{user_id}", host=host, body=json.dumps({"first_name": first_name}),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert reply.status == 200, reply.body


def _listed_name(server, headers, host, user_id):
    rows = server.get("/v1/console/students?limit=100", host=host, headers=headers).json()["data"]
    return next(row["student_name"] for row in rows if row["user_id"] == user_id)


def _detail_name(server, headers, host, user_id):
    return server.get(f"/v1/console/students/{user_id}", host=host, headers=headers).json()["data"]["student_name"]


def test_replica_reads_with_lag_and_read_your_writes(stack, capsys):
    replica = stack["replica"]
    server = _server(stack, DATABASE_REPLICA_URL=replica.socket_url(), READ_YOUR_WRITES_SECONDS=str(RYW_SECONDS))
    host = _host("alpha")
    student = sorted(stack["ids"]["alpha"] - stack["ids"]["beta"])[0]
    try:
        writer, colleague = _auth(server, "alpha"), _auth(server, "alpha", "colleague")
        replica.wait_caught_up()
        before = _listed_name(server, colleague, host, student)
        replica.pause_replay()
        try:
            _rename(server, writer, host, student, "Renamed")
            assert _listed_name(server, writer, host, student).startswith("Renamed")  # read-your-writes: primary
            assert not _listed_name(server, colleague, host, student).startswith("Renamed")  # the replica, behind
            assert _listed_name(server, colleague, host, student) == before
            for headers in (writer, colleague):  # the detail never lags
                assert _detail_name(server, headers, host, student).startswith("Renamed")
            time.sleep(RYW_SECONDS + 1)  # the writer's window ends: their list reads the replica again
            assert _listed_name(server, writer, host, student) == before
        finally:
            replica.resume_replay()
        replica.wait_caught_up()
        assert _listed_name(server, colleague, host, student).startswith("Renamed")
    finally:
        server.terminate()
    _report(capsys, "replica paused: writer's list fresh (primary), colleague's list stale (replica), "
                    "detail fresh for both; after the window and after resume, as expected")


def test_two_app_servers_share_sessions_tokens_and_throttles(stack):
    host = _host("beta")
    first = _server(stack, AUTH_THROTTLE_RATE="6/min")
    second = LiveServer(env=first.env).start()  # the same settings, another process and port
    try:
        # A token made on one works on the other; revoked on the other, it stops on both at once.
        token = _auth(first, "beta")
        assert second.get("/v1/console/students?limit=1", host=host, headers=token).status == 200
        assert second.post_json("/v1/auth/logout", {}, host=host, headers=token).status in (200, 204)
        assert first.get("/v1/console/students?limit=1", host=host, headers=token).status == 401
        assert second.get("/v1/console/students?limit=1", host=host, headers=token).status == 401

        # A console login on one is signed in on the other; a logout on the other ends it on both.
        cookie = first.session_cookie(host=host, email=_email("beta"), password=PASSWORD)
        assert second.get("/students/", host=host, headers={"Cookie": cookie}).status == 200
        csrf = first.get("/login/", host=host).cookies["csrftoken"]
        logout = second.request(
            "POST", "/logout/", host=host, body=f"csrfmiddlewaretoken={csrf}",
            headers={"Cookie": f"{cookie}; csrftoken={csrf}", "Content-Type": "application/x-www-form-urlencoded",
                     "Referer": f"http://{host}/"},
        )
        assert logout.status == 302, logout.body
        assert first.get("/students/", host=host, headers={"Cookie": cookie}).status == 302  # to the login page

        # The token endpoint's throttle (6 a minute per address) counts both servers together:
        # one token was issued above, so five more pass, alternating servers, and then no more.
        statuses = [
            (first, second)[n % 2].post_json("/v1/auth/token", {"email": _email("beta"), "password": PASSWORD},
                                             host=host).status
            for n in range(7)
        ]
        assert statuses == [201] * 5 + [429] * 2, statuses
    finally:
        second.terminate()
        first.terminate()


def test_throughput_on_one_and_on_two_app_servers(stack, capsys):
    first = _server(stack)
    second = LiveServer(env=first.env).start()
    try:
        sides = _tenant_checks(stack, first)
        one, one_s = run_load(_checked_call([first], sides), seconds=LOAD_SECONDS, clients=8)
        two, two_s = run_load(_checked_call([first, second], sides), seconds=LOAD_SECONDS, clients=8)
    finally:
        second.terminate()
        first.terminate()
    rate_one, rate_two = sum(one.values()) / one_s, sum(two.values()) / two_s
    _report(capsys, f"throughput, 8 clients for {LOAD_SECONDS} s through PgBouncer: one app server "
                    f"{rate_one:.1f} req/s {dict(one)}; two app servers {rate_two:.1f} req/s {dict(two)}; "
                    f"ratio {rate_two / rate_one:.2f}")
    assert set(one) == {"ok"} and set(two) == {"ok"}
