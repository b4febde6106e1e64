"""Point-in-time recovery of the cluster (README "Backups and point-in-time recovery";
`make pitr-test`, skipped in `make test`).

On this machine, with the embedded PostgreSQL 18's own binaries: a throwaway primary archiving
its write-ahead log, the app's schema migrated into it and a tenant with students
(`prepare_demo`). Then, in order:
1. a base backup;
2. known changes, through the production server and `manage.py`: students created and renamed
   in that tenant, and a second tenant made (`create_tenants`) with students of its own;
3. the time, read from the server, and a fingerprint of every table (rows and their md5);
4. damage: every student renamed, transcripts deleted, the grant ledger dropped, the second
   tenant's schema dropped;
5. a second cluster restored from the backup and the archive to that time, and promoted.
The restored cluster holds every table exactly as it was at that time (the known changes, none
of the damage), its log says recovery stopped before the damage's first commit, and the
production server serves both tenants from it.

All of it twice: with pg_basebackup and a WAL archive (`archive_command` copying segments),
the embedded PostgreSQL 18's programs, which runs everywhere; and with pgBackRest, the tool
the README recommends, where Debian's package and a PostgreSQL it supports (Debian's 15) are
installed, skipped with the reason elsewhere.
"""
import csv
import datetime
import json
import os
import re
import shutil
import uuid
from contextlib import ExitStack
from urllib.parse import quote

import psycopg
import pytest

from testing.live import LiveServer, app_env, manage, wait_for
from testing.recovery import (
    DEBIAN_PG15,
    ArchivingCluster,
    PgBackRest,
    RestoredCluster,
    fingerprint,
    take_base_backup,
    wal_bytes,
)

pytestmark = [
    pytest.mark.pitr,
    pytest.mark.skipif(os.environ.get("PITR_TEST") != "1", reason="make pitr-test runs these (PITR_TEST=1)"),
]

PASSWORD = "pitr-test-password"
SEEDED = 200  # alpha's students before the base backup
CREATED = 12  # alpha's students created after it
RENAMED = 8  # alpha's students renamed after it
# The tenant made after the base backup: its demo data (seed_demo, bulk COPY) and a few
# students through the API. Its size is what recovery replays; raise it to measure.
BETA_SEEDED = int(os.environ.get("PITR_STUDENTS", "3000"))
BETA_STUDENTS = 5


def _host(slug):
    return f"{slug}.localhost"


def _server(url):
    return LiveServer(env=app_env(
        DATABASE_URL=url, SECRET_KEY="pitr-test-secret-key", WEB_CONCURRENCY="1", WEB_THREADS="4",
        LOG_LEVEL="ERROR", JOB_WORKERS="0", CACHE_KEY_PREFIX=uuid.uuid4().hex[:8],
    )).start()


def _auth(server, slug, email, password):
    return {"Authorization": f"Bearer {server.token(host=_host(slug), email=email, password=password)}"}


def _create_student(server, slug, headers, first_name, last_name, email):
    reply = server.post_json("/v1/students", {"first_name": first_name, "last_name": last_name, "email": email,
                                              "programme_codes": []}, host=_host(slug), headers=headers)
    assert reply.status == 201, reply.body
    return reply.json()["data"]["user_id"]


def _rename(server, slug, headers, user_id, first_name):
    reply = server.request("PATCH", f"/v1/students/{user_id}", host=_host(slug),
                           body=json.dumps({"first_name": first_name}).encode(),
                           headers={**headers, "Content-Type": "application/json"})
    assert reply.status == 200, reply.body


