"""Background exports across restarts, with real processes: the production server
(`python -m config.serve`, which starts a job queue worker beside gunicorn) against a
throwaway PostgreSQL.

- A job queued while no worker runs waits, survives the server's restart, and is done by the
  worker the next server starts.
- A job left running by a worker that died (its heartbeat stopped) is queued again and
  finished; a worker killed mid-export (SIGKILL) leaves its job to another worker, which
  finishes it.
- Stopping the server stops its worker; killing the server outright, the worker notices and
  exits by itself.

These tests commit nothing to the test database; they never touch it.
"""
import csv
import io
import os
import signal
import subprocess
import sys
import time

import psutil
import psycopg
import pytest

from testing.live import BASE_DIR, LiveServer, ThrowawayCluster, app_env, manage, wait_for

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "worker-test-password"
STUDENTS = 4000  # enough for an export to take a few seconds, so a worker can be killed mid-job

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
        JOB_STALLED_SECONDS="5", JOB_STALLED_CHECK_SECONDS="5", **extra,
    )


def _workers(server_pid):
    """The job queue worker processes started by the server with this pid."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "jobs_worker" in cmdline and str(server_pid) in cmdline:
            found.append(process)
    return found


def _state(server, auth, job_id):
    return server.get(f"/v1/console/exports/{job_id}", host=HOST, headers=auth).json()["data"]


def test_jobs_survive_a_restart_and_a_killed_worker(cluster, tmp_path):
    # No worker: the jobs wait.
    first = LiveServer(_env(cluster, tmp_path, JOB_WORKERS="0")).start()
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

    # What a worker killed mid-job leaves behind: the export running and claimed, its queue job
    # `doing` for a worker whose heartbeat stopped a minute ago.
    with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
        db.execute(
            "UPDATE demo.console_exportjob SET state = 'running', claimed_by = 'killed-worker', tries = 1, "
            "rows_done = 7, started_at = now() - interval '1 minute', heartbeat_at = now() - interval '1 minute' "
            "WHERE id = %s",
            [orphan_id],
        )
        dead, = db.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 minute') RETURNING id"
        ).fetchone()
        moved = db.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE args->>'job_id' = %s",
            [dead, orphan_id],
        ).rowcount
        assert moved == 1

    second = LiveServer(_env(cluster, tmp_path)).start()
    try:
        workers = wait_for(lambda: _workers(second.process.pid), 30, "the job queue worker")
        assert len(workers) == 1
        done = wait_for(lambda: _state(second, auth, waiting_id)["state"] == "done", 60, "the queued job")
        assert done
        state = _state(second, auth, waiting_id)
        assert state["rows_done"] == state["rows_total"] > 0
        reply = second.get(state["download_url"], host=HOST, headers=auth)
        assert reply.status == 200 and reply.headers["Content-Type"] == "text/csv"
        rows = list(csv.reader(io.StringIO(reply.body.decode("utf-8-sig"), newline="")))
        assert rows[0][0] == "Student Name" and len(rows) == state["rows_total"] + 1

        wait_for(lambda: _state(second, auth, orphan_id)["state"] == "done", 60, "the orphaned job")
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
    wait_for(lambda: all(not w.is_running() or w.status() == psutil.STATUS_ZOMBIE for w in workers), 20, "the worker to stop")


def test_a_worker_outlives_no_killed_server(cluster, tmp_path):
    server = LiveServer(_env(cluster, tmp_path)).start()
    workers = wait_for(lambda: _workers(server.process.pid), 30, "the job queue worker")
    try:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        wait_for(lambda: all(not w.is_running() or w.status() == psutil.STATUS_ZOMBIE for w in workers), 20,
                  "the orphaned worker to exit")
    finally:
        server.terminate()


def test_a_worker_killed_mid_export_leaves_the_job_to_another_which_finishes_it(cluster, tmp_path):
    server = LiveServer(_env(cluster, tmp_path, WEB_THREADS="2")).start()
    other = None
    try:
        auth = {"Authorization": f"Bearer {server.token(host=HOST, email=EMAIL, password=PASSWORD)}"}
        [worker] = wait_for(lambda: _workers(server.process.pid), 30, "the job queue worker")
        queued = server.post_json("/v1/console/exports", {"kind": "gradebook", "format": "xlsx"}, host=HOST, headers=auth)
        job_id = queued.json()["data"]["id"]
        wait_for(lambda: _state(server, auth, job_id)["state"] == "running", 30, "the export to start")
        worker.kill()  # SIGKILL, mid-export: no heartbeat, no goodbye
        worker.wait(10)
        assert _state(server, auth, job_id)["state"] == "running"
        # Another worker (on any machine) queues the dead one's job again once its heartbeat is
        # JOB_STALLED_SECONDS old, and finishes it.
        other = subprocess.Popen(
            [sys.executable, "manage.py", "jobs_worker"], cwd=BASE_DIR,
            env=_env(cluster, tmp_path, LOG_LEVEL="INFO"), stdout=subprocess.DEVNULL, stderr=(tmp_path / "worker.log").open("w"),
        )
        wait_for(lambda: _state(server, auth, job_id)["state"] == "done", 90,
                 "the export to be finished by another worker", logs=[tmp_path / "worker.log"])
        state = _state(server, auth, job_id)
        assert state["rows_done"] == state["rows_total"] > STUDENTS // 2  # (the list leaves archived students out)
        reply = server.get(state["download_url"], host=HOST, headers=auth)
        assert reply.status == 200 and reply.body[:2] == b"PK"
        with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
            tries, = db.execute("SELECT tries FROM demo.console_exportjob WHERE id = %s", [job_id]).fetchone()
            statuses = db.execute(
                "SELECT task_name, status FROM procrastinate_jobs WHERE args->>'job_id' = %s ORDER BY id", [job_id]
            ).fetchall()
        # One queue job, run twice (the second time by the other worker), and its file's expiry.
        assert tries == 2 and statuses == [("exports.run", "succeeded"), ("exports.expire", "todo")]
    finally:
        if other is not None:
            other.terminate()
            other.wait(20)
        server.terminate()
