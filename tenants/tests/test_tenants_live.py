"""Tenants through the production server: a release's migration reaching every tenant while
the server serves them all, and a suspension that every worker honours.

The server (`python -m config.serve`) runs the current code against a throwaway PostgreSQL
with four tenants made by `create_tenants`. The next release's expand migration
(testing.rollout: a nullable column and an index built concurrently on the students table) is
applied with that release's settings, first to one tenant, then to all: requests to a tenant
not yet migrated and to one already migrated both succeed, and clients reading and writing in
every tenant throughout get no failure. A tenant suspended with `tenant_suspend` answers 503
on every worker to many clients at once, while the others answer 200, and is served again on
every worker once resumed. These tests commit nothing to the test database.
"""
import csv
import threading
import time

import psycopg
import pytest

from testing.live import ThrowawayCluster, app_env, forked_server, manage

pytestmark = pytest.mark.service

SLUGS = ["uni_a", "uni_b", "uni_c", "uni_d"]
NEXT_RELEASE = {"DJANGO_SETTINGS_MODULE": "testing.rollout.settings"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = ThrowawayCluster()
    cluster.start()
    env = app_env(DATABASE_URL=cluster.socket_url())
    manage("migrate_schemas", "--shared", env=env)
    folder = tmp_path_factory.mktemp("rollout")
    with open(folder / "tenants.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["slug", "name", "domain", "admin_email"])
        writer.writerows([slug, slug.upper(), f"{slug.replace('_', '-')}.localhost", f"ops@{slug}.edu"] for slug in SLUGS)
    manage("create_tenants", "--csv", str(folder / "tenants.csv"), "--credentials", str(folder / "admins.csv"), env=env)
    with open(folder / "admins.csv", newline="") as handle:
        cluster.admins = {row["slug"]: row for row in csv.DictReader(handle)}
    yield cluster
    cluster.discard()


@pytest.fixture(scope="module")
def server(cluster):
    # Workers share no cache (no REDIS_URL): each forgets a host → tenant entry within a second.
    with forked_server(cluster, TENANT_CACHE_SECONDS="1") as server:
        yield server


def _columns(cluster):
    with psycopg.connect(cluster.socket_url()) as conn:
        rows = conn.execute(
            "SELECT table_schema FROM information_schema.columns WHERE table_name = 'students_student' "
            "AND column_name = 'rollout_probe'"
        ).fetchall()
    return sorted(row[0] for row in rows)


class Staff:
    """One tenant's admin, through the production server."""

    def __init__(self, server, admin, number):
        self.server, self.host, self.number = server, admin["domain"], number
        token = server.token(host=self.host, email=admin["admin_email"], password=admin["password"])
        self.headers = {"Authorization": f"Bearer {token}"}

    def work(self):
        """Create a student, read them, change them, search the list: the statuses."""
        self.number += 1
        return self.server.student_round(host=self.host, headers=self.headers, number=self.number)


def test_the_old_release_serves_a_tenant_before_and_after_the_new_migration(cluster, server):
    env = app_env(DATABASE_URL=cluster.socket_url(), **NEXT_RELEASE)
    manage("migrate_schemas", "--schema", "uni_a", env=env)
    assert _columns(cluster) == ["uni_a"]
    for number, slug in enumerate(("uni_a", "uni_b")):  # migrated, not yet migrated
        statuses = Staff(server, cluster.admins[slug], number * 1000).work()
        assert statuses == [201, 200, 200, 200], (slug, statuses)


def test_a_migration_reaches_every_tenant_while_clients_read_and_write(cluster, server):
    staff = [Staff(server, cluster.admins[slug], 10_000 * (n + 1)) for n, slug in enumerate(SLUGS)]
    before = _columns(cluster)
    stop, outcomes = threading.Event(), []

    def client(member):
        while not stop.is_set():
            outcomes.extend(member.work())

    threads = [threading.Thread(target=client, args=(member,)) for member in staff * 2]
    for thread in threads:
        thread.start()
    try:
        migrated = manage("migrate_schemas", "--tenant", env=app_env(DATABASE_URL=cluster.socket_url(), **NEXT_RELEASE))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert _columns(cluster) == SLUGS
    done = len(before)
    assert f"{done} of 4 tenant schemas up to date" in migrated.stdout and f"{4 - done} to migrate" in migrated.stdout
    assert outcomes and {status for status in outcomes} <= {200, 201}, sorted(set(outcomes))
    print(f"{len(outcomes)} requests during the migration, none failed")


def _statuses_at_once(server, staff, rounds=6):
    """Each of 16 clients GETs the list on every tenant `rounds` times, each request on a
    fresh connection (so on any worker): {slug: set of statuses}."""
    seen, lock = {member.host: set() for member in staff}, threading.Lock()

    def client():
        for _ in range(rounds):
            for member in staff:
                status = server.get("/v1/console/students", host=member.host, headers=member.headers).status
                with lock:
                    seen[member.host].add(status)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return seen


def test_a_suspension_is_honoured_by_every_worker_and_lifted_by_every_worker(cluster, server):
    staff = [Staff(server, cluster.admins[slug], 50_000 * (n + 1)) for n, slug in enumerate(SLUGS)]
    suspended_host = staff[1].host
    env = app_env(DATABASE_URL=cluster.socket_url())
    assert _statuses_at_once(server, staff) == {member.host: {200} for member in staff}
    try:
        manage("tenant_suspend", "--tenant", SLUGS[1], "--reason", "Live test", env=env)
        time.sleep(1.5)  # TENANT_CACHE_SECONDS, and a margin
        seen = _statuses_at_once(server, staff)
        assert seen == {member.host: ({503} if member.host == suspended_host else {200}) for member in staff}
        reply = server.get("/v1/console/students", host=suspended_host, headers=staff[1].headers)
        assert reply.json()["code"] == "TENANT_SUSPENDED"
    finally:
        manage("tenant_resume", "--tenant", SLUGS[1], env=env)
    time.sleep(1.5)
    assert _statuses_at_once(server, staff) == {member.host: {200} for member in staff}


def _students(cluster, schema):
    with psycopg.connect(cluster.socket_url()) as conn:
        return conn.execute(f'SELECT count(*) FROM "{schema}".students_student').fetchone()[0]


def test_a_backup_taken_while_clients_write_restores_whole_and_serves(cluster, server, tmp_path):
    """The archive is one snapshot: taken while 8 clients create and change students, it
    restores (every table's rows checked against the manifest, every foreign key checked by
    PostgreSQL as the constraints are added) and the copy serves through the production server."""
    writer = Staff(server, cluster.admins["uni_c"], 90_000)
    env = app_env(DATABASE_URL=cluster.socket_url())
    stop, outcomes = threading.Event(), []

    def client(number):
        member = Staff(server, cluster.admins["uni_c"], number)
        while not stop.is_set():
            outcomes.extend(member.work())

    threads = [threading.Thread(target=client, args=(100_000 * (n + 1),)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        before = _students(cluster, "uni_c")
        manage("tenant_backup", "--tenant", "uni_c", "--out", str(tmp_path / "uni_c.tar"), env=env)
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    after = _students(cluster, "uni_c")
    assert outcomes and set(outcomes) <= {200, 201}, sorted(set(outcomes))
    assert before < after  # clients wrote before and after the snapshot

    # By the next release, which knows every migration uni_c may have had by now (the tests
    # above apply it); the current one refuses an archive from a newer release.
    restored = manage("tenant_restore", "--from", str(tmp_path / "uni_c.tar"), "--slug", "uni_c_copy",
                      "--domain", "uni-c-copy.localhost", env=app_env(DATABASE_URL=cluster.socket_url(), **NEXT_RELEASE))
    assert "checked against the manifest" in restored.stdout
    copied = _students(cluster, "uni_c_copy")
    assert before <= copied <= after
    admin = {**cluster.admins["uni_c"], "domain": "uni-c-copy.localhost"}
    staff = Staff(server, admin, 7_000_000)  # numbers no writer used
    listed = server.get("/v1/console/students?limit=1", host=staff.host, headers=staff.headers).json()
    assert listed["total"] == copied
    assert staff.work() == [201, 200, 200, 200]
    assert writer.work() == [201, 200, 200, 200]  # the original goes on
