"""Background exports across restarts, with real processes: the production server
(`python -m config.serve`, which starts the export worker beside gunicorn) against a
throwaway PostgreSQL.

- A job queued while no worker runs waits, survives the server's restart, and is done by the
  worker the next server starts.
- A job left `running` by a worker that was killed (its heartbeat stopped) is taken up again
  once it is stale, and finished.
- Stopping the server stops its worker; killing the server outright, the worker notices and
  exits by itself.

These tests commit nothing to the test database; they never touch it.
"""
import csv
import io
import os
import signal
import time

import psutil
import psycopg
import pytest

from testing.live import LiveServer, ThrowawayCluster, app_env, manage

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "worker-test-password"
STUDENTS = 30

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def cluster():
    cluster = ThrowawayCluster()
    cluster.start()
    env = app_env(DATABASE_URL=cluster.socket_url())
    manage("prepare_demo", "--students", str(STUDENTS), "--email", EMAIL, "--password", PASSWORD, env=env)
    yield cluster
    cluster.discard()


def _env(cluster, tmp_path, **extra):
    return app_env(
        DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="1", MEDIA_ROOT=str(tmp_path / "media"),
        EXPORT_STALE_SECONDS="3", **extra,
    )


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _workers(server_pid):
    """The export worker processes started by the server with this pid."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "export_worker" in cmdline and str(server_pid) in cmdline:
            found.append(process)
    return found


def _state(server, auth, job_id):
    return server.get(f"/v1/console/exports/{job_id}", host=HOST, headers=auth).json()["data"]


def test_jobs_survive_a_restart_and_a_killed_worker(cluster, tmp_path):
    # No worker: the jobs wait.
    first = LiveServer(_env(cluster, tmp_path, EXPORT_WORKERS="0")).start()
    try:
        auth = {"Authorization": f"Bearer {first.token(host=HOST, email=EMAIL, password=PASSWORD)}"}
        queued = first.post_json("/v1/console/exports", {"kind": "list", "format": "csv"}, host=HOST, headers=auth)
        assert queued.status == 202, queued.body
        waiting_id = queued.json()["data"]["id"]
        orphan = first.post_json("/v1/console/exports", {"kind": "gradebook", "format": "xlsx"}, host=HOST, headers=auth)
        orphan_id = orphan.json()["data"]["id"]
        time.sleep(1.5)
        assert _state(first, auth, waiting_id)["state"] == "queued"
        assert _workers(first.process.pid) == []
    finally:
        first.terminate()

    # What a worker killed mid-job leaves behind: running, claimed, its heartbeat stopped.
    with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
        db.execute(
            "UPDATE demo.console_exportjob SET state = 'running', claimed_by = 'killed-worker', tries = 1, "
            "rows_done = 7, started_at = now() - interval '1 minute', heartbeat_at = now() - interval '1 minute' "
            "WHERE id = %s",
            [orphan_id],
        )

    second = LiveServer(_env(cluster, tmp_path)).start()
    try:
        workers = _wait_for(lambda: _workers(second.process.pid), 30, "the export worker")
        assert len(workers) == 1
        done = _wait_for(lambda: _state(second, auth, waiting_id)["state"] == "done", 60, "the queued job")
        assert done
        state = _state(second, auth, waiting_id)
        assert state["rows_done"] == state["rows_total"] > 0
        reply = second.get(state["download_url"], host=HOST, headers=auth)
        assert reply.status == 200 and reply.headers["Content-Type"] == "text/csv"
        rows = list(csv.reader(io.StringIO(reply.body.decode("utf-8-sig"), newline="")))
        assert rows[0][0] == "Student Name" and len(rows) == state["rows_total"] + 1

        _wait_for(lambda: _state(second, auth, orphan_id)["state"] == "done", 60, "the orphaned job")
        orphaned = _state(second, auth, orphan_id)
        assert orphaned["rows_done"] == orphaned["rows_total"] == state["rows_total"]
        reply = second.get(orphaned["download_url"], host=HOST, headers=auth)
        assert reply.status == 200 and reply.body[:2] == b"PK"
        with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
            tries, = db.execute("SELECT tries FROM demo.console_exportjob WHERE id = %s", [orphan_id]).fetchone()
        assert tries == 2
    finally:
        second.terminate()
    # Stopping the server stops its worker.
    _wait_for(lambda: all(not w.is_running() or w.status() == psutil.STATUS_ZOMBIE for w in workers), 20, "the worker to stop")


def test_a_worker_outlives_no_killed_server(cluster, tmp_path):
    server = LiveServer(_env(cluster, tmp_path)).start()
    workers = _wait_for(lambda: _workers(server.process.pid), 30, "the export worker")
    try:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        _wait_for(lambda: all(not w.is_running() or w.status() == psutil.STATUS_ZOMBIE for w in workers), 20,
                  "the orphaned worker to exit")
    finally:
        server.terminate()
