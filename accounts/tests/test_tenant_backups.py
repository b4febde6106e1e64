"""`manage.py tenant_backup` and `tenant_restore`, and a tenant's deletion: an archive restored as
another tenant, or over the deleted one, holds every row (each table's count and checksum) and
file, and serves; an archive from an older release is migrated on restore; a damaged archive,
a taken slug or domain and an archive from a newer release are refused and leave nothing
behind; a deleted tenant waits out its retention suspended, then is purged after a final
backup, which restores it. These tests commit (pg_dump reads on a connection of its own)."""
import gzip
import io
import json
import shutil
import tarfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from accounts.models import AuditEvent
from students.models import Student
from students.tests.test_avatar import image_bytes
from tenants.backups.archive import MANIFEST, quote, schema_columns
from tenants.backups.services import storage_files, tenant_restore, tenants_purge_due
from tenants.models import Domain, PurgedTenant, Tenant
from tenants.provisioning.migrating import schemas_behind
from tenants.provisioning.services import tenant_create
from testing.clients import TenantAPIClient
from testing.concurrency import race, raised
from testing.factories import (
    AttemptGrantFactory,
    GradeReportFactory,
    SessionFactory,
    StaffUserFactory,
    StudentFactory,
    StudentGroupFactory,
    TranscriptMessageFactory,
)
from testing.jobs import queued_jobs

PASSWORD = "correct horse battery"
PREFIX = "backuptest"


@pytest.fixture
def made(committed_tenant, settings, tmp_path):
    """Tenants a test makes (slugged backuptest…) are dropped afterwards with their files."""
    settings.TENANT_BACKUP_DIR = str(tmp_path / "final")
    _clean(committed_tenant, settings)
    try:
        yield tmp_path
    finally:
        _clean(committed_tenant, settings)


def _clean(committed_tenant, settings):
    connection.set_schema_to_public()
    for tenant in Tenant.objects.filter(slug__startswith=PREFIX):
        tenant.delete(force_drop=True)
    PurgedTenant.objects.filter(slug__startswith=PREFIX).delete()
    with connection.cursor() as cursor:  # the change feed's webhook jobs of what the tests wrote
        cursor.execute("DELETE FROM public.procrastinate_jobs WHERE args->>'schema' = ANY(%s) OR args->>'schema' LIKE %s",
                       [[committed_tenant.schema_name], PREFIX + "%"])
    for folder in ("avatars", "exports"):
        for path in [settings.MEDIA_ROOT / folder / committed_tenant.schema_name,
                     *(settings.MEDIA_ROOT / folder).glob(f"{PREFIX}*")]:
            shutil.rmtree(path, ignore_errors=True)


def _files_of(prefix):
    return [name for name in storage_files("avatars") if name.startswith(f"avatars/{prefix}")]


def _fill(tenant):
    """A tenant with something in every corner: staff, students with photos, sessions with
    transcripts and grades, grants, a group, audit events."""
    with schema_context(tenant.schema_name):
        staff = StaffUserFactory(email="ops@backup.example", full_name="Olu Ops", roles=["admin"])
        students = StudentFactory.create_batch(6)
        for student in students[:2]:
            student.avatar.save("photo.png", ContentFile(image_bytes("PNG")))
        for student in students[:4]:
            session = SessionFactory(student=student)
            TranscriptMessageFactory.create_batch(3, session=session)
            GradeReportFactory(session=session)
            AttemptGrantFactory(student=student, case_study=session.case_study)
        group = StudentGroupFactory()
        group.members.add(*students[:3])
        client = _signed_in(tenant.domains.first().domain)
        assert staff.email == "ops@backup.example"
        renamed = client.patch(f"/v1/students/{students[5].user_id}", {"first_name": "Renamed"}, format="json")
        assert renamed.status_code == 200, renamed.content
    return students


