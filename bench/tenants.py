"""A thousand tenants against two: creation, deploys, requests, idle cost and PostgreSQL itself.

    make bench-tenants                      # .venv/bin/python bench/tenants.py --tenants 1000

Two throwaway PostgreSQL clusters side by side, one with 2 tenants and one with `--tenants`,
each made by `manage.py create_tenants` from a CSV file; the first and the last tenant of each
are seeded with `--students` students (seed_demo, the same seed). Then, each figure for both:

1. creation: wall time per tenant of `create_tenants` (schema, rows, domain);
2. deploys: `migrate_schemas` with nothing to apply, and with the next release's migration
   (testing.rollout: a nullable column and an index built concurrently), while clients read and
   write through the production server on the first and last tenants (failed requests counted);
3. requests: the console list (default sort) and a student's detail on the first and the last
   tenant through the production server, both clusters' servers interleaved request by request;
   then every tenant's host is visited once, and database connections, the app server's memory
   and the PostgreSQL backends' private memory are read before and after;
4. idle: statements per second the production server and its job worker send with no client
   (bench/idle_queries.py's measurement);
5. PostgreSQL: relations, catalogue size, database size, `pg_dump --schema-only` time, and the
   cost of the catalogue scan autovacuum makes in each database every `autovacuum_naptime`.
"""
import argparse
import csv
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.idle_queries import BIN, measure  # noqa: E402
from testing.live import LiveServer, ThrowawayCluster, app_env, manage  # noqa: E402

NEXT_RELEASE = {"DJANGO_SETTINGS_MODULE": "testing.rollout.settings"}
SERVER = {"WEB_CONCURRENCY": "2", "WEB_THREADS": "4", "JOB_WORKERS": "0", "LOG_LEVEL": "ERROR"}


def slug(n):
    return f"t{n:04d}"


def host(n):
    return f"t{n:04d}.localhost"


class Side:
    """One cluster with `count` tenants, and the production server on it."""

    def __init__(self, count, students, folder):
        self.count, self.last = count, count
        self.cluster = ThrowawayCluster()
        self.cluster.start()
        self.url = self.cluster.socket_url()
        # as the embedded server runs (config.database.embedded_server_settings): pg_dump of the
        # whole database locks every table in one transaction
        self.sql("ALTER SYSTEM SET max_locks_per_transaction = 1024")
        self.cluster.stop()
        self.cluster.start()
        self.env = app_env(DATABASE_URL=self.url, **SERVER)
        manage("migrate_schemas", "--shared", env=self.env)
        tenants_csv, credentials = folder / f"tenants-{count}.csv", folder / f"admins-{count}.csv"
        with open(tenants_csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["slug", "name", "domain", "admin_email"])
            for n in range(1, count + 1):
                admin = f"ops@{slug(n)}.edu" if n in (1, count) else ""
                writer.writerow([slug(n), f"University {n}", host(n), admin])
        started = time.perf_counter()
        manage("create_tenants", "--csv", str(tenants_csv), "--credentials", str(credentials), env=self.env)
        self.creation = (time.perf_counter() - started) / count
        with open(credentials, newline="") as handle:
            self.admins = {row["slug"]: row for row in csv.DictReader(handle)}
        for n in (1, count):
            manage("seed_demo", "--tenant", slug(n), "--students", str(students), env=self.env)
        self.server = None

    def start(self):
        self.server = LiveServer(self.env).start()
        self.tokens = {}
        for n in (1, self.last):
            admin = self.admins[slug(n)]
            self.tokens[n] = self.server.token(host=host(n), email=admin["admin_email"], password=admin["password"])
        self.student = {n: self._first_student(n) for n in (1, self.last)}
        return self

    def _first_student(self, n):
        reply = self.server.get("/v1/console/students?limit=1", host=host(n), headers=self.auth(n))
        return reply.json()["data"][0]["user_id"]

    def auth(self, n):
        return {"Authorization": f"Bearer {self.tokens[n]}"}

    def stop(self):
        if self.server:
            self.server.terminate()
            self.server = None

    def discard(self):
        self.stop()
        self.cluster.discard()

    def sql(self, text, params=()):
        with psycopg.connect(self.url, autocommit=True) as db:
            cursor = db.execute(text, params)
            return cursor.fetchall() if cursor.description else []


