"""SCIM through the production server: `python -m config.serve` with 4 pre-forked workers × 4
threads against a throwaway PostgreSQL.

- A staff member signed in to the console several times and holding several API tokens is
  deactivated by a SCIM PATCH; the next request of every session and every token is refused,
  whichever worker serves it (no worker keeps a user, a session or a token between requests),
  while a colleague's sessions and tokens go on working.
- Several SCIM clients create the same users at once: every answer is a 201 or a 409
  uniqueness (never a 5xx), each user is created exactly once.

These tests commit nothing to the test database."""
import json
import random
import threading
from collections import Counter
from urllib.parse import quote

import pytest

from testing.live import KeepAliveClient, app_env, demo_cluster, forked_server, manage, run_clients

pytestmark = pytest.mark.service

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "scim-live-test-password"
LEAVER = "leaver@demo.localhost"
COLLEAGUE = "colleague@demo.localhost"
SESSIONS = 6
TOKENS = 6
REQUESTS_EACH = 4  # each on a new connection: together they reach every worker
CLIENTS = 8
USERS = 25
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(scope="module")
def cluster():
    with demo_cluster(email=EMAIL, password=PASSWORD, staff=[(LEAVER, "viewer"), (COLLEAGUE, "viewer")]) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(cluster):
    with forked_server(cluster) as server:
        yield server


@pytest.fixture(scope="module")
def scim_token(cluster):
    created = manage("scim_token", "--tenant", "demo", "--create", "--description", "Live test",
                     env=app_env(DATABASE_URL=cluster.socket_url()))
    return created.stdout.strip()


def _scim(server, token, method, path, body=None):
    reply = server.request(
        method, f"/scim/v2{path}", host=HOST, body=None if body is None else json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    return reply.status, json.loads(reply.body) if reply.body else None


def _page(server, cookie):
    return server.get("/students/", host=HOST, headers={"Cookie": cookie})


def _api(server, token):
    return server.get("/v1/console/students", host=HOST, headers={"Authorization": f"Bearer {token}"})


def test_deactivation_through_scim_refuses_every_session_and_token_on_every_worker(server, scim_token):
    sessions = [server.session_cookie(host=HOST, email=LEAVER, password=PASSWORD) for _ in range(SESSIONS)]
    tokens = [server.token(host=HOST, email=LEAVER, password=PASSWORD) for _ in range(TOKENS)]
    colleague_session = server.session_cookie(host=HOST, email=COLLEAGUE, password=PASSWORD)
    colleague_token = server.token(host=HOST, email=COLLEAGUE, password=PASSWORD)
    for _ in range(REQUESTS_EACH):  # every worker has served them (and could have kept something)
        assert {_page(server, cookie).status for cookie in sessions} == {200}
        assert {_api(server, token).status for token in tokens} == {200}

    status, found = _scim(server, scim_token, "GET", "/Users?filter=" + quote(f'userName eq "{LEAVER}"'))
    assert status == 200 and found["totalResults"] == 1, found
    user_id = found["Resources"][0]["id"]
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    status, patched = _scim(server, scim_token, "PATCH", f"/Users/{user_id}", body)
    assert status == 200 and patched["active"] is False, patched

    for _ in range(REQUESTS_EACH):
        pages = [_page(server, cookie) for cookie in sessions]
        assert {(p.status, p.headers["Location"].split("?")[0]) for p in pages} == {(302, "/login/")}
        assert {_api(server, token).status for token in tokens} == {401}
        assert _page(server, colleague_session).status == 200
        assert _api(server, colleague_token).status == 200
    # Reactivated, the leaver signs in again: what was ended stays ended.
    body["Operations"][0]["value"] = "True"
    assert _scim(server, scim_token, "PATCH", f"/Users/{user_id}", body)[0] == 200
    assert {_page(server, cookie).status for cookie in sessions} == {302}
    assert {_api(server, token).status for token in tokens} == {401}
    assert _page(server, server.session_cookie(host=HOST, email=LEAVER, password=PASSWORD)).status == 200


def test_scim_clients_creating_the_same_users_at_once_get_201_or_409_and_no_duplicate(server, scim_token):
    people = [f"race{n}@demo.localhost" for n in range(USERS)]
    answers, failures = Counter(), []
    created = Counter()
    barrier = threading.Barrier(CLIENTS)

    def create(index):
        client = KeepAliveClient(server.port, scim_token, host=HOST)
        order = people[:]
        random.Random(index).shuffle(order)
        try:
            barrier.wait(timeout=60)
            for email in order:
                body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email,
                        "name": {"givenName": "Amara", "familyName": f"Client {index}"}, "active": True,
                        "externalId": f"ext-{email}"}
                status, reply = client.send("POST", "/scim/v2/Users", body)
                answers[status] += 1
                if status == 201:
                    created[json.loads(reply)["userName"]] += 1
                elif status != 409 or json.loads(reply).get("scimType") != "uniqueness":
                    failures.append((status, reply[:300]))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append((index, exc))
        finally:
            client.close()

    run_clients(CLIENTS, create, timeout=300)
    assert failures == [], f"{failures[:3]}\n{server.log()[-3000:]}"
    assert set(answers) <= {201, 409}, answers
    assert created == Counter(people), created  # each created once
    assert answers[201] == USERS and answers[409] == USERS * (CLIENTS - 1)
    status, listed = _scim(server, scim_token, "GET", "/Users?count=200&filter=" + quote('userName sw "race"'))
    assert status == 200 and listed["totalResults"] == USERS
    assert sorted(user["userName"] for user in listed["Resources"]) == sorted(people)