def _rows(schema):
    """{table: (rows, checksum)} of every table, columns holding the schema's name left out
    and the tenant's own audit events (suspended, backed up, restored …) not counted."""
    named = {}
    for table, column, _ in schema_columns():
        named.setdefault(table, []).append(column)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'", [schema],
        )
        tables = sorted(row[0] for row in cursor.fetchall())
        found = {}
        for table in tables:
            row = "to_jsonb(t)" + "".join(f" - '{column}'" for column in named.get(table, []))
            where = "WHERE t.target_type <> 'tenant'" if table == "accounts_auditevent" else ""
            cursor.execute(
                f"SELECT count(*), md5(string_agg(h, '' ORDER BY h)) FROM "
                f"(SELECT md5(({row})::text) AS h FROM {quote(schema)}.{quote(table)} t {where}) s"
            )
            found[table] = cursor.fetchone()
    return found


def _avatars(schema):
    with schema_context(schema):
        return {s.user_id: (s.avatar.name, default_storage.open(s.avatar.name).read())
                for s in Student.objects.exclude(avatar="")}


def _signed_in(domain):
    client = TenantAPIClient(domain)
    token = client.post("/v1/auth/token", {"email": "ops@backup.example", "password": PASSWORD}, format="json")
    assert token.status_code == 201, token.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['data']['token']}")
    return client


def _backup(tenant, path, **options):
    connection.set_schema_to_public()
    call_command("tenant_backup", tenant=tenant.slug, out=str(path), **options)
    connection.set_schema_to_public()


def _restore(path, slug, *domains, **options):
    connection.set_schema_to_public()
    call_command("tenant_restore", archive=str(path), slug=slug, domain=list(domains), **options)
    connection.set_schema_to_public()


def test_a_tenant_restored_as_another_holds_every_row_and_file_and_serves(made, committed_tenant):
    _fill(committed_tenant)
    before = _rows(committed_tenant.schema_name)
    photos = _avatars(committed_tenant.schema_name)
    archive = made / "test.tar"
    _backup(committed_tenant, archive)
    # Staff go on working after the snapshot: the archive does not see it.
    with schema_context(committed_tenant.schema_name):
        StudentFactory()

    slug = f"{PREFIX}_copy"
    _restore(archive, slug, "copy.backup.localhost", name="Restored copy")
    restored = Tenant.objects.get(slug=slug)
    assert restored.name == "Restored copy" and restored.time_zone == committed_tenant.time_zone
    assert list(restored.domains.values_list("domain", "is_primary")) == [("copy.backup.localhost", True)]
    assert _rows(slug) == before
    assert not schemas_behind([slug])

    # Files: under the new schema's name, the same bytes, served on the new host only.
    copies = _avatars(slug)
    assert {user_id: data for user_id, (_, data) in copies.items()} == {u: d for u, (_, d) in photos.items()}
    for user_id, (name, _) in copies.items():
        assert name == photos[user_id][0].replace(f"avatars/{committed_tenant.schema_name}/", f"avatars/{slug}/")
    client = _signed_in("copy.backup.localhost")
    listed = client.get("/v1/console/students?limit=100").json()
    assert listed["total"] == 6 and any(s["student_name"].startswith("Renamed ") for s in listed["data"])
    for user_id in copies:
        record = client.get(f"/v1/students/{user_id}")
        assert record.status_code == 200, record.content
        photo = client.get(record.json()["data"]["avatar_url"])
        assert photo.status_code == 200 and b"".join(photo.streaming_content) == copies[user_id][1]
    console = Client(HTTP_HOST="copy.backup.localhost")
    assert console.post("/login/", {"username": "ops@backup.example", "password": PASSWORD}).status_code == 302
    assert console.get("/students/").status_code == 200

    with schema_context(slug):
        events = AuditEvent.objects.filter(target_type="tenant").values_list("action", "detail")
        assert [action for action, _ in events] == ["tenant.restore"]
        assert dict(events)["tenant.restore"]["from_slug"] == committed_tenant.slug
    with schema_context(committed_tenant.schema_name):
        assert AuditEvent.objects.filter(action="tenant.backup").count() == 1


