"""Records created at once through the production server: `python -m config.serve` with 4
pre-forked workers × 4 threads against a throwaway PostgreSQL, and 16 clients creating over
10,000 records of seven kinds together (students, cohorts, case studies, clusters, groups,
background export jobs, and grant ledger rows, single and in bulk).

Every answer is a 2xx, every id answered is distinct, and the database holds exactly the rows
answered: ids made by one worker never meet those of another (config.ids reseeds at fork),
which a test in one process cannot see. These tests commit nothing to the test database.
"""
import http.client
import json
import threading
from collections import Counter

import psycopg
import pytest

from testing.live import KeepAliveClient, demo_cluster, forked_server, run_clients

pytestmark = pytest.mark.service

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "creation-test-password"
INGEST_EMAIL = "runtime@demo.localhost"
CLIENTS = 16
STUDENTS_PER_CLIENT = 100
SMALL_KINDS_PER_CLIENT = 8  # cohorts and case studies each; clusters and groups half as many
EXPORTS_PER_CLIENT = 4
SINGLE_GRANTS_PER_CLIENT = 50
BULK_GRANTS_PER_CLIENT = 5  # each to the client's 100 students: 500 ledger rows
TABLES = (
    "students_student", "students_cohort", "catalogue_casestudy", "students_studentcluster",
    "students_studentgroup", "console_exportjob", "attempts_attemptgrant",
)


def _client(port, token):
    return KeepAliveClient(port, token, host=HOST)


@pytest.fixture(scope="module")
def cluster():
    with demo_cluster(email=EMAIL, password=PASSWORD) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(cluster):
    with forked_server(cluster) as server:
        yield server


def _create_everything(client, index, outcomes, barrier):
    """One client's share, kinds interleaved so that every worker creates every kind at once."""
    made = Counter()

    def create(kind, method, path, payload, id_of):
        status, body = client.send(method, path, payload)
        outcomes.append((kind, status, body[:300] if status >= 300 else None))
        if status < 300:
            value = id_of(json.loads(body)["data"])
            if value is not None:
                outcomes.append((f"id:{kind}", value, None))
            made[kind] += 1
        return status, body

    barrier.wait(timeout=60)
    students, case_studies = [], []
    for round_ in range(STUDENTS_PER_CLIENT):
        status, body = create(
            "student", "POST", "/v1/students",
            {"first_name": f"C{index}", "last_name": f"S{round_}", "email": f"c{index}s{round_}@uni.example",
             "programme_codes": ["CONC001"]},
            lambda data: data["user_id"],
        )
        if status == 201:
            students.append(json.loads(body)["data"]["user_id"])
        if round_ < SMALL_KINDS_PER_CLIENT:
            create("cohort", "POST", "/v1/cohorts", {"name": f"Cohort {index}-{round_}"}, lambda data: data["id"])
            status, body = create(
                "case_study", "POST", "/v1/case-studies",
                {"title": f"Case {index}-{round_}", "programme_codes": ["CONC001"], "max_attempts": 2},
                lambda data: data["case_study_id"],
            )
            if status == 201:
                case_studies.append(json.loads(body)["data"]["case_study_id"])
        if round_ < SMALL_KINDS_PER_CLIENT // 2:
            status, body = create(
                "cluster", "POST", "/v1/student-clusters", {"name": f"Cluster {index}-{round_}"}, lambda data: data["id"]
            )
            if status == 201:
                create(
                    "group", "POST", "/v1/student-groups",
                    {"name": f"Group {index}-{round_}", "student_cluster_id": json.loads(body)["data"]["id"]},
                    lambda data: data["id"],
                )
        if round_ < EXPORTS_PER_CLIENT:
            create("export", "POST", "/v1/console/exports", {"kind": "list", "format": "csv"}, lambda data: data["id"])
    for round_ in range(SINGLE_GRANTS_PER_CLIENT):
        create(
            "grant", "POST", "/v1/console/attempts/grant",
            {"user_id": students[round_ % len(students)], "case_study_id": case_studies[round_ % len(case_studies)],
             "attempts": 1, "reason": "Power cut during the session"},
            lambda data: data["grant"]["id"],
        )
    for round_ in range(BULK_GRANTS_PER_CLIENT):
        create(
            "bulk_grant", "POST", "/v1/console/attempts/grant/bulk",
            {"user_ids": students, "case_study_id": case_studies[round_ % len(case_studies)], "attempts": 1,
             "reason": "Network outage on campus"},
            lambda data: None,
        )
    return made


