"""A highly available PostgreSQL on this machine, for `make failover-test`: etcd and two
PostgreSQL nodes, each under Patroni (Debian's packages), in synchronous mode, so that the
primary may be killed and the standby promoted. Each piece is a real process, started and
stopped here; nothing is mocked.

Patroni 3.0 knows PostgreSQL up to 15, so the nodes run Debian's PostgreSQL binaries
(`/usr/lib/postgresql/<major>/bin`), not the embedded PostgreSQL 18 wheel; the app supports
both. Under root, Patroni and its PostgreSQL run as the embedded server's system user, as
every other test cluster does (PostgreSQL refuses to run as root).
"""
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from config.database import server_user
from testing.live import free_port, wait_for
from testing.scale import _run_as

# The newest major Patroni 3.0 supports.
PATRONI_MAX_MAJOR = 15


def postgres_bin_dir():
    """Debian's PostgreSQL binaries for Patroni (the newest major it supports), or None."""
    found = []
    for path in Path("/usr/lib/postgresql").glob("*/bin/postgres"):
        major = path.parent.parent.name
        if major.isdigit() and 14 <= int(major) <= PATRONI_MAX_MAJOR:
            found.append((int(major), path.parent))
    return max(found)[1] if found else None


def missing_tools():
    """What this machine lacks for a Patroni cluster (empty when it can run one)."""
    missing = [name for name in ("patroni", "etcd") if shutil.which(name) is None]
    if postgres_bin_dir() is None:
        missing.append(f"PostgreSQL 14-{PATRONI_MAX_MAJOR} under /usr/lib/postgresql")
    return missing