def test_an_archive_from_an_older_release_is_migrated_on_restore(made):
    old = tenant_create(slug=f"{PREFIX}_old", name="Older", domain="old.backup.localhost")
    call_command(  # the release before: no webhooks yet
        "migrate_schemas", schema_name=old.schema_name, app_label="console",
        migration_name="0002_export_kinds_from_list_files", interactive=False, verbosity=0,
    )
    connection.set_schema_to_public()
    assert schemas_behind([old.schema_name])
    with schema_context(old.schema_name):
        StudentFactory.create_batch(3)
    before = _rows(old.schema_name)
    archive = made / "old.tar"
    _backup(old, archive)

    _restore(archive, f"{PREFIX}_new", "new.backup.localhost")
    assert not schemas_behind([f"{PREFIX}_new"])
    after = _rows(f"{PREFIX}_new")
    added = set(after) - set(before)
    assert added and all(table.startswith("console_webhook") for table in added)
    assert {table: after[table] for table in before if table != "django_migrations"} == {
        table: rows for table, rows in before.items() if table != "django_migrations"
    }
    with schema_context(f"{PREFIX}_new"):
        assert Student.objects.count() == 3


def _rewritten(source, target, change):
    """A copy of the archive `source` with its manifest changed by `change(manifest)`."""
    with tarfile.open(source, "r:") as tar, tarfile.open(target, "w:") as out:
        for info in tar:
            data = tar.extractfile(info).read()
            if info.name == MANIFEST:
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def _damaged(source, target):
    with tarfile.open(source, "r:") as tar, tarfile.open(target, "w:") as out:
        for info in tar:
            data = tar.extractfile(info).read()
            if info.name == "data/students_student.copy.gz":
                data = gzip.compress(gzip.decompress(data).replace(b"\t", b"\t ", 1))
                info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def _nothing_made(slug):
    assert not Tenant.objects.filter(slug=slug).exists()
    assert not schema_exists(slug)
    assert not Domain.objects.filter(domain="bad.backup.localhost").exists()
    assert _files_of(PREFIX) == []
    _nothing_left_over()


