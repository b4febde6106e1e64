"""The app as it really runs, for tests of the server itself: a throwaway PostgreSQL cluster,
`manage.py` commands and the production server (`python -m config.serve`) in subprocesses,
and a tiny HTTP client that talks to them over loopback with any Host header."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from config.database import EmbeddedPostgres

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayCluster(EmbeddedPostgres):
    """A PostgreSQL of our own in a temporary directory (short, for the Unix socket), which
    a test may stop, kill and start again. Nothing registers as its user."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="pgt-")
        os.chmod(self.tmp, 0o755)
        super().__init__(Path(self.tmp) / "data")
        self.init()

    def kill(self):
        """SIGKILL the postmaster, as a crash would."""
        pid = self.postmaster_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)

    def wait_stopped(self, timeout=20):
        deadline = time.monotonic() + timeout
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self.is_running()

    def discard(self):
        self.stop()
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)


def app_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "TEST_DB_SUFFIX")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1"})
    env.update({k: v for k, v in overrides.items() if v is not None})
    for key in [k for k, v in overrides.items() if v is None]:
        env.pop(key, None)
    return env


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True
    )


@contextmanager
def demo_cluster(*, email, password, staff=(), setup=None):
    """A ThrowawayCluster with the demo tenant prepared (5 students, `email` its admin), and each
    (email, role) of `staff` made with `password`; `setup(env)` runs any other command first.
    Discarded afterwards."""
    cluster = ThrowawayCluster()
    cluster.start()
    try:
        env = app_env(DATABASE_URL=cluster.socket_url())
        manage("prepare_demo", "--students", "5", "--email", email, "--password", password, env=env)
        for member, role in staff:
            manage("create_staff", "--tenant", "demo", "--email", member, "--password", password, "--role", role, env=env)
        if setup:
            setup(env)
        yield cluster
    finally:
        cluster.discard()


@contextmanager
def forked_server(cluster, **env):
    """The production server on `cluster`, 4 pre-forked workers × 4 threads, no job worker
    (`env` adds or overrides variables); terminated afterwards."""
    server = LiveServer(app_env(
        DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="4", WEB_THREADS="4", JOB_WORKERS="0", **env
    )).start()
    try:
        yield server
    finally:
        server.terminate()


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    seconds: float
    cookies: dict = field(default_factory=dict)

    def json(self):
        return json.loads(self.body)


@dataclass
class LiveServer:
    """A server in a subprocess (`python -m config.serve` unless `command` says otherwise;
    `{port}` in it is replaced); its output goes to a log file."""

    env: dict
    command: tuple = ("-m", "config.serve")
    port: int = field(default_factory=free_port)
    process: subprocess.Popen = None
    log_path: Path = None

    def start(self, timeout=60):
        env = {**self.env, "BIND": f"127.0.0.1:{self.port}"}
        self.log_path = Path(tempfile.mkstemp(prefix="serve-", suffix=".log")[1])
        self.process = subprocess.Popen(
            [sys.executable, *(part.format(port=self.port) for part in self.command)],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log()}")
            try:
                if self.get("/healthz", host="localhost").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not start:\n{self.log()}")

    def log(self):
        return self.log_path.read_text() if self.log_path else ""

    def request(self, method, path, *, host, headers=None, body=None, timeout=15):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
            response = connection.getresponse()
            data = response.read()
            cookies = {}
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    cookies.update({key: morsel.value for key, morsel in SimpleCookie(value).items()})
            return Reply(response.status, dict(response.getheaders()), data, time.monotonic() - started, cookies)
        finally:
            connection.close()

    def get(self, path, *, host, headers=None):
        return self.request("GET", path, host=host, headers=headers)

    def post_json(self, path, payload, *, host, headers=None):
        return self.request(
            "POST", path, host=host, body=json.dumps(payload), headers={"Content-Type": "application/json", **(headers or {})}
        )

    def token(self, *, host, email, password):
        return self.post_json("/v1/auth/token", {"email": email, "password": password}, host=host).json()["data"]["token"]

    def student_round(self, *, host, headers, number):
        """What staff do with a record: create student `number`, read them, change them, search
        the list for them. The statuses, in that order (reading and changing only once made)."""
        created = self.post_json(
            "/v1/students",
            {"first_name": "Ada", "last_name": f"Obi {number}", "email": f"ada{number}@uni.example", "programme_codes": []},
            host=host, headers=headers,
        )
        statuses = [created.status]
        if created.status == 201:
            user_id = created.json()["data"]["user_id"]
            statuses.append(self.get(f"/v1/console/students/{user_id}", host=host, headers=headers).status)
            statuses.append(self.request(
                "PATCH", f"/v1/students/{user_id}", host=host, body='{"last_name": "Obi-Eze"}',
                headers={**headers, "Content-Type": "application/json"},
            ).status)
        statuses.append(self.get("/v1/console/students?search=Obi", host=host, headers=headers).status)
        return statuses

    def session_cookie(self, *, host, email, password):
        """Sign in through the HTML form; the Cookie header of the signed-in session."""
        page = self.get("/login/", host=host)
        csrf = page.cookies["csrftoken"]
        body = f"username={email}&password={password}&csrfmiddlewaretoken={csrf}"
        reply = self.request(
            "POST",
            "/login/",
            host=host,
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
                     "Referer": f"http://{host}/login/"},
        )
        return f"sessionid={reply.cookies['sessionid']}"

    def terminate(self, timeout=60):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class KeepAliveClient:
    """One keep-alive connection to a server on loopback, as a JSON client with a Bearer token
    holds it: `send` answers (status, body bytes)."""

    def __init__(self, port, token, *, host):
        self.port, self.token, self.host = port, token, host
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(self, method, path, payload=None):
        headers = {"Host": self.host, "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        body = None if payload is None else json.dumps(payload)
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection just as it was reused: open a
                # new one and send again (nothing was received, so nothing was done).
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise

    def close(self):
        self.connection.close()


def answered_data(status, body, expected=(200, 201)):
    """The `data` of a KeepAliveClient answer (None for an empty body), once its status is one
    of `expected`."""
    assert status in expected, (status, body[:500])
    return json.loads(body)["data"] if body else None


def run_clients(count, run, *, timeout=600):
    """run(index) in `count` threads at once, each a client of a live server; fails if one is
    still running after `timeout` seconds."""
    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck"


def wait_for(predicate, timeout, what, logs=()):
    """`predicate()`'s first true value within `timeout` seconds (looking every 0.2 s); else an
    AssertionError naming `what`, with the tails of the `logs` files (paths) that exist."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tails = "".join(f"\n--- {path.name}:\n{path.read_text()[-3000:]}" for path in logs if path.exists())
    raise AssertionError(f"timed out waiting for {what}{tails}")


@contextmanager
def serving(command, *, ready_url, what, cwd=BASE_DIR, timeout=20):
    """A test's own server process (`command`) until the block ends, once `ready_url` answers
    200; its output is read only if it fails to start (a RuntimeError naming `what`)."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(ready_url, timeout=1) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"{what} did not start: {log.read().decode()[-2000:]}") from None
                    time.sleep(0.1)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