def _known_changes(primary, seeded_ids, tmp):
    """Through the production server and manage.py: what must come back. Returns what to
    look for: alpha's created and renamed students, beta's admin and students."""
    server = _server(primary.socket_url())
    try:
        alpha = _auth(server, "alpha", "ops@alpha.example", PASSWORD)
        created = {
            _create_student(server, "alpha", alpha, "Chidinma", f"Ọnwụka {n}", f"chidinma{n}@alpha.example"): n
            for n in range(CREATED)
        }
        renamed = {}
        for n, user_id in enumerate(sorted(seeded_ids)[:RENAMED]):
            renamed[user_id] = f"Zoë {n}"
            _rename(server, "alpha", alpha, user_id, renamed[user_id])

        tenants = os.path.join(tmp, "tenants.csv")
        credentials = os.path.join(tmp, "credentials.csv")
        with open(tenants, "w", newline="") as handle:
            csv.writer(handle).writerows([["slug", "name", "domain", "admin_email"],
                                          ["beta", "Beta University", _host("beta"), "admin@beta.example"]])
        manage("create_tenants", "--csv", tenants, "--credentials", credentials,
               env=app_env(DATABASE_URL=primary.socket_url()))
        with open(credentials, newline="") as handle:
            beta_password = next(csv.DictReader(handle))["password"]
        manage("seed_demo", "--tenant", "beta", "--students", str(BETA_SEEDED),
               env=app_env(DATABASE_URL=primary.socket_url()))
        beta = _auth(server, "beta", "admin@beta.example", beta_password)
        beta_created = {_create_student(server, "beta", beta, "Amaka", f"Ụzọma {n}", f"amaka{n}@beta.example")
                        for n in range(BETA_STUDENTS)}
        beta_ids = {row[0] for row in primary.sql("SELECT user_id FROM beta.students_student")}
        assert len(beta_ids) == BETA_SEEDED + BETA_STUDENTS and beta_created <= beta_ids
        # What the console's list says now (archived students are not in it), to ask again later.
        listed = {slug: server.get("/v1/console/students?limit=1", host=_host(slug), headers=headers).json()["total"]
                  for slug, headers in (("alpha", alpha), ("beta", beta))}
    finally:
        server.terminate()
    return {"created": created, "renamed": renamed, "beta_password": beta_password, "beta_ids": beta_ids,
            "beta_created": beta_created, "listed": listed}


# What an operator's slip in psql does, each statement committed on its own, in alpha's schema
# (its triggers name their tables without a schema, as the app's connections run them).
DAMAGE = (
    "UPDATE students_student SET first_name = 'Overwritten', last_name = 'Overwritten'",
    "DELETE FROM attempts_transcriptmessage",
    "DROP TABLE attempts_attemptgrant CASCADE",
    "DROP SCHEMA beta CASCADE",
)


def _damage(primary):
    with psycopg.connect(primary.socket_url(), autocommit=True, options="-c search_path=alpha,public") as conn:
        for statement in DAMAGE:
            conn.execute(statement)


def _missing(tool):
    """Why `tool`'s restore cannot run here, or None."""
    if tool == "pgbackrest":
        if shutil.which("pgbackrest") is None:
            return "pgBackRest is not installed (make pitr-packages installs Debian's)"
        if not (DEBIAN_PG15 / "postgres").exists():
            return f"no PostgreSQL 15 in {DEBIAN_PG15} (Debian 12's pgBackRest 2.45 refuses PostgreSQL 18)"
    return None


