"""attempts_standing under concurrent writers, through the production server: `python -m
config.serve` with 4 pre-forked workers × 4 threads against a throwaway PostgreSQL, 16 clients
reporting new sessions, changing earlier ones, granting extra attempts and archiving and
restoring the students, all on the same 8 (student, case study) pairs at once. Afterwards every
pair's totals equal a count made from scratch from the sessions and the ledger, its listed
state is its student's, each case study's participants' counts (attempts 0007) equal a count
of them, and the participants dashboard answers them. These tests commit nothing to the test
database."""
import random
import threading

import psycopg
import pytest

from attempts.tests import test_participant_counts as participant_counts
from testing.live import KeepAliveClient, answered_data, demo_cluster, forked_server, run_clients

pytestmark = pytest.mark.service

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "standing-test-password"
INGEST_EMAIL = "runtime@demo.localhost"
CLIENTS = 16
ROUNDS = 24
STUDENTS = 4
CASE_STUDIES = 2

# The same totals as attempts_standing, counted from scratch with SPEC §4's rules.
RECOUNT_SQL = """
SELECT coalesce(a.student_id, g.student_id), coalesce(a.case_study_id, g.case_study_id),
       coalesce(a.sessions, 0), coalesce(a.used, 0), coalesce(a.completed, 0), a.graded, a.best,
       a.joined_at, a.last_active_at, coalesce(g.extra, 0)
FROM (
    SELECT student_id, case_study_id, count(*) AS sessions,
           count(*) FILTER (WHERE transcript_status NOT IN ('missing', 'failed')) AS used,
           count(*) FILTER (WHERE grading_status = 'complete') AS completed,
           array_agg(score ORDER BY started_at, session_id) FILTER (WHERE grading_status = 'complete' AND score IS NOT NULL) AS graded,
           max(score) FILTER (WHERE grading_status = 'complete') AS best,
           min(started_at) AS joined_at, max(last_activity_at) AS last_active_at
    FROM {schema}.attempts_session GROUP BY student_id, case_study_id
) a
FULL JOIN (
    SELECT student_id, case_study_id, sum(delta) AS extra FROM {schema}.attempts_attemptgrant
    GROUP BY student_id, case_study_id HAVING sum(delta) <> 0
) g ON g.student_id = a.student_id AND g.case_study_id = a.case_study_id
ORDER BY 1, 2
"""
STANDING_SQL = """
SELECT student_id, case_study_id, sessions, attempts_used, completed, graded_scores, best_score, joined_at,
       last_active_at, extra_attempts
FROM {schema}.attempts_standing ORDER BY 1, 2
"""


@pytest.fixture(scope="module")
def cluster():
    with demo_cluster(email=EMAIL, password=PASSWORD, staff=[(INGEST_EMAIL, "ingest")]) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(cluster):
    with forked_server(cluster) as server:
        yield server


def _setup(client):
    answered_data(*client.send("POST", "/v1/programmes", {"code": "STD001", "name": "Standing"}))
    case_studies = [
        answered_data(*client.send("POST", "/v1/case-studies", {"title": f"Standing {n}", "programme_codes": ["STD001"],
                                                       "max_attempts": 2}))["case_study_id"]
        for n in range(CASE_STUDIES)
    ]
    students = [
        answered_data(*client.send("POST", "/v1/students", {"first_name": "Amara", "last_name": f"S{n}",
                                                  "email": f"s{n}@standing.example", "programme_codes": ["STD001"]}))["user_id"]
        for n in range(STUDENTS)
    ]
    return students, case_studies


def _report(rng, student, case_study, hour):
    graded = rng.random() < 0.5
    return {
        "user_id": student, "case_study_id": case_study, "status": "ended",
        "started_at": f"2026-03-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z",
        "ended_at": f"2026-03-{1 + hour // 24:02d}T{hour % 24:02d}:30:00Z",
        "last_activity_at": f"2026-03-{1 + hour // 24:02d}T{hour % 24:02d}:30:00Z",
        "score": rng.randrange(0, 101) if graded else None,
        "transcript_status": rng.choice(["available", "partial", "missing", "failed"]),
        "grading_status": "complete" if graded else rng.choice(["pending", "failed"]),
    }


