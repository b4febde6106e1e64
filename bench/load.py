"""A small closed-loop HTTP load client: N clients, each with its own keep-alive connection,
request one URL back to back for a fixed time. Reports requests/s, latency percentiles and
errors (any status other than the expected one, or a dropped connection).

    .venv/bin/python bench/load.py --port 8000 --host bench.localhost --token TOKEN \\
        --path /v1/console/students --clients 8 --seconds 30

Also used as a module by bench/server_throughput.py.
"""
import argparse
import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    label: str
    seconds: float
    latencies: list = field(default_factory=list)
    errors: int = 0
    statuses: dict = field(default_factory=dict)

    @property
    def requests(self):
        return len(self.latencies) + self.errors

    @property
    def rate(self):
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q):
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self):
        return (
            f"{self.label:<34} {self.rate:>9.1f} {self.percentile(0.5):>8.1f} {self.percentile(0.95):>8.1f} "
            f"{self.requests:>9} {self.errors:>7}"
        )


HEADER = f"{'server':<34} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'requests':>9} {'errors':>7}"


def run_load(*, label, port, host, path, headers=None, clients=8, seconds=30.0, expect=200, warmup=2.0):
    """Drive the server for `seconds` after `warmup` seconds; a LoadResult."""
    result = LoadResult(label=label, seconds=seconds)
    lock = threading.Lock()
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds
    request_headers = {"Host": host, **(headers or {})}

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies, errors, statuses = [], 0, {}
        while True:
            began = time.monotonic()
            if began >= stop_at:
                break
            try:
                connection.request("GET", path, headers=request_headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = "dropped"
            ended = time.monotonic()
            if began < start_at:
                continue  # warm-up
            statuses[status] = statuses.get(status, 0) + 1
            if status == expect:
                latencies.append(ended - began)
            else:
                errors += 1
        connection.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            for key, count in statuses.items():
                result.statuses[key] = result.statuses.get(key, 0) + count

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="demo.localhost")
    parser.add_argument("--path", default="/v1/console/students")
    parser.add_argument("--token")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    result = run_load(
        label=f"127.0.0.1:{args.port}", port=args.port, host=args.host, path=args.path, headers=headers,
        clients=args.clients, seconds=args.seconds,
    )
    print(HEADER)
    print(result.row())
    if result.errors:
        print("statuses:", result.statuses)
    print(f"median latency {statistics.median(result.latencies) * 1000:.1f} ms" if result.latencies else "")


if __name__ == "__main__":
    main()
