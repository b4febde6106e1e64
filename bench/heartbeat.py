"""Where a worker's heartbeat file lives: the system's temporary directory (on this machine the
database's disk) against /dev/shm (memory), side by side, alternating, in one run.

    .venv/bin/python bench/heartbeat.py --tenant small [--rounds 3] [--seconds 15]

gunicorn changes the heartbeat file's time on every turn of a worker's loop, at least once a
request (config.serve, `WEB_HEARTBEAT_DIR`). First that call alone, 20,000 times in each
directory, with the disk quiet and then while a writer syncs every 16 KB it writes to it (`dd
oflag=dsync` into var/); then the default JSON list through the production server with 8
closed-loop clients for `--seconds`, once with each directory per round, the writer running.

Writes one staff user `bench-heartbeat@<tenant>.localhost` with a token (kept).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.staff.services import staff_create  # noqa: E402
from bench.load import percentile, run_load  # noqa: E402
from bench.server_throughput import database_url, tenant_and_host  # noqa: E402
from testing.clients import issue_token  # noqa: E402
from testing.live import LiveServer, app_env  # noqa: E402

DIRECTORIES = (tempfile.gettempdir(), "/dev/shm")


@contextmanager
def disk_writer(busy):
    """While open, with `busy`: a process writing to var/ and syncing every 16 KB."""
    if not busy:
        yield
        return
    target = settings.BASE_DIR / "var" / "heartbeat-bench.bin"
    target.parent.mkdir(exist_ok=True)
    writer = subprocess.Popen(
        ["dd", "if=/dev/zero", f"of={target}", "bs=16k", "count=10000000", "oflag=dsync"], stderr=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        writer.kill()
        writer.wait()
        target.unlink(missing_ok=True)


def heartbeat_calls(directory, count=20_000):
    """Seconds each call gunicorn's heartbeat makes took (os.utime on an unlinked file)."""
    handle, name = tempfile.mkstemp(prefix="wgunicorn-", dir=directory)
    os.unlink(name)
    took = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            now = time.monotonic()
            os.utime(handle, (now, now))
            took.append(time.perf_counter() - started)
            time.sleep(0.0002)
    finally:
        os.close(handle)
    return took


def in_turn(round_):
    return DIRECTORIES if round_ % 2 == 0 else DIRECTORIES[::-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()

    tenant, host = tenant_and_host(args.tenant)
    with schema_context(tenant.schema_name):
        # staff_create makes the user, or on a later run finds it (and gives it a new password).
        user = staff_create(email=f"bench-heartbeat@{args.tenant}.localhost", password=os.urandom(16).hex(), roles=["operator"])
        token = issue_token(user)
    connection.close()

    print("the heartbeat's call alone (os.utime), 20,000 times, microseconds:")
    for busy in (False, True):
        with disk_writer(busy):
            for round_ in range(2):
                for directory in in_turn(round_):
                    took = heartbeat_calls(directory)
                    print(f"  {'disk busy' if busy else 'quiet':<10} {directory:<9} "
                          + "  ".join(f"{name} {percentile(took, q) * 1000:7.1f}"
                                      for name, q in (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)))
                          + f"  max {max(took) * 1e6:8.1f}")

    print(f"the default JSON list, 8 clients, {args.seconds:g} s, the disk busy:")
    print(f"  {'heartbeat in':<12} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for round_ in range(args.rounds):
        for directory in in_turn(round_):
            server = LiveServer(app_env(DATABASE_URL=database_url(), LOG_LEVEL="WARNING", WEB_HEARTBEAT_DIR=directory))
            server.start()
            try:
                with disk_writer(True):
                    result = run_load(
                        label=directory, port=server.port, host=host, path="/v1/console/students",
                        headers={"Authorization": f"Bearer {token}"}, clients=8, seconds=args.seconds,
                    )
            finally:
                server.terminate()
            print(f"  {directory:<12} {result.rate:8.1f} {result.percentile(0.5):7.1f} {result.percentile(0.95):7.1f} "
                  f"{result.percentile(0.99):7.1f} {result.errors:6}")
    print(f"command: .venv/bin/python bench/heartbeat.py --tenant {args.tenant} --rounds {args.rounds} "
          f"--seconds {args.seconds:g}")


if __name__ == "__main__":
    main()
