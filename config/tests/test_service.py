"""The production server against a real PostgreSQL that the tests stop, kill and start.

One throwaway cluster for the module, prepared as `make run` prepares the demo (migrations, a
tenant at demo.localhost, a staff login, a few students). Then:
- the database stopped and started again under a server pointed at it with DATABASE_URL:
  only 200s and 503s (the envelope on /v1/, the console's 503 page elsewhere, Retry-After on
  both) are seen, none slower than the connect timeout, then 200s again with no restart;
- the embedded default (no DATABASE_URL): the database process killed outright during a run
  of requests; the app's watchdog starts it again, PostgreSQL recovers, 200s come back;
- SIGTERM: a request in flight is finished, then the app exits and stops the embedded server
  it had watched, although that server is not the process it first found running;
- a query string over the app's limit gets the JSON envelope, whether the app or gunicorn
  (a request line longer than it reads) refuses it;
- each worker's heartbeat file is in memory (/dev/shm), or in the directory
  WEB_HEARTBEAT_DIR names, not on the database's disk.

These tests commit nothing to the test database; they never touch it.
"""
import contextlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from config.env import ConfigError
from config.errors import MSG_VALIDATION
from config.query import MAX_QUERY_STRING_BYTES, MSG_QUERY_TOO_LONG
from config.serve import REQUEST_LINE_MAX_BYTES, heartbeat_directory, writable_directory
from testing.live import LiveServer, ThrowawayCluster, app_env, manage

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "service-test-password"
CONNECT_TIMEOUT = 3

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def cluster():
    cluster = ThrowawayCluster()
    cluster.start()
    env = app_env(DATABASE_URL=cluster.socket_url())
    manage("prepare_demo", "--students", "25", "--email", EMAIL, "--password", PASSWORD, env=env)
    yield cluster
    cluster.discard()


def _watch(server, paths, stop, *, headers):
    """Request each path over and over until `stop` is set; [(path, reply)]."""
    seen = []
    while not stop.is_set():
        for path in paths:
            seen.append((path, server.get(path, host=HOST, headers=headers.get(path))))
        time.sleep(0.05)
    return seen


def _run_watch(server, paths, headers):
    stop = threading.Event()
    seen = []
    thread = threading.Thread(target=lambda: seen.extend(_watch(server, paths, stop, headers=headers)))
    thread.start()
    return stop, thread, seen


def _wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _assert_outage_reply(path, reply):
    assert reply.status == 503, (path, reply.status, reply.body[:300])
    assert reply.headers.get("Retry-After") == "5"
    assert reply.seconds < CONNECT_TIMEOUT + 1, (path, reply.seconds)
    if path.startswith("/v1/"):
        body = reply.json()
        assert body == {
            "success": False,
            "data": None,
            "message": "The database is not reachable right now; try again in a few seconds.",
            "code": "SERVICE_UNAVAILABLE",
            "errors": None,
        }
    else:
        assert b"The console cannot reach its database" in reply.body
        assert b"console.css" in reply.body  # in the console's style


def test_database_stopped_and_started_gives_503s_then_200s_without_restart(cluster):
    server = LiveServer(app_env(DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="2", WEB_THREADS="2")).start()
    try:
        token = server.token(host=HOST, email=EMAIL, password=PASSWORD)
        session = server.session_cookie(host=HOST, email=EMAIL, password=PASSWORD)
        api, page, login = "/v1/console/students", "/students/", "/login/"
        headers = {api: {"Authorization": f"Bearer {token}"}, page: {"Cookie": session}}
        assert server.get(api, host=HOST, headers=headers[api]).status == 200
        assert server.get(page, host=HOST, headers=headers[page]).status == 200

        stop, thread, seen = _run_watch(server, [api, page, login], headers)
        time.sleep(0.5)
        cluster.stop()
        time.sleep(2)
        during = [server.get(p, host=HOST, headers=headers.get(p)) for p in (api, page, login)]
        ready = server.get("/readyz", host=HOST)
        live = server.get("/healthz", host=HOST)
        cluster.start()
        assert _wait_until(lambda: server.get(api, host=HOST, headers=headers[api]).status == 200, 15)
        time.sleep(0.5)
        stop.set()
        thread.join()

        for path, reply in zip((api, page), during[:2], strict=False):
            _assert_outage_reply(path, reply)
        # The sign-in form needs no database once the host's tenant is cached: it still shows.
        assert during[2].status == 200 and b"Sign in" in during[2].body, during[2].body[:300]
        assert ready.status == 503 and ready.json()["database"] == "unreachable"
        assert ready.headers["Cache-Control"] == "no-store"
        assert live.status == 200
        statuses = {reply.status for _, reply in seen}
        assert statuses <= {200, 503}, statuses
        for path, reply in seen:
            if reply.status == 503:
                _assert_outage_reply(path, reply)
        assert [r.status for _, r in seen[-3:]] == [200, 200, 200]
        assert server.get("/readyz", host=HOST).status == 200
        assert server.get(page, host=HOST, headers=headers[page]).status == 200
        assert "Traceback" not in server.log()
    finally:
        server.terminate()