def _get_json(url, timeout=2):
    """The JSON body of GET `url` (any status: Patroni answers 503 with a body), or None."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        try:
            return json.loads(error.read())
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


class EtcdServer:
    """One etcd member (the DCS Patroni keeps its leader lock in), on free loopback ports."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port, peer_port = free_port(), free_port()
        client_url, peer_url = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{peer_port}"
        self.log_path = self.directory / "etcd.log"
        self.process = subprocess.Popen(
            ["etcd", "--name", "failover", "--data-dir", str(self.directory / "data"),
             "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
             "--initial-cluster", f"failover={peer_url}", "--initial-cluster-state", "new"],
            stdout=self.log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self._healthy, 30, "etcd answering", logs=[self.log_path])

    def _healthy(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"etcd exited:\n{self.log_path.read_text()[-3000:]}")
        return (_get_json(f"http://127.0.0.1:{self.port}/health") or {}).get("health") == "true"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class PatroniNode:
    """One PostgreSQL under its own Patroni, with a REST API on a free port."""

    def __init__(self, cluster, name):
        self.cluster, self.name = cluster, name
        self.directory = cluster.directory / name
        self.directory.mkdir()
        self.data_dir = self.directory / "data"
        self.pg_port, self.api_port = free_port(), free_port()
        self.log_path = self.directory / "patroni.log"
        self.process = None
        owner = _run_as(cluster.system_user)
        if owner:
            os.chown(self.directory, owner["user"], owner["group"])
        (self.directory / "patroni.yml").write_text(json.dumps(self._configuration(), indent=1))  # JSON is YAML

    def _configuration(self):
        trust = ["local all all trust", "host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust"]
        return {
            "scope": self.cluster.scope,
            "name": self.name,
            "log": {"level": "INFO"},
            "restapi": {"listen": f"127.0.0.1:{self.api_port}", "connect_address": f"127.0.0.1:{self.api_port}"},
            "etcd3": {"hosts": [f"127.0.0.1:{self.cluster.etcd.port}"]},
            "bootstrap": {
                "dcs": self.cluster.dcs,
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.pg_port}",
                "connect_address": f"127.0.0.1:{self.pg_port}",
                "data_dir": str(self.data_dir),
                "bin_dir": str(self.cluster.bin_dir),
                "pgpass": str(self.directory / "pgpass"),
                "use_unix_socket": True,
                "authentication": {
                    "superuser": {"username": "postgres", "password": "postgres"},
                    "replication": {"username": "replicator", "password": "replicator"},
                },
                "parameters": {"unix_socket_directories": str(self.directory)},
                "pg_hba": trust,
            },
            "watchdog": {"mode": "off"},
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
        }

    def start(self):
        self.process = subprocess.Popen(
            ["patroni", str(self.directory / "patroni.yml")],
            cwd=self.directory,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.directory)},
            stdout=self.log_path.open("a"), stderr=subprocess.STDOUT, start_new_session=True,
            **_run_as(self.cluster.system_user),
        )

    def status(self):
        """Patroni's view of this node (GET /patroni), or None when its API does not answer."""
        return _get_json(f"http://127.0.0.1:{self.api_port}/patroni")

    def postmaster_pid(self):
        """The pid of this node's running postmaster, or None."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{database}"

    def sql(self, statement, params=None, *, database="postgres"):
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def stop(self):
        """Stop Patroni (it stops its PostgreSQL), then make sure that PostgreSQL is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.postmaster_pid() is not None:
            subprocess.run(
                [str(self.cluster.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                check=False, capture_output=True, timeout=60, **_run_as(self.cluster.system_user),
            )


class PatroniCluster:
    """etcd and `size` PostgreSQL nodes under Patroni, in synchronous mode: a commit returns
    once the synchronous standby has it, and Patroni promotes only that standby, so a switch
    loses no acknowledged transaction. Timings are short for a test (a leader lock of 10 s,
    Patroni's loop every second), and a primary whose PostgreSQL dies is failed over at once
    rather than restarted (`primary_start_timeout: 0`). A context manager: everything it
    started is stopped, and its directory removed, on the way out."""

    dcs = {
        "ttl": 10,
        "loop_wait": 1,
        "retry_timeout": 4,  # Patroni wants loop_wait + 2 × retry_timeout within ttl
        "maximum_lag_on_failover": 1048576,
        "primary_start_timeout": 0,
        "synchronous_mode": True,
        "postgresql": {
            "use_pg_rewind": True,
            "use_slots": True,
            "parameters": {"wal_log_hints": "on", "hot_standby": "on", "max_wal_senders": 10,
                           "max_replication_slots": 10, "wal_keep_size": "256MB"},
        },
    }

    def __init__(self, size=2):
        self.bin_dir = postgres_bin_dir()
        self.system_user = server_user()
        self.directory = Path(tempfile.mkdtemp(prefix="pgf-"))
        os.chmod(self.directory, 0o755)
        self.scope = f"console-{secrets.token_hex(4)}"
        self.etcd = None
        self.nodes = []
        self.size = size

    def __enter__(self):
        try:
            self.etcd = EtcdServer(self.directory / "etcd")
            self.nodes = [PatroniNode(self, f"node{number}") for number in range(1, self.size + 1)]
            first, *others = self.nodes
            first.start()  # it bootstraps the cluster (initdb) and takes the leader lock
            wait_for(lambda: self.leader() is first and self._writable(first), 90, "the first node leading",
                     logs=[first.log_path])
            for node in others:  # each is cloned from the leader with pg_basebackup
                node.start()
            self.wait_sync_standby()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        for node in self.nodes:
            with contextlib.suppress(Exception):  # keep stopping the others
                node.stop()
        if self.etcd is not None:
            self.etcd.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def logs(self):
        return [node.log_path for node in self.nodes] + ([self.etcd.log_path] if self.etcd else [])

    def url(self, database="postgres"):
        """The multi-host URL an app uses: every node, and only a read-write one will do."""
        hosts = ",".join(f"127.0.0.1:{node.pg_port}" for node in self.nodes)
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    def members(self):
        """Patroni's list of members (GET /cluster from the first node whose API answers)."""
        for node in self.nodes:
            answer = _get_json(f"http://127.0.0.1:{node.api_port}/cluster")
            if answer is not None:
                return answer.get("members", [])
        return []

    def _node(self, name):
        return next(node for node in self.nodes if node.name == name)

    def leader(self):
        """The node holding the leader lock with its PostgreSQL running, or None."""
        for member in self.members():
            if member.get("role") == "leader" and member.get("state") == "running":
                return self._node(member["name"])
        return None

    def sync_standby(self):
        for member in self.members():
            if member.get("role") == "sync_standby" and member.get("state") in ("running", "streaming"):
                return self._node(member["name"])
        return None

    @staticmethod
    def _writable(node):
        try:
            return node.sql("SELECT NOT pg_is_in_recovery()")[0][0]
        except psycopg.Error:
            return False

    def replication(self):
        """pg_stat_replication on the leader: [(application_name, state, sync_state)]."""
        leader = self.leader()
        if leader is None:
            return []
        try:
            return leader.sql("SELECT application_name, state, sync_state FROM pg_stat_replication")
        except psycopg.Error:
            return []

    def wait_sync_standby(self, timeout=120):
        """Until a standby streams from the leader and is its synchronous standby, in
        PostgreSQL's view (pg_stat_replication) and Patroni's; that standby."""

        def ready():
            standby = self.sync_standby()
            streaming = {(name, state, sync) for name, state, sync in self.replication()}
            return standby if standby and (standby.name, "streaming", "sync") in streaming else None

        return wait_for(ready, timeout, "a synchronous standby streaming", logs=self.logs())

    def kill_leader_postgres(self):
        """SIGKILL the leader's postmaster, as a crash would; the node it ran on."""
        leader = self.leader()
        assert leader is not None, "no leader to kill"
        pid = leader.postmaster_pid()
        assert pid is not None, f"{leader.name} has no postmaster"
        os.kill(pid, signal.SIGKILL)
        return leader

    def kill_leader_node(self):
        """SIGKILL the leader's Patroni, then its postmaster, as the loss of their machine
        would; the node they ran on (its Patroni is not started again)."""
        leader = self.leader()
        assert leader is not None, "no leader to kill"
        pid = leader.postmaster_pid()
        assert pid is not None, f"{leader.name} has no postmaster"
        leader.process.kill()
        leader.process.wait()
        os.kill(pid, signal.SIGKILL)
        return leader

    def wait_new_leader(self, old, timeout=60):
        """Until another node than `old` leads and accepts writes; that node."""

        def promoted():
            leader = self.leader()
            return leader if leader is not None and leader is not old and self._writable(leader) else None

        return wait_for(promoted, timeout, "a new leader", logs=self.logs())

    def wait(self, predicate, timeout, what):
        """wait_for with this cluster's logs in the failure message."""
        return wait_for(predicate, timeout, what, logs=self.logs())