def _nothing_left_over():
    """No scratch database is left behind."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'tenant_restore_%%'")
        assert cursor.fetchone()[0] == 0


def test_bad_archives_and_names_are_refused_and_leave_nothing(made, committed_tenant, other_tenant):
    _fill(committed_tenant)
    archive = made / "test.tar"
    _backup(committed_tenant, archive)
    slug = f"{PREFIX}_bad"

    cases = {
        "damaged": (_damaged, "data/students_student.copy.gz is damaged"),
        "checksum": (lambda s, t: _rewritten(s, t, lambda m: m["tables"]["students_student"].update(checksum="0" * 32)),
                     "differ from the manifest's counts or checksums in: students_student"),
        "newer": (lambda s, t: _rewritten(s, t, lambda m: m["migrations"].append(["students", "9999_future"])),
                  "made by a newer release"),
        "format": (lambda s, t: _rewritten(s, t, lambda m: m.update(format="something/else")), "unknown format"),
    }
    for name, (make, message) in cases.items():
        bad = made / f"{name}.tar"
        make(archive, bad)
        with pytest.raises(CommandError, match=message):
            _restore(bad, slug, "bad.backup.localhost")
        _nothing_made(slug)

    (made / "junk.tar").write_bytes(b"not an archive")
    with pytest.raises(CommandError, match="is not a tenant archive"):
        _restore(made / "junk.tar", slug, "bad.backup.localhost")
    with pytest.raises(CommandError, match="slug: A tenant with slug 'test' already exists"):
        _restore(archive, committed_tenant.slug, "bad.backup.localhost")
    with pytest.raises(CommandError, match="domain: The domain 'other.localhost' is already in use"):
        _restore(archive, slug, other_tenant.domains.first().domain)
    with pytest.raises(CommandError, match="slug: Use 1-63 lowercase"):
        _restore(archive, "Not-A-Slug", "bad.backup.localhost")
    _nothing_made(slug)
    with pytest.raises(CommandError, match="exists; an archive is never written over another file"):
        _backup(committed_tenant, archive)


def test_a_deleted_tenant_waits_suspended_then_is_purged_after_a_final_backup_which_restores_it(made):
    tenant = tenant_create(slug=f"{PREFIX}_gone", name="Gone University", domain="gone.backup.localhost")
    students = _fill(tenant)
    assert [args for _, _, args, _ in queued_jobs() if args.get("schema") == tenant.schema_name]  # the feed's
    before = _rows(tenant.schema_name)
    photos = _avatars(tenant.schema_name)

    with pytest.raises(CommandError, match="Suspend backuptest_gone first"):
        call_command("tenant_delete", tenant=tenant.slug, reason="Contract ended")
    call_command("tenant_suspend", tenant=tenant.slug, reason="Contract ended")
    call_command("tenant_delete", tenant=tenant.slug, reason="Contract ended 2026-11-30", days=30)
    tenant.refresh_from_db()
    assert tenant.delete_after - tenant.delete_requested_at == timezone.timedelta(days=30)
    assert tenants_purge_due() == []  # kept for its retention
    assert Client(HTTP_HOST="gone.backup.localhost").get("/login/").status_code == 503

    # Resuming takes it back; deleting again, and the retention runs out.
    call_command("tenant_resume", tenant=tenant.slug)
    tenant.refresh_from_db()
    assert tenant.delete_after is None and tenant.suspended_at is None
    call_command("tenant_suspend", tenant=tenant.slug, reason="Contract ended")
    call_command("tenant_delete", tenant=tenant.slug, reason="Contract ended 2026-11-30", days=30)
    with schema_context(tenant.schema_name):
        actions = list(AuditEvent.objects.filter(target_type="tenant").order_by("occurred_at", "id").values_list("action", flat=True))
    assert actions == ["tenant.suspend", "tenant.delete", "tenant.resume", "tenant.suspend", "tenant.delete"]

    purged = tenants_purge_due(now=timezone.now() + timezone.timedelta(days=31))
    assert [record.slug for record in purged] == [tenant.slug]
    record = PurgedTenant.objects.get(slug=tenant.slug)
    assert record.deletion_reason == "Contract ended 2026-11-30" and record.domains == ["gone.backup.localhost"]
    assert record.rows["students_student"] == len(students)
    assert not Tenant.objects.filter(slug=tenant.slug).exists() and not schema_exists(tenant.schema_name)
    assert not Domain.objects.filter(domain="gone.backup.localhost").exists()
    assert _files_of(PREFIX) == []
    assert [args for _, _, args, _ in queued_jobs() if args.get("schema") == tenant.schema_name] == []
    assert Client(HTTP_HOST="gone.backup.localhost").get("/login/").status_code == 404

    # The final backup brings it back, under its own name and host, as it was when purged.
    _restore(record.backup_path, tenant.slug)
    assert _rows(tenant.schema_name) == before
    assert {u: d for u, (_, d) in _avatars(tenant.schema_name).items()} == {u: d for u, (_, d) in photos.items()}
    restored = Tenant.objects.get(slug=tenant.slug)
    assert restored.suspended_at is None and restored.delete_after is None
    assert _signed_in("gone.backup.localhost").get("/v1/console/students").json()["total"] == len(students)


def test_only_a_deleted_tenant_is_purged_and_bad_deletions_change_nothing(tenant):
    connection.set_schema_to_public()
    with pytest.raises(CommandError, match="not deleted"):
        call_command("tenant_purge", tenant=tenant.slug)
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        call_command("tenant_delete", tenant="nope", reason="x")
    call_command("tenant_suspend", tenant=tenant.slug, reason="x")
    for options, message in (({"reason": " "}, "reason"), ({"reason": "x", "days": -1}, "days")):
        with pytest.raises(CommandError, match=message):
            call_command("tenant_delete", tenant=tenant.slug, **options)
    tenant.refresh_from_db()
    assert tenant.delete_after is None and tenant.deletion_reason == ""
    call_command("tenant_resume", tenant=tenant.slug)


def test_restores_of_one_slug_at_once_make_one_tenant_whose_files_stay(made, committed_tenant):
    _fill(committed_tenant)
    photos = _avatars(committed_tenant.schema_name)
    archive = made / "test.tar"
    _backup(committed_tenant, archive)
    slug = f"{PREFIX}_raced"
    results = race(committed_tenant, [
        lambda n=n: tenant_restore(archive, slug=slug, domains=[f"raced{n}.backup.localhost"]) for n in range(3)
    ])
    connection.set_schema_to_public()
    assert sum(isinstance(r, tuple) for r in results) == 1, results
    assert all(list(r.message_dict) == ["slug"] for r in raised(results)), results
    assert Tenant.objects.filter(slug=slug).count() == 1 and Domain.objects.filter(tenant__slug=slug).count() == 1
    assert {u: d for u, (_, d) in _avatars(slug).items()} == {u: d for u, (_, d) in photos.items()}
    _nothing_left_over()