def timed_manage(side, *args, env=None):
    started = time.perf_counter()
    result = manage(*args, env=env or side.env)
    return time.perf_counter() - started, result


def mixed_load(side, stop, outcomes):
    """Clients creating, reading, changing and listing students on the first and last tenants
    until `stop` is set; every status is appended to `outcomes`."""
    def client(n, offset):
        number = offset
        while not stop.is_set():
            number += 1
            outcomes.extend(side.server.student_round(host=host(n), headers=side.auth(n), number=number))

    threads = [threading.Thread(target=client, args=(n, 100_000 * k)) for k, n in enumerate((1, side.last, 1, side.last))]
    for thread in threads:
        thread.start()
    return threads


def interleaved(sides, rounds):
    """Median milliseconds of each case on each side, requests taken in turn."""
    cases = []
    for name, side in sides.items():
        for n, which in ((1, "first"), (side.last, "last")):
            cases.append((name, which, "list", side, host(n), "/v1/console/students", side.auth(n)))
            cases.append((name, which, "detail", side, host(n), f"/v1/console/students/{side.student[n]}", side.auth(n)))
    connections = {}
    times = {case[:3]: [] for case in cases}
    for round_number in range(rounds + 5):
        for name, which, kind, side, hostname, path, headers in cases:
            key = (name, hostname)
            if key not in connections:
                connections[key] = http.client.HTTPConnection("127.0.0.1", side.server.port, timeout=30)
            connection = connections[key]
            started = time.perf_counter()
            connection.request("GET", path, headers={"Host": hostname, **headers})
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            assert response.status == 200, (name, path, response.status)
            if round_number >= 5:  # warm-up
                times[(name, which, kind)].append(elapsed * 1000)
    return {key: statistics.median(values) for key, values in times.items()}


def rss_kib(pids, field="VmRSS"):
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def app_pids(side):
    out = subprocess.run(["pgrep", "-P", str(side.server.process.pid)], capture_output=True, text=True).stdout
    return [side.server.process.pid, *map(int, out.split())]


def backends(side):
    return [row[0] for row in side.sql(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )]


def visit_every_host(side):
    """GET each tenant's sign-in page (its host looked up, its schema's tables read)."""
    connection = http.client.HTTPConnection("127.0.0.1", side.server.port, timeout=30)
    for n in range(1, side.count + 1):
        connection.request("GET", "/login/", headers={"Host": host(n)})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (n, response.status)
    connection.close()


def postgres_figures(side):
    (relations, catalogue, database), = side.sql(
        "SELECT (SELECT count(*) FROM pg_class), "
        "(SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace), "
        "pg_database_size(current_database())"
    )
    started = time.perf_counter()
    subprocess.run([str(BIN / "pg_dump"), "--schema-only", "--file", os.devnull, side.url], check=True)
    dump = time.perf_counter() - started
    with psycopg.connect(side.url, autocommit=True) as db:
        started = time.perf_counter()
        db.execute(  # what an autovacuum worker reads to choose its tables: every table and its statistics
            "SELECT c.oid, s.n_dead_tup, s.n_mod_since_analyze FROM pg_class c "
            "LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid WHERE c.relkind IN ('r', 't', 'm')"
        ).fetchall()
        scan = time.perf_counter() - started
    return {"relations": relations, "catalogue MB": catalogue / 2**20, "database MB": database / 2**20,
            "pg_dump --schema-only s": dump, "autovacuum's table scan ms": scan * 1000}


def row(label, small, large, unit="", ratio=True):
    text = f"{label:<68} {small:>12.3f} {large:>12.3f} {unit:<4}"
    if ratio and small:
        text += f" {large / small:>7.2f}×"
    print(text, flush=True)


