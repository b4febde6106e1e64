"""The change feed under writers, through the production server: `python -m config.serve` with
4 pre-forked workers × 4 threads against a throwaway PostgreSQL, 8 clients writing at once
(grants single and in bulk, student updates, session ingestion) while a follower reads
GET /v1/events from where it stood. Afterwards the follower has read every event the writes
made exactly once: as many as they make, no id twice, positions without a gap. These tests
commit nothing to the test database."""
import json
import threading
import time
from collections import Counter

import pytest

from testing.live import KeepAliveClient, answered_data, demo_cluster, forked_server

pytestmark = pytest.mark.service

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "events-test-password"
INGEST_EMAIL = "runtime@demo.localhost"
WRITERS = 8
ROUNDS = 30
STUDENTS_PER_WRITER = 5
BULK_EVERY = 10  # a grant writer's bulk grant (to its 5 students) every this many rounds
REASON = "Network outage on campus"


def _client(port, token):
    return KeepAliveClient(port, token, host=HOST)


@pytest.fixture(scope="module")
def cluster():
    with demo_cluster(email=EMAIL, password=PASSWORD, staff=[(INGEST_EMAIL, "ingest")]) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(cluster):
    with forked_server(cluster) as server:
        yield server


def _setup(client):
    """A programme, one case study and five students per writer (their own: no two writers
    change one record, so each write's events are known)."""
    answered_data(*client.send("POST", "/v1/programmes", {"code": "EVT001", "name": "Events"}))
    case_studies, students = [], []
    for index in range(WRITERS):
        case_study = answered_data(*client.send(
            "POST", "/v1/case-studies", {"title": f"Events {index}", "programme_codes": ["EVT001"], "max_attempts": 2}
        ))
        case_studies.append(case_study["case_study_id"])
        students.append([
            answered_data(*client.send(
                "POST", "/v1/students",
                {"first_name": "Amara", "last_name": f"W{index}S{n}", "email": f"w{index}s{n}@events.example",
                 "programme_codes": ["EVT001"]},
            ))["user_id"]
            for n in range(STUDENTS_PER_WRITER)
        ])
    return case_studies, students


def _head(client):
    """The cursor after every event committed so far."""
    cursor = None
    while True:
        page = json.loads(client.send("GET", "/v1/events?limit=1000" + (f"&after={cursor}" if cursor else ""))[1])
        cursor = page["next"]
        if not page["has_more"]:
            return cursor


def _grants(client, index, case_study, students, expected):
    for round_ in range(ROUNDS):
        body = {"user_id": students[round_ % len(students)], "case_study_id": case_study, "attempts": 1, "reason": REASON}
        answered_data(*client.send("POST", "/v1/console/attempts/grant", body))
        expected["attempts.granted"] += 1
        if round_ % BULK_EVERY == BULK_EVERY - 1:
            body = {"user_ids": students, "case_study_id": case_study, "attempts": 1, "reason": REASON}
            answered_data(*client.send("POST", "/v1/console/attempts/grant/bulk", body))
            expected["attempts.granted"] += len(students)


def _updates(client, index, case_study, students, expected):
    for round_ in range(ROUNDS):
        user_id = students[round_ % len(students)]
        answered_data(*client.send("PATCH", f"/v1/students/{user_id}", {"last_name": f"W{index}R{round_}"}))
        expected["student.updated"] += 1


def _sessions(client, index, case_study, students, expected):
    for round_ in range(ROUNDS):
        user_id = students[round_ % len(students)]
        day = 1 + round_ // len(students)  # later sessions of a student start later and score higher
        body = {
            "user_id": user_id, "case_study_id": case_study, "status": "ended",
            "started_at": f"2026-03-{day:02d}T09:00:00Z", "ended_at": f"2026-03-{day:02d}T09:20:00Z",
            "last_activity_at": f"2026-03-{day:02d}T09:20:00Z", "score": 40 + round_, "transcript_status": "available",
            "grading_status": "complete",
        }
        answered_data(*client.send("PUT", f"/v1/sessions/evt-{index}-{round_}", body), expected=(201,))
        expected["session.completed"] += 1
        expected["final_score.changed"] += 1  # a higher score each time: highest moves


KINDS = (_grants, _updates, _sessions)


def test_eight_writers_through_the_server_and_a_follower_reading_every_event_exactly_once(server):
    admin_token = server.token(host=HOST, email=EMAIL, password=PASSWORD)
    ingest_token = server.token(host=HOST, email=INGEST_EMAIL, password=PASSWORD)
    setup = _client(server.port, admin_token)
    case_studies, students = _setup(setup)
    start = _head(setup)
    setup.close()

    expected = [Counter() for _ in range(WRITERS)]
    failures = []
    barrier = threading.Barrier(WRITERS + 1)
    writing_done = threading.Event()

    def write(index):
        kind = KINDS[index % len(KINDS)]
        client = _client(server.port, ingest_token if kind is _sessions else admin_token)
        try:
            barrier.wait(timeout=60)
            kind(client, index, case_studies[index], students[index], expected[index])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append((index, exc))
        finally:
            client.close()

    followed, pages = [], Counter()

    def follow():
        client = _client(server.port, admin_token)
        cursor = start
        try:
            barrier.wait(timeout=60)
            while True:
                finished = writing_done.is_set()  # a page asked for after this holds every write
                status, body = client.send("GET", f"/v1/events?after={cursor}&limit=200")
                assert status == 200, body[:300]
                page = json.loads(body)
                followed.extend(page["data"])
                pages["read"] += 1
                cursor = page["next"]
                if not page["data"]:
                    if finished:
                        return
                    time.sleep(0.02)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(("follower", exc))
        finally:
            client.close()

    writers = [threading.Thread(target=write, args=(index,)) for index in range(WRITERS)]
    follower = threading.Thread(target=follow)
    for thread in [*writers, follower]:
        thread.start()
    for thread in writers:
        thread.join(timeout=600)
    writing_done.set()
    follower.join(timeout=120)
    assert not any(thread.is_alive() for thread in [*writers, follower]), "a client is stuck"
    assert failures == [], f"{failures[:3]}\n{server.log()[-3000:]}"

    wanted = sum(expected, Counter())
    ids = [event["id"] for event in followed]
    assert len(ids) == sum(wanted.values()), (len(ids), wanted)
    assert len(set(ids)) == len(ids), "an event was read twice"
    positions = [int(event["position"]) for event in followed]
    assert positions == list(range(int(start) + 1, int(start) + 1 + len(positions))), "a gap or a position out of order"
    assert Counter(event["type"] for event in followed) == wanted
    assert pages["read"] > 3  # the follower read while the writers wrote, not only at the end
    # A student's events, read in position order, say what happened to it in that order.
    last_names = {}
    for event in followed:
        if event["type"] == "student.updated":
            before, after = event["data"]["last_name"]
            assert last_names.get(event["student_id"], before) == before
            last_names[event["student_id"]] = after
