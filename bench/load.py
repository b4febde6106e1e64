"""A small closed-loop HTTP load client: N clients, each with its own keep-alive connection,
send requests back to back for a fixed time. `run_load` requests one URL and reports
requests/s, latency percentiles and errors (any status other than the expected one, or a
dropped connection); `run_requests` drives a mix (each client asks for its next request) and
returns every answer's route, status and time.

    .venv/bin/python bench/load.py --port 8000 --host bench.localhost --token TOKEN \\
        --path /v1/console/students --clients 8 --seconds 30

Also used as a module by bench/server_throughput.py and bench/soak.py.
"""
import argparse
import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

DROPPED = "dropped"  # the status of a request whose connection failed before an answer


@dataclass
class Request:
    """One request of a load. `label` names its route in reports; `done(status, body)`, when
    given, is called with the answer (status DROPPED when there was none), outside the timing."""

    label: str
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    done: Callable | None = None


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
        return percentile(self.latencies, q)

    def row(self):
        return (
            f"{self.label:<34} {self.rate:>9.1f} {self.percentile(0.5):>8.1f} {self.percentile(0.95):>8.1f} "
            f"{self.requests:>9} {self.errors:>7}"
        )


HEADER = f"{'server':<34} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'requests':>9} {'errors':>7}"


def percentile(seconds, q):
    """The q-quantile (0-1) of latencies in seconds, in milliseconds (nan when there are none)."""
    if not seconds:
        return float("nan")
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_requests(*, port, host, next_request, clients=8, seconds=30.0, warmup=2.0, timeout=60):
    """Drive the server with `clients` closed-loop clients for `warmup` + `seconds` seconds: client
    number i sends next_request(i) (a Request) again and again on its own keep-alive connection.
    Returns the answers after the warm-up as (label, status, seconds) tuples; a connection that
    fails is opened again and its request counts as DROPPED."""
    samples = []
    lock = threading.Lock()
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        mine = []
        while time.monotonic() < stop_at:
            request = next_request(index)
            began = time.monotonic()
            body = b""
            try:
                connection.request(request.method, request.path, body=request.body, headers={"Host": host, **request.headers})
                response = connection.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                status = DROPPED
            ended = time.monotonic()
            if request.done is not None:
                request.done(status, body)
            if began >= start_at:
                mine.append((request.label, status, ended - began))
        connection.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def run_load(*, label, port, host, path, headers=None, clients=8, seconds=30.0, expect=200, warmup=2.0):
    """Drive the server for `seconds` after `warmup` seconds with GETs of one path; a LoadResult."""
    request = Request(label=label, method="GET", path=path, headers=headers or {})
    result = LoadResult(label=label, seconds=seconds)
    samples = run_requests(
        port=port, host=host, next_request=lambda index: request, clients=clients, seconds=seconds, warmup=warmup
    )
    for _, status, elapsed in samples:
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status == expect:
            result.latencies.append(elapsed)
        else:
            result.errors += 1
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