@pytest.fixture(scope="module", params=["pg_basebackup", "pgbackrest"])
def recovery(request):
    """The whole story, once per tool: pg_basebackup and a WAL archive on the embedded
    PostgreSQL 18 (everywhere), and pgBackRest on Debian's PostgreSQL 15 (where both are)."""
    tool = request.param
    if _missing(tool):
        pytest.skip(_missing(tool))
    with ExitStack() as cleanup:
        primary = ArchivingCluster(bin_dir=DEBIAN_PG15 if tool == "pgbackrest" else None)
        cleanup.callback(primary.discard)
        pgbackrest = PgBackRest(primary) if tool == "pgbackrest" else None
        primary.start()
        if pgbackrest:
            pgbackrest.create()
        manage("prepare_demo", "--slug", "alpha", "--domain", _host("alpha"), "--students", str(SEEDED),
               "--email", "ops@alpha.example", "--password", PASSWORD, env=app_env(DATABASE_URL=primary.socket_url()))
        seeded_ids = {row[0] for row in primary.sql("SELECT user_id FROM alpha.students_student")}

        backup = pgbackrest.backup() if pgbackrest else take_base_backup(primary, os.path.join(primary.tmp, "backup"))
        known = _known_changes(primary, seeded_ids, primary.tmp)

        schemas = ("public", "alpha", "beta")
        before = fingerprint(primary.socket_url(), schemas)
        target = primary.sql("SELECT now()")[0][0]
        at_target = fingerprint(primary.socket_url(), schemas)
        assert at_target == before  # nothing was written around the recorded time

        _damage(primary)
        primary.archive_current_segment()  # what archive_timeout does within a minute
        damaged = fingerprint(primary.socket_url(), schemas)

        restored = RestoredCluster(target_time=target, system_user=primary.system_user, bin_dir=primary.bin_dir)
        cleanup.callback(restored.discard)
        if pgbackrest:
            pgbackrest.restore(restored)
        else:
            restored.unpack(backup, archive_dir=primary.archive_dir)
        restored.recover()
        # Read before anything else touches it: the app's sign-ins below write.
        recovered = fingerprint(restored.socket_url(), schemas)
        yield {"tool": tool, "primary": primary, "backup": backup, "restored": restored, "target": target,
               "known": known, "at_target": at_target, "damaged": damaged, "recovered": recovered}


def _report(capsys, text):
    with capsys.disabled():
        print(f"\n[pitr-test] {text}", flush=True)


def test_the_damage_is_real_on_the_primary(recovery):
    """The check below is not vacuous: on the damaged primary the fingerprints differ."""
    at_target, damaged = recovery["at_target"], recovery["damaged"]
    assert ("alpha", "attempts_attemptgrant") in at_target and ("alpha", "attempts_attemptgrant") not in damaged
    assert not [key for key in damaged if key[0] == "beta"]
    assert damaged[("alpha", "students_student")] != at_target[("alpha", "students_student")]
    assert damaged[("alpha", "attempts_transcriptmessage")][0] == 0


def test_recovery_stops_at_the_recorded_time_and_promotes(recovery, capsys):
    restored, backup, target = recovery["restored"], recovery["backup"], recovery["target"]
    log = restored.log()
    stopped = re.search(r"recovery stopping before commit of transaction \d+, time (.+)", log)
    last = re.search(r"last completed transaction was at log time (.+)", log)
    assert stopped and last, log[-3000:]
    stopped_at, last_at = (datetime.datetime.fromisoformat(match.group(1).strip()) for match in (stopped, last))
    assert last_at <= target < stopped_at  # the last known change kept, the first damage not
    assert "archive recovery complete" in log
    timeline, switch_lsn, _ = restored.switchpoint()
    assert timeline == 2  # a new history: the primary's later WAL can never be replayed onto it
    if recovery["tool"] == "pg_basebackup":
        # It archives to the same place as the primary did, on its own timeline: it could take over.
        wait_for(lambda: (recovery["primary"].archive_dir / "00000002.history").exists(), 30,
                 "the new timeline's history archived")
    else:
        assert restored.sql("SHOW archive_mode") == [("off",)]  # a copy beside the primary (--archive-mode=off)
    segments = restored.restored_segments()
    assert segments  # the known changes came from the archive, not from the backup
    replayed = wal_bytes(restored.socket_url(), backup.start_lsn, switch_lsn)
    version = restored.sql("SHOW server_version")[0][0].split()[0]
    stored = "tar, gzip" if recovery["tool"] == "pg_basebackup" else "in the repository: zst, encrypted"
    _report(capsys, (
        f"{recovery['tool']}, PostgreSQL {version}: base backup {backup.size / 2**20:.1f} MB ({stored}) "
        f"in {backup.seconds:.1f} s; restore to "
        f"{target.isoformat()}: data directory made in {restored.extract_seconds:.1f} s, replay and promotion "
        f"{restored.replay_seconds:.1f} s, {restored.extract_seconds + restored.replay_seconds:.1f} s in all; "
        f"WAL replayed {replayed / 2**20:.1f} MB ({backup.start_lsn} to {switch_lsn}), "
        f"{len(segments)} segments of 16 MB read from the archive; stopped before a commit at "
        f"{stopped_at.isoformat()}, {(stopped_at - target).total_seconds() * 1000:.0f} ms after the target"
    ))