def _counts(cluster, tables):
    """{table: rows} in the demo tenant's schema."""
    with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
        schema = db.execute("SELECT schema_name FROM public.tenants_tenant WHERE slug = 'demo'").fetchone()[0]
        return {table: db.execute(f'SELECT count(*) FROM "{schema}".{table}').fetchone()[0] for table in tables}


def test_sixteen_clients_create_over_ten_thousand_records_through_forked_workers(cluster, server):
    token = server.token(host=HOST, email=EMAIL, password=PASSWORD)
    setup = _client(server.port, token)
    status, body = setup.send("POST", "/v1/programmes", {"code": "CONC001", "name": "Concurrency"})
    assert status == 201, body
    setup.close()
    before = _counts(cluster, TABLES)

    outcomes, barrier = [], threading.Barrier(CLIENTS)
    made = [None] * CLIENTS

    def run(index):
        client = _client(server.port, token)
        try:
            made[index] = _create_everything(client, index, outcomes, barrier)
        finally:
            client.close()

    run_clients(CLIENTS, run)
    assert all(made), "a client stopped early"

    failures = [(kind, status, body) for kind, status, body in outcomes if not kind.startswith("id:") and status >= 300]
    assert failures == [], f"{len(failures)} answers were not 2xx, e.g. {failures[:5]}\n{server.log()[-3000:]}"

    ids = [value for kind, value, _ in outcomes if kind.startswith("id:")]
    duplicates = [value for value, times in Counter(ids).items() if times > 1]
    assert duplicates == []

    total = sum(made, Counter())
    ledger_rows = total["grant"] + total["bulk_grant"] * STUDENTS_PER_CLIENT
    expected = {
        "students_student": total["student"],
        "students_cohort": total["cohort"],
        "catalogue_casestudy": total["case_study"],
        "students_studentcluster": total["cluster"],
        "students_studentgroup": total["group"],
        "console_exportjob": total["export"],
        "attempts_attemptgrant": ledger_rows,
    }
    after = _counts(cluster, expected)
    assert {table: after[table] - before[table] for table in expected} == expected
    assert sum(expected.values()) >= 10_000, expected
    assert len(set(ids)) == len(ids) == sum(expected.values()) - total["bulk_grant"] * STUDENTS_PER_CLIENT


def test_sixteen_clients_update_students_at_once_and_every_change_and_label_holds(cluster, server):
    """Updates go through the records service's many-row writer (students_upsert_many): 16
    clients change their own students' names and programmes, and all of them one shared
    student, at once. Every answer is a 200, each student ends as its last answer says, and
    the maintained programme label matches the enrolments written beside it."""
    token = server.token(host=HOST, email=EMAIL, password=PASSWORD)
    setup = _client(server.port, token)
    for code, name in (("UPD001", "Accounting"), ("UPD002", "Biology")):
        status, body = setup.send("POST", "/v1/programmes", {"code": code, "name": name})
        assert status == 201, body

    def new_student(email):
        status, body = setup.send(
            "POST", "/v1/students", {"first_name": "U", "last_name": "0", "email": email, "programme_codes": ["UPD001"]}
        )
        assert status == 201, body
        return json.loads(body)["data"]["user_id"]

    shared = new_student("shared@upd.example")
    own = [[new_student(f"u{index}s{n}@upd.example") for n in range(5)] for index in range(CLIENTS)]
    setup.close()

    outcomes, barrier = [], threading.Barrier(CLIENTS)
    last = {}

    def run(index):
        client = _client(server.port, token)
        try:
            barrier.wait(timeout=60)
            for round_ in range(10):
                codes = ["UPD002"] if round_ % 2 else ["UPD001", "UPD002"]
                for user_id in [*own[index], shared]:
                    status, body = client.send(
                        "PATCH", f"/v1/students/{user_id}", {"last_name": f"{index}-{round_}", "programme_codes": codes}
                    )
                    outcomes.append((status, body[:300]))
                    if status == 200 and user_id != shared:
                        last[user_id] = (f"{index}-{round_}", codes)
        finally:
            client.close()

    run_clients(CLIENTS, run)

    failures = [(status, body) for status, body in outcomes if status != 200]
    assert failures == [], f"{len(failures)} answers were not 200, e.g. {failures[:5]}\n{server.log()[-3000:]}"
    assert len(outcomes) == CLIENTS * 10 * 6

    with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
        schema = db.execute("SELECT schema_name FROM public.tenants_tenant WHERE slug = 'demo'").fetchone()[0]
        rows = db.execute(
            f'SELECT s.user_id, s.last_name, s.programme_label, '
            f'array(SELECT p.code FROM "{schema}".students_enrolment e JOIN "{schema}".catalogue_programme p '
            f'ON p.id = e.programme_id WHERE e.student_id = s.user_id ORDER BY p.code), '
            f'array(SELECT p.name FROM "{schema}".students_enrolment e JOIN "{schema}".catalogue_programme p '
            f'ON p.id = e.programme_id WHERE e.student_id = s.user_id ORDER BY p.code) '
            f'FROM "{schema}".students_student s WHERE s.email LIKE %s',
            ("%@upd.example",),
        ).fetchall()
    by_id = {user_id: (last_name, codes, label, names) for user_id, last_name, label, codes, names in rows}
    for user_id, (last_name, codes) in last.items():
        assert by_id[user_id][:2] == (last_name, codes), user_id
    for user_id, (_, codes, label, names) in by_id.items():
        assert codes in (["UPD001", "UPD002"], ["UPD002"]), user_id
        assert label == ", ".join(names), (user_id, label, names)  # students.maintained's rule