def test_sixteen_clients_write_one_set_of_pairs_at_once_and_every_total_holds(cluster, server):
    admin_token = server.token(host=HOST, email=EMAIL, password=PASSWORD)
    ingest_token = server.token(host=HOST, email=INGEST_EMAIL, password=PASSWORD)
    setup = KeepAliveClient(server.port, admin_token, host=HOST)
    students, case_studies = _setup(setup)
    setup.close()
    pairs = [(student, case_study) for student in students for case_study in case_studies]
    answers, barrier = [], threading.Barrier(CLIENTS)

    def run(index):
        rng = random.Random(index)
        ingest = KeepAliveClient(server.port, ingest_token, host=HOST)
        staff = KeepAliveClient(server.port, admin_token, host=HOST)
        reported = []
        try:
            barrier.wait(timeout=60)
            for round_ in range(ROUNDS):
                student, case_study = pairs[(index + round_) % len(pairs)]
                session_id = f"std-{index}-{round_}"
                answers.append(ingest.send("PUT", f"/v1/sessions/{session_id}",
                                           _report(rng, student, case_study, index * ROUNDS + round_)))
                reported.append((session_id, student, case_study, index * ROUNDS + round_))
                if round_ % 3 == 2:  # a later report of an earlier session: graded now, or its transcript lost
                    earlier, s, c, hour = rng.choice(reported)
                    answers.append(ingest.send("PUT", f"/v1/sessions/{earlier}", _report(rng, s, c, hour)))
                if round_ % 4 == 3:
                    body = {"user_id": student, "case_study_id": case_study, "attempts": rng.choice([1, 2]),
                            "reason": "Network outage on campus"}
                    answers.append(staff.send("POST", "/v1/console/attempts/grant", body))
                if round_ % 8 == 7:
                    body = {"user_ids": students, "case_study_id": case_study, "attempts": 1, "reason": "Power cut"}
                    answers.append(staff.send("POST", "/v1/console/attempts/grant/bulk", body))
                if round_ % 6 == 5:  # the student archived by some clients, restored by others
                    if index % 2:
                        answers.append(staff.send("PUT", f"/v1/students/{student}/unarchive", {}))
                    else:
                        answers.append(staff.send("PUT", f"/v1/students/{student}/archive", {"withdrawn_on": "2026-11-01"}))
        finally:
            ingest.close()
            staff.close()

    run_clients(CLIENTS, run)
    # A grant to a student archived meanwhile is refused (400, naming the archive); nothing else.
    failures = [(status, body[:300]) for status, body in answers
                if status >= 300 and not (status == 400 and b"archived" in body)]
    assert failures == [], f"{len(failures)} answers were not 2xx, e.g. {failures[:5]}\n{server.log()[-3000:]}"

    with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
        schema = db.execute("SELECT schema_name FROM public.tenants_tenant WHERE slug = 'demo'").fetchone()[0]
        quoted = f'"{schema}"'
        standing = db.execute(STANDING_SQL.format(schema=quoted)).fetchall()
        recount = db.execute(RECOUNT_SQL.format(schema=quoted)).fetchall()
        db.execute(f"SET search_path TO {quoted}")
        wrongly_listed = db.execute(participant_counts.WRONG_LISTED_SQL).fetchall()
        counts = db.execute(participant_counts.COUNTS_SQL).fetchall()
        participants = db.execute(participant_counts.RECOUNT_SQL).fetchall()
        archived = {user_id for (user_id,) in db.execute(
            f"SELECT user_id FROM {quoted}.students_student WHERE archived OR deleted_at IS NOT NULL").fetchall()}
    ours = [row for row in standing if row[0] in students]
    assert len(ours) == len(pairs)
    assert sum(row[2] for row in ours) == CLIENTS * ROUNDS
    assert standing == recount
    assert wrongly_listed == []
    assert counts == participants

    # The participants dashboard reads them: each student's attempts used and allowance.
    client = KeepAliveClient(server.port, admin_token, host=HOST)
    try:
        for case_study in case_studies:
            page = answered_data(*client.send("GET", f"/v1/case-studies/{case_study}/users?statuses=invited,joined,completed"))
            answered = {row["user_id"]: (row["attempts_used"], row["attempts_allowed"]) for row in page["results"]}
            expected = {row[0]: (row[3], 2 + max(row[9], 0)) for row in ours if row[1] == case_study
                        and row[0] not in archived}
            assert answered == expected
            default = answered_data(*client.send("GET", f"/v1/case-studies/{case_study}/users"))
            assert default["count"] == len(expected) == len(default["results"])
    finally:
        client.close()
