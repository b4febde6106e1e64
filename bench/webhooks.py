"""Webhook delivery with one job queue worker: throughput and commit-to-receipt latency.

    .venv/bin/python bench/webhooks.py [--events 5000] [--latency-events 400] [--interval 0.05]

A throwaway PostgreSQL with the demo tenant; the production server (JOB_WORKERS=0) for the API;
a receiver in its own process on 127.0.0.1 (testing/webhook_receiver.py), verifying each
request's signature as a real one would; one `manage.py jobs_worker` (JOB_CONCURRENCY as
configured, default 4; one endpoint's deliveries run one at a time whatever it is).

- Throughput: --events events are committed while no worker runs (student.updated, in
  transactions of 1,000, by a producer process), then the worker is started; events/s is the
  count over the time from the first to the last receipt (and, beside it, from the worker's
  start, which includes its start-up and the dispatcher).
- Latency: with the worker running and the endpoint caught up, --latency-events events are
  committed one per transaction, --interval seconds apart, by the producer, which notes the
  time each commit returned; latency is the receipt time (the receiver's clock, the same
  machine's) minus that. p50, p90, p99 and the maximum are printed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.live import BASE_DIR, LiveServer, ThrowawayCluster, app_env, free_port, manage  # noqa: E402

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "bench-webhooks-password"


def produce(mode, count, interval):
    """Run in a subprocess (DATABASE_URL set): commit `count` events in the demo tenant and print
    one JSON line per committed event: {"marker", "committed_at"}."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import transaction
    from django_tenants.utils import schema_context

    from accounts.events.services import events_record_many
    from students.models import Student

    with schema_context("demo"):
        students = list(Student.objects.values_list("pk", flat=True)[:100])
        per_transaction = 1000 if mode == "bulk" else 1
        for start in range(0, count, per_transaction):
            markers = [f"{mode}-{n}" for n in range(start, min(count, start + per_transaction))]
            with transaction.atomic():
                events_record_many(
                    type="student.updated", subject_type="student", actor={"id": None, "email": "", "via": "system"},
                    items=[(students[i % len(students)], students[i % len(students)],
                            {"first_name": ["before", marker]}) for i, marker in enumerate(markers, start)],
                )
            committed = time.time()
            for marker in markers:
                print(json.dumps({"marker": marker, "committed_at": committed}), flush=True)
            if interval:
                time.sleep(interval)


def _receipts(path):
    found = {}
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if "event" in record:
                found.setdefault(record["event"]["data"]["first_name"][1], record["received_at"])
            else:
                raise SystemExit(f"a request failed verification: {record}")
    return found


def _wait(path, prefix, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = {k: v for k, v in _receipts(path).items() if k.startswith(prefix)}
        if len(got) >= count:
            return got
        time.sleep(0.1)
    raise SystemExit(f"only {len(got)} of {count} {prefix} events arrived within {timeout} s")


def _producer(env, mode, count, interval=0.0):
    return subprocess.Popen(
        [sys.executable, __file__, "produce", mode, str(count), str(interval)], cwd=BASE_DIR, env=env,
        stdout=subprocess.PIPE, text=True,
    )


def _percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--latency-events", type=int, default=400)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()

    cluster = ThrowawayCluster()
    cluster.start()
    out = Path(cluster.tmp) / "received.jsonl"
    receiver = worker = server = None
    try:
        env = app_env(DATABASE_URL=cluster.socket_url(), JOB_WORKERS="0", WEB_CONCURRENCY="1",
                      WEBHOOKS_ALLOW_PRIVATE="1", LOG_LEVEL="WARNING")
        manage("prepare_demo", "--students", "100", "--email", EMAIL, "--password", PASSWORD, env=env)
        server = LiveServer(env).start()
        auth = {"Authorization": f"Bearer {server.token(host=HOST, email=EMAIL, password=PASSWORD)}"}
        port = free_port()
        created = server.post_json("/v1/webhooks", {"url": f"http://127.0.0.1:{port}/hooks"}, host=HOST, headers=auth)
        secret = created.json()["data"]["secret"]
        receiver = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "testing" / "webhook_receiver.py"), "--port", str(port), "--secret", secret,
             "--out", str(out)], stdout=subprocess.PIPE, text=True,
        )
        receiver.stdout.readline()

        # Throughput: a backlog, then one worker.
        producer = _producer(env, "bulk", args.events)
        producer.communicate()
        started = time.time()
        worker = subprocess.Popen([sys.executable, "manage.py", "jobs_worker"], cwd=BASE_DIR, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        got = _wait(out, "bulk-", args.events, timeout=600)
        first, last = min(got.values()), max(got.values())
        print(f"throughput: {args.events:,} events in {last - first:.2f} s from the first receipt to the last: "
              f"{args.events / (last - first):,.0f} events/s "
              f"({args.events / (last - started):,.0f} events/s from the worker's start)")

        # Latency: one event per transaction, paced, the worker running.
        producer = _producer(env, "latency", args.latency_events, args.interval)
        committed = {}
        for line in producer.stdout:
            record = json.loads(line)
            committed[record["marker"]] = record["committed_at"]
        producer.wait()
        got = _wait(out, "latency-", args.latency_events, timeout=120)
        latencies = [1000 * (got[marker] - at) for marker, at in committed.items()]
        print(f"commit-to-receipt latency over {len(latencies)} events, one per {args.interval * 1000:.0f} ms: "
              f"p50 {_percentile(latencies, 50):.1f} ms, p90 {_percentile(latencies, 90):.1f} ms, "
              f"p99 {_percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms "
              f"(mean {statistics.mean(latencies):.1f} ms)")
    finally:
        for process in (worker, receiver):
            if process is not None:
                process.terminate()
                process.wait(30)
        if server is not None:
            server.terminate()
        cluster.discard()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "produce":
        produce(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        main()