IMPORTS_PER_CLIENT = 3
NEW_PER_IMPORT = 20


def _multipart(fields, filename, content):
    """A multipart/form-data body of `fields` and one file, and its content type."""
    boundary = "----concurrent-import"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields]
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'
    body = "".join(parts).encode() + head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_eight_clients_apply_imports_at_once_and_each_records_exactly_its_students(cluster, server):
    """Imports applied at once through forked workers, each creating its own students and all of
    them updating one shared student: every answer is a 200 with a distinct import id, and each
    import's record of its students (the list's `imported` filter) holds exactly the ones it
    answered created or updated."""
    token = server.token(host=HOST, email=EMAIL, password=PASSWORD)
    setup = _client(server.port, token)
    status, body = setup.send(
        "POST", "/v1/students", {"first_name": "Shared", "last_name": "0", "email": "shared@imp.example", "programme_codes": []}
    )
    assert status == 201, body
    setup.close()
    clients = CLIENTS // 2
    answers, barrier = [], threading.Barrier(clients)

    def run(index):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            barrier.wait(timeout=60)
            for round_ in range(IMPORTS_PER_CLIENT):
                rows = [f"Imp{index},R{round_}N{n},i{index}r{round_}n{n}@imp.example" for n in range(NEW_PER_IMPORT)]
                rows.append(f"Shared,{index}-{round_},shared@imp.example")
                content = ("first_name,last_name,email\r\n" + "\r\n".join(rows) + "\r\n").encode()
                body, content_type = _multipart([("dry_run", "false")], f"c{index}r{round_}.csv", content)
                connection.request(
                    "POST", "/v1/students/import", body=body,
                    headers={"Host": HOST, "Authorization": f"Bearer {token}", "Content-Type": content_type},
                )
                response = connection.getresponse()
                answers.append((response.status, response.read()))
        finally:
            connection.close()

    run_clients(clients, run)
    failures = [(status, body[:300]) for status, body in answers if status != 200]
    assert failures == [], f"{len(failures)} answers were not 200, e.g. {failures[:3]}\n{server.log()[-3000:]}"
    assert len(answers) == clients * IMPORTS_PER_CLIENT

    reports = [json.loads(body)["data"] for _, body in answers]
    import_ids = [report["import_id"] for report in reports]
    assert len(set(import_ids)) == len(import_ids)
    answered = {
        report["import_id"]: {row["user_id"] for row in report["rows"] if row["action"] in ("created", "updated")}
        for report in reports
    }
    assert all(report["counts"]["created"] == NEW_PER_IMPORT and report["counts"]["rejected"] == 0 for report in reports)
    with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
        schema = db.execute("SELECT schema_name FROM public.tenants_tenant WHERE slug = 'demo'").fetchone()[0]
        recorded = db.execute(
            f'SELECT i.id, array_agg(s.student_id) FROM "{schema}".students_studentimport i '
            f'JOIN "{schema}".students_importedstudent s ON s.student_import_id = i.id WHERE i.id = ANY(%s) GROUP BY i.id',
            (import_ids,),
        ).fetchall()
        created = db.execute(f'SELECT count(*) FROM "{schema}".students_student WHERE email LIKE %s', ("i%@imp.example",)).fetchone()[0]
    assert {import_id: set(students) for import_id, students in recorded} == answered
    assert created == clients * IMPORTS_PER_CLIENT * NEW_PER_IMPORT