def test_every_table_is_as_it_was_at_the_recorded_time(recovery):
    at_target, recovered = recovery["at_target"], recovery["recovered"]
    assert sorted(recovered) == sorted(at_target)
    differing = [key for key in at_target if recovered[key] != at_target[key]]
    assert differing == []


def test_known_changes_are_there_and_damage_is_not(recovery):
    restored, known, primary = recovery["restored"], recovery["known"], recovery["primary"]
    rows = dict(
        (user_id, (first, last))
        for user_id, first, last in restored.sql("SELECT user_id, first_name, last_name FROM alpha.students_student")
    )
    assert len(rows) == SEEDED + CREATED
    for user_id, n in known["created"].items():
        assert rows[user_id] == ("Chidinma", f"Ọnwụka {n}")
    for user_id, first_name in known["renamed"].items():
        assert rows[user_id][0] == first_name
    assert not [name for name in rows.values() if "Overwritten" in name]
    transcripts, grants = restored.sql(
        "SELECT (SELECT count(*) FROM alpha.attempts_transcriptmessage), (SELECT count(*) FROM alpha.attempts_attemptgrant)"
    )[0]
    assert transcripts > 0 and grants > 0
    assert transcripts == recovery["at_target"][("alpha", "attempts_transcriptmessage")][0]
    beta = {row[0] for row in restored.sql("SELECT user_id FROM beta.students_student")}
    assert beta == known["beta_ids"]
    # The damaged primary is left as it was, to compare with or to copy more from.
    assert primary.sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'beta'")[0][0] == 0


def test_the_production_server_serves_both_tenants_from_the_restored_cluster(recovery):
    restored, known = recovery["restored"], recovery["known"]
    server = _server(restored.socket_url())
    try:
        assert server.get("/readyz", host="localhost").status == 200  # migrations applied, database answers
        alpha = _auth(server, "alpha", "ops@alpha.example", PASSWORD)
        listed = server.get("/v1/console/students?limit=1", host=_host("alpha"), headers=alpha).json()
        assert listed["total"] == known["listed"]["alpha"]
        renamed_id, first_name = sorted(known["renamed"].items())[0]
        detail = server.get(f"/v1/console/students/{renamed_id}", host=_host("alpha"), headers=alpha).json()
        assert detail["data"]["student_name"].startswith(first_name)
        found = server.get(f"/v1/console/students?search={quote('Ọnwụka')}&limit=100", host=_host("alpha"), headers=alpha).json()
        assert {row["user_id"] for row in found["data"]} == set(known["created"])

        beta = _auth(server, "beta", "admin@beta.example", known["beta_password"])
        listed = server.get(f"/v1/console/students?search={quote('Ụzọma')}&limit=100", host=_host("beta"),
                            headers=beta).json()
        assert {row["user_id"] for row in listed["data"]} == known["beta_created"]
        listed = server.get("/v1/console/students?limit=1", host=_host("beta"), headers=beta).json()
        assert listed["total"] == known["listed"]["beta"]
        # Promoted: it takes writes.
        _create_student(server, "alpha", alpha, "Ifeoma", "After Restore", "ifeoma@alpha.example")
    finally:
        server.terminate()
    assert restored.sql("SELECT count(*) FROM alpha.students_student")[0][0] == SEEDED + CREATED + 1
