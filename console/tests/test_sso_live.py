"""Signing in through an identity provider at once from many browsers, through the production
server (`python -m config.serve`, 4 workers × 4 threads) against a throwaway PostgreSQL and a
real OpenID Connect provider process.

16 clients sign in together: each its own person twice, and all of them the same new person
at the same moment. Every sign-in lands signed in (no 500, no 409), each person has exactly
one account and one link to the provider, and one `staff.create` each; a session signed in by
one worker is honoured by the others. These tests commit nothing to the test database.
"""
import json
import threading

import psycopg
import pytest

from testing.live import demo_cluster, forked_server, manage
from testing.oidc_provider import SignInClient, oidc_provider

pytestmark = pytest.mark.service

HOST = "demo.localhost"
CLIENTS = 16
SHARED = {"sub": "shared-0000", "email": "shared@uni.example", "name": "Sam Shared", "groups": ["console-staff"]}
PEOPLE = [{"sub": f"person-{i:04d}", "email": f"person{i}@uni.example", "name": f"Person {i}",
           "groups": ["console-staff"] if i % 2 else ["console-admins"]} for i in range(CLIENTS)]
RULES = [{"value": "console-admins", "role": "admin"}, {"value": "console-staff", "role": "viewer"}]

PROVIDER_SNIPPET = """
from accounts.identity.models import IdentityProvider
IdentityProvider.objects.create(kind="oidc", slug="uni", name="University Login", issuer={issuer!r},
    client_id="console-live", client_secret="live-secret-value", role_rules={rules!r})
"""


@pytest.fixture(scope="module")
def issuer():
    with oidc_provider([SHARED, *PEOPLE]) as url:
        yield url


@pytest.fixture(scope="module")
def cluster(issuer):
    def provider(env):
        manage("tenant_command", "shell", "--schema", "demo", "-c", PROVIDER_SNIPPET.format(issuer=issuer, rules=RULES),
               env=env)

    with demo_cluster(email="ops@demo.localhost", password="live-password-1", setup=provider) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(cluster):
    with forked_server(cluster, SSO_ALLOW_PRIVATE="1") as server:
        yield server


def _sign_in(server, person):
    client = SignInClient(server.port, HOST)
    landed = client.get(client.authorize("/sso/uni/start/", person["sub"]))
    return client, landed.status_code, landed.headers.get("Location", landed.text[:300])


def test_many_first_sign_ins_at_once(server, cluster):
    outcomes, barrier = [], threading.Barrier(CLIENTS)

    def run(index):
        barrier.wait(timeout=60)
        for person in (PEOPLE[index], SHARED, PEOPLE[index]):
            client, status, where = _sign_in(server, person)
            pages = [client.get(path).status_code for path in ("/students/", "/students/", "/cohorts/")]
            outcomes.append((person["sub"], status, where, pages))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    assert len(outcomes) == CLIENTS * 3, server.log()
    failed = [o for o in outcomes if o[1] != 302 or o[2] != "/students/" or o[3][:2] != [200, 200]]
    assert failed == [], (failed[:5], server.log()[-3000:])

    with psycopg.connect(cluster.socket_url()) as conn:
        conn.execute("SET search_path TO demo")
        accounts = dict(conn.execute(
            "SELECT email, count(*) FROM accounts_staffuser WHERE email LIKE '%%@uni.example' GROUP BY email"
        ).fetchall())
        links = conn.execute("SELECT subject, count(*) FROM accounts_staffidentity GROUP BY subject").fetchall()
        created = conn.execute(
            "SELECT count(*) FROM accounts_auditevent WHERE action = 'staff.create' AND detail->>'provisioned_by' = 'uni'"
        ).fetchone()[0]
        sign_ins = conn.execute("SELECT count(*) FROM accounts_auditevent WHERE action = 'auth.sign_in'").fetchone()[0]
        roles = dict(conn.execute(
            "SELECT u.email, array_agg(r.name) FROM accounts_staffuser u JOIN accounts_staffuser_roles m "
            "ON m.staffuser_id = u.id JOIN accounts_role r ON r.id = m.role_id "
            "WHERE u.email LIKE '%%@uni.example' GROUP BY u.email"
        ).fetchall())
    assert accounts == {p["email"]: 1 for p in [SHARED, *PEOPLE]}
    assert sorted(links) == sorted((p["sub"], 1) for p in [SHARED, *PEOPLE])
    assert created == CLIENTS + 1
    assert sign_ins == CLIENTS * 3
    assert roles == {p["email"]: ["viewer" if "console-staff" in p["groups"] else "admin"] for p in [SHARED, *PEOPLE]}
    assert json.dumps(server.log()).count("Traceback") == 0
