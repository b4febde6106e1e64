"""Webhooks for real: the production server and one job queue worker (`manage.py jobs_worker`)
against a throwaway PostgreSQL, delivering to a receiver that is its own process
(testing/webhook_receiver.py), which verifies every request with
`standardwebhooks.Webhook(secret).verify`.

The receiver is stopped while 1,000 changes are made through the API (students renamed, each
student's renames numbered in the order they were made), and kept down for
RECEIVER_DOWN_SECONDS, 20 seconds (retried with WEBHOOK_RETRY_BASE_SECONDS=1 rather than 5, so
1, 2, 4, 8 … seconds apart, with jitter); started again, it gets
every event, each signature verifies, each student's events arrive in the order they were made,
none is lost, and the webhooks agree event for event with the change feed (GET /v1/events).

It commits nothing to the test database; it never touches it.
"""
import json
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest

from testing.live import BASE_DIR, LiveServer, ThrowawayCluster, app_env, free_port, manage, wait_for

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "webhook-test-password"
STUDENTS = 40
WRITERS = 4
EVENTS_WHILE_DOWN = 1000
RECEIVER_DOWN_SECONDS = 20

pytestmark = pytest.mark.service


class ReceiverProcess:
    def __init__(self, port, secret, out):
        self.port, self.secret, self.out = port, secret, out
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "testing" / "webhook_receiver.py"), "--port", str(self.port),
             "--secret", self.secret, "--out", str(self.out)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert self.process.stdout.readline().startswith("listening"), "the receiver did not start"
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def received(self):
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cluster():
    cluster = ThrowawayCluster()
    cluster.start()
    env = app_env(DATABASE_URL=cluster.socket_url())
    manage("prepare_demo", "--students", str(STUDENTS), "--email", EMAIL, "--password", PASSWORD, env=env)
    yield cluster
    cluster.discard()


def _feed(server, auth, after):
    """Every event after `after`, from GET /v1/events, page by page."""
    events = []
    while True:
        reply = server.get(f"/v1/events?after={after}&limit=1000", host=HOST, headers=auth)
        assert reply.status == 200, reply.body
        body = reply.json()
        events += body["data"]
        after = body["next"]
        if not body["has_more"]:
            return events, after


def _rename_all(server, auth, students, rounds, counters):
    """Rename each student `rounds` times, writers in parallel, each writer its own students in
    turn: each student's names are numbered in the order they were given."""
    errors = []

    def writer(mine):
        for _ in range(rounds):
            for user_id in mine:
                counters[user_id] += 1
                reply = server.request(
                    "PATCH", f"/v1/students/{user_id}", host=HOST,
                    body=json.dumps({"first_name": f"Renamed {counters[user_id]:05d}"}),
                    headers={**auth, "Content-Type": "application/json"},
                )
                if reply.status != 200:
                    errors.append((reply.status, reply.body[:200]))

    threads = [threading.Thread(target=writer, args=(students[i::WRITERS],)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_receiver_down_for_a_while_gets_every_event_signed_in_order_and_agreeing_with_the_feed(cluster, tmp_path):
    env = app_env(
        DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="2", JOB_WORKERS="0", MEDIA_ROOT=str(tmp_path / "media"),
        WEBHOOKS_ALLOW_PRIVATE="1", WEBHOOK_RETRY_BASE_SECONDS="1", JOB_POLL_SECONDS="1",
    )
    server = LiveServer(env).start()
    worker = receiver = None
    try:
        auth = {"Authorization": f"Bearer {server.token(host=HOST, email=EMAIL, password=PASSWORD)}"}
        _, start = _feed(server, auth, 0)  # where the endpoint will start
        port = free_port()
        created = server.post_json("/v1/webhooks", {"url": f"http://127.0.0.1:{port}/hooks"}, host=HOST, headers=auth)
        assert created.status == 201, created.body
        endpoint = created.json()["data"]
        receiver = ReceiverProcess(port, endpoint["secret"], tmp_path / "received.jsonl").start()
        logs = (tmp_path / "worker.log", server.log_path)
        worker = subprocess.Popen([sys.executable, "manage.py", "jobs_worker"], cwd=BASE_DIR, env=env,
                                  stdout=subprocess.DEVNULL, stderr=logs[0].open("w"))
        reply = server.get(f"/v1/students?per_page={STUDENTS}", host=HOST, headers=auth)
        students = [row["user_id"] for row in reply.json()["data"]]
        assert len(students) == STUDENTS
        counters = defaultdict(int)

        # Up: a first round arrives.
        _rename_all(server, auth, students, 1, counters)
        wait_for(lambda: len(receiver.received()) >= STUDENTS, 30, "the first round", logs)

        # Down: 1,000 changes, and the receiver stays down a while after the first failure.
        receiver.stop()
        down_at = time.monotonic()
        _rename_all(server, auth, students, EVENTS_WHILE_DOWN // STUDENTS, counters)
        time.sleep(max(0.0, RECEIVER_DOWN_SECONDS - (time.monotonic() - down_at)))
        failing = server.get(f"/v1/webhooks/{endpoint['id']}", host=HOST, headers=auth).json()["data"]
        assert failing["status"] == "failing" and failing["failures"] >= 3, failing
        receiver.start()

        total = STUDENTS + EVENTS_WHILE_DOWN
        received = wait_for(
            lambda: (r := receiver.received()) and len({x["webhook_id"] for x in r}) >= total and r, 120,
            "every event after the receiver came back", logs,
        )

        # Every request verified with the secret.
        assert [r for r in received if "bad" in r] == []
        first = {}
        for record in received:
            first.setdefault(record["webhook_id"], record)
        assert len(first) == total
        # In commit order, and each student's renames in the order they were made.
        positions = [int(r["event"]["position"]) for r in first.values()]
        assert positions == sorted(positions)
        names = defaultdict(list)
        for record in first.values():
            event = record["event"]
            assert event["type"] == "student.updated" and record["webhook_id"] == event["id"]
            names[event["student_id"]].append(event["data"]["first_name"][1])
        assert set(names) == set(students)
        for user_id, given in names.items():
            assert given == [f"Renamed {n:05d}" for n in range(1, counters[user_id] + 1)], user_id
        # The feed and the webhooks agree event for event.
        feed, _ = _feed(server, auth, start)
        assert [e["id"] for e in feed] == list(first)
        assert feed == [r["event"] for r in first.values()]
        # The log shows the failures while it was down, and the endpoint is well again.
        log = server.get(f"/v1/webhooks/{endpoint['id']}/deliveries?outcome=failed&per_page=100", host=HOST,
                         headers=auth).json()
        assert log["total"] >= 3 and {d["status_code"] for d in log["data"]} == {None}
        state = server.get(f"/v1/webhooks/{endpoint['id']}", host=HOST, headers=auth).json()["data"]
        assert state["status"] == "enabled" and state["failures"] == 0
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        if receiver is not None:
            receiver.stop()
        server.terminate()