class Figures(dict):
    """Each figure printed as it is measured, and all of them again at the end."""

    def __init__(self, tenants):
        super().__init__()
        self.header = f"{'':<68} {'2 tenants':>12} {f'{tenants} tenants':>12}      ratio"
        print(self.header, flush=True)

    def __setitem__(self, label, pair):
        super().__setitem__(label, pair)
        row(label, *pair)

    def print_all(self):
        print(f"\n{self.header}")
        for label, (a, b) in self.items():
            row(label, a, b)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--idle-seconds", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-tenants-"))
    small = large = None
    try:
        print(f"Building 2 tenants, then {args.tenants} (create_tenants) ...", flush=True)
        small = Side(2, args.students, folder)
        large = Side(args.tenants, args.students, folder)
        figures = Figures(args.tenants)
        figures["create_tenants, s per tenant"] = (small.creation, large.creation)
        no_op = [timed_manage(side, "migrate_schemas", "--tenant")[0] for side in (small, large)]
        figures["migrate_schemas, nothing to apply, s (whole command)"] = tuple(no_op)

        small.start(), large.start()
        medians = interleaved({"small": small, "large": large}, args.rounds)
        for which in ("first", "last"):
            for kind in ("list", "detail"):
                figures[f"{kind} on the {which} tenant, ms (median, interleaved)"] = (
                    medians[("small", which, kind)], medians[("large", which, kind)])

        memory = {}
        for name, side in (("small", small), ("large", large)):
            before = (len(backends(side)), rss_kib(app_pids(side)), rss_kib(backends(side), "RssAnon"))
            visit_every_host(side)
            visit_every_host(side)
            after = (len(backends(side)), rss_kib(app_pids(side)), rss_kib(backends(side), "RssAnon"))
            memory[name] = (before, after)
        figures["database connections of the app, after visiting every tenant"] = (
            memory["small"][1][0], memory["large"][1][0])
        figures["app server memory (all processes) after visiting every tenant, MiB"] = (
            memory["small"][1][1] / 1024, memory["large"][1][1] / 1024)
        figures["app server memory growth from visiting every tenant, MiB"] = (
            (memory["small"][1][1] - memory["small"][0][1]) / 1024, (memory["large"][1][1] - memory["large"][0][1]) / 1024)
        figures["PostgreSQL backends' private memory after it, MiB"] = (
            memory["small"][1][2] / 1024, memory["large"][1][2] / 1024)

        outcomes = {"small": [], "large": []}
        migrations = []
        for name, side in (("small", small), ("large", large)):
            stop = threading.Event()
            threads = mixed_load(side, stop, outcomes[name])
            try:
                seconds, result = timed_manage(side, "migrate_schemas", "--tenant",
                                               env=app_env(DATABASE_URL=side.url, **NEXT_RELEASE))
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=120)
            migrations.append(seconds)
            print(f"  [{side.count} tenants] {result.stdout.strip().splitlines()[-1]}", flush=True)
        figures["migrate_schemas, a new column + concurrent index, s"] = tuple(migrations)
        figures["requests during that migration"] = (len(outcomes["small"]), len(outcomes["large"]))
        figures["  of which failed (not 2xx)"] = tuple(
            sum(1 for status in outcomes[name] if not 200 <= status < 300) for name in ("small", "large"))
        small.stop(), large.stop()

        for side in (small, large):
            for statement in ("ALTER SYSTEM SET log_statement = 'all'", "SELECT pg_reload_conf()"):
                side.sql(statement)
        idle_env = {**SERVER, "JOB_WORKERS": "1"}
        idle = [measure(side.cluster, app_env(DATABASE_URL=side.url, **idle_env), warmup=10, seconds=args.idle_seconds)
                for side in (small, large)]
        figures["idle: statements per second (app + job worker, no client)"] = tuple(idle)
        for side in (small, large):
            for statement in ("ALTER SYSTEM SET log_statement = 'none'", "SELECT pg_reload_conf()"):
                side.sql(statement)

        pg = [postgres_figures(side) for side in (small, large)]
        for key in pg[0]:
            figures[f"PostgreSQL: {key}"] = (pg[0][key], pg[1][key])

        figures.print_all()
        per_tenant = (pg[1]["relations"] - pg[0]["relations"]) / (args.tenants - 2)
        print(f"\nper tenant: {per_tenant:.0f} relations, "
              f"{(pg[1]['database MB'] - pg[0]['database MB']) / (args.tenants - 2):.2f} MB on disk, "
              f"{(pg[1]['catalogue MB'] - pg[0]['catalogue MB']) * 1024 / (args.tenants - 2):.0f} KB of catalogue")
    finally:
        for side in (small, large):
            if side:
                side.discard()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    main()