def test_embedded_database_killed_is_started_again_by_the_app(cluster):
    cluster.stop()
    server = LiveServer(
        app_env(DATABASE_URL=None, EMBEDDED_PGDATA=str(cluster.data_dir), WEB_CONCURRENCY="2", WEB_THREADS="2")
    ).start()
    try:
        token = server.token(host=HOST, email=EMAIL, password=PASSWORD)
        api = "/v1/console/students"
        headers = {api: {"Authorization": f"Bearer {token}"}}
        first_pid = cluster.postmaster_pid()
        assert first_pid

        stop, thread, seen = _run_watch(server, [api], headers)
        time.sleep(0.5)
        cluster.kill()
        killed_at = time.monotonic()
        restarted = _wait_until(lambda: cluster.postmaster_pid() not in (None, first_pid), 15)
        back = _wait_until(lambda: server.get(api, host=HOST, headers=headers[api]).status == 200, 15)
        back_after = time.monotonic() - killed_at
        time.sleep(0.5)
        stop.set()
        thread.join()

        assert restarted and back, server.log()
        assert back_after < 10
        statuses = [reply.status for _, reply in seen]
        assert set(statuses) <= {200, 503}, set(statuses)
        assert statuses[-1] == 200
        for path, reply in seen:
            if reply.status == 503:
                _assert_outage_reply(path, reply)
        # Crash recovery lost nothing that was committed: the students are all there.
        assert server.get(api, host=HOST, headers=headers[api]).json()["total"] == 25
        assert "started again" in server.log()
    finally:
        server.terminate()
    # The app stopped the server its watchdog had started (not the one it first found).
    assert cluster.wait_stopped(), "the embedded server outlived the app"


def test_sigterm_finishes_the_request_in_flight_then_stops_the_embedded_database(cluster):
    cluster.stop()
    server = LiveServer(
        app_env(DATABASE_URL=None, EMBEDDED_PGDATA=str(cluster.data_dir), WEB_CONCURRENCY="1", WEB_THREADS="2")
    ).start()
    assert cluster.is_running()
    body = b'{"email": "ops@demo.localhost", "password": "not the password"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        # Half a request is in flight when the stop arrives.
        sock.sendall(
            b"POST /v1/auth/token HTTP/1.1\r\nHost: demo.localhost\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.5)
        server.process.send_signal(15)
        time.sleep(1)
        assert server.process.poll() is None  # still finishing
        sock.sendall(body[10:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"code": "UNAUTHENTICATED"' in answer or b'"code":"UNAUTHENTICATED"' in answer
    server.process.wait(30)
    assert cluster.wait_stopped(), "the embedded server outlived the app"


def test_a_query_string_over_the_limit_gets_the_envelope_from_the_app_and_from_the_server_itself(cluster):
    if not cluster.is_running():  # the embedded-database tests leave it stopped
        cluster.start()
    server = LiveServer(app_env(DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="1", WEB_THREADS="2")).start()
    try:
        headers = {"Authorization": f"Bearer {server.token(host=HOST, email=EMAIL, password=PASSWORD)}"}
        api = "/v1/console/students?search=Okafor&zz="
        # Past gunicorn's default request line (4,094 bytes), within the app's limit: answered.
        reply = server.get(api + "a" * (MAX_QUERY_STRING_BYTES - len("search=Okafor&zz=")), host=HOST, headers=headers)
        assert reply.status == 200, reply.body[:300]
        refused = {
            "success": False, "data": None, "message": MSG_VALIDATION, "code": "VALIDATION_ERROR",
            "errors": {"query": [MSG_QUERY_TOO_LONG]},
        }
        # Over the app's limit (the app answers), and over the longest request line gunicorn
        # reads (the worker answers): the same 400 in the envelope.
        for filler in (MAX_QUERY_STRING_BYTES, REQUEST_LINE_MAX_BYTES, 20_000):
            reply = server.get(api + "a" * filler, host=HOST, headers=headers)
            assert (reply.status, reply.headers["Content-Type"]) == (400, "application/json"), reply.body[:300]
            assert reply.json() == refused
        assert server.get("/v1/console/students?search=Okafor", host=HOST, headers=headers).status == 200
        assert "Traceback" not in server.log()
    finally:
        server.terminate()


def _web_workers(server):
    """The pids of the server's gunicorn workers (its children but the job workers)."""
    children = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout.split()
    return [pid for pid in children if "jobs_worker" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode()]


def _open_files(pid):
    files = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            files.append(os.readlink(fd))
    return files


@pytest.mark.skipif(not writable_directory("/dev/shm"), reason="no /dev/shm to write to")
@pytest.mark.parametrize("configured", [False, True], ids=["default", "WEB_HEARTBEAT_DIR"])
def test_each_workers_heartbeat_file_is_in_memory_or_where_configured(cluster, tmp_path, configured):
    if not cluster.is_running():
        cluster.start()
    expected = str(tmp_path) if configured else "/dev/shm"
    env = app_env(DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="2", WEB_THREADS="1",
                  WEB_HEARTBEAT_DIR=expected if configured else None)
    server = LiveServer(env).start()
    try:
        workers = []

        def both_started():
            workers[:] = _web_workers(server)
            return len(workers) == 2

        assert _wait_until(both_started, 20)
        for pid in workers:
            # gunicorn opens the file and unlinks it at once: only the worker's descriptor names it.
            heartbeats = [path for path in _open_files(pid) if "/wgunicorn-" in path]
            assert len(heartbeats) == 1, _open_files(pid)
            assert heartbeats[0].startswith(expected + "/wgunicorn-"), heartbeats
        assert server.get("/healthz", host=HOST).status == 200
    finally:
        server.terminate()


def test_a_heartbeat_directory_that_cannot_be_written_is_refused_at_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv("WEB_HEARTBEAT_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="WEB_HEARTBEAT_DIR must be a writable directory"):
        heartbeat_directory()
    monkeypatch.setenv("WEB_HEARTBEAT_DIR", str(tmp_path))
    assert heartbeat_directory() == str(tmp_path)
    monkeypatch.delenv("WEB_HEARTBEAT_DIR")
    assert heartbeat_directory() == ("/dev/shm" if writable_directory("/dev/shm") else None)
