"""Background exports: queue a job, claim it in a worker, write its file, prune expired files.

The queue is the ExportJob table in each tenant's schema (no broker, nothing beside the
PostgreSQL the app already has). A worker walks the tenants' schemas and claims the oldest
waiting job with SELECT … FOR UPDATE SKIP LOCKED, so several workers never take the same
one. A running job carries a heartbeat, renewed as rows are written; a job whose worker died
(killed, machine lost) stops beating and is claimed again after EXPORT_STALE_SECONDS, at most
MAX_TRIES times. A worker asked to stop (SIGTERM) puts its job back in the queue first.

A job's kind is an entry of console.list_files.kinds, the downloads' own: the same parameters,
rows and writers, without the cap. Files are written incrementally (CSV in blocks, XLSX by
openpyxl's write-only workbook) from a server-side cursor, into a temporary file that is then
saved to the default storage under exports/<schema>/ (never served publicly:
console.exports.apis checks the owner).
"""
import datetime as dt
import logging
import os
import tempfile
import time
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model, tenant_context

from accounts.audit.services import audit_record
from accounts.permissions import has_permission
from config.errors import AppError
from console.exports.models import ExportJob
from console.list_files.kinds import FILE_KINDS
from console.list_files.writers import file_write

log = logging.getLogger("console.exports")

MAX_TRIES = 3
PROGRESS_EVERY = 2000  # rows between progress updates (each one also renews the heartbeat)
PRUNE_EVERY_SECONDS = 300
MSG_EXPORT_FAILED = "The export failed; run it again, or narrow the filters."
MSG_GAVE_UP = f"The export stopped {MAX_TRIES} times without finishing; run it again, or narrow the filters."


class _Lost(Exception):
    """Another worker took the job over (this one was thought dead)."""


class _Stopping(Exception):
    """The worker was asked to stop."""


def _as_query(params):
    query = QueryDict(mutable=True)
    for name, values in params.items():
        query.setlist(name, values if isinstance(values, list) else [values])
    return query


def export_job_queue(*, user, kind, file_format, params):
    """Check the kind's permission and the filters (the same 400 as the synchronous download
    would give), queue the job and audit it. `params` is a QueryDict of the list's filters
    (and the gradebook's options); `format` in it is ignored."""
    file_kind = FILE_KINDS[kind]
    if not has_permission(user, file_kind.permission):
        raise PermissionDenied
    params = params.copy()
    params.pop("format", None)
    file_kind.read(params)
    with transaction.atomic():
        job = ExportJob.objects.create(
            tenant_schema=connection.schema_name,
            requested_by=user,
            kind=kind,
            file_format=file_format,
            params={name: params.getlist(name) for name in params},
        )
        audit_record(
            action="exports.queue",
            target_type="export_job",
            target_id=job.pk,
            detail={"kind": kind, "format": file_format, "filters": job.params},
        )
    return job


def export_job_download_audit(job):
    audit_record(
        action="exports.download",
        target_type="export_job",
        target_id=job.pk,
        detail={"kind": job.kind, "format": job.file_format, "rows": job.rows_done, "file_size": job.file_size},
    )


def export_job_open(job):
    """The job's file, open for reading; 404 when the storage has lost it."""
    try:
        return default_storage.open(job.file_name, "rb")
    except FileNotFoundError:
        log.error("export %s: its file %s is missing", job.pk, job.file_name)
        raise AppError.not_found("This export's file is missing; run the export again.") from None


def export_job_claim(*, worker, now=None):
    """The oldest waiting job of the current tenant, now running for `worker`: a queued one, or
    a running one whose heartbeat is older than EXPORT_STALE_SECONDS (its worker died). A job
    already tried MAX_TRIES times is failed instead. None when there is nothing to do."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    waiting = Q(state=ExportJob.State.QUEUED) | Q(state=ExportJob.State.RUNNING, heartbeat_at__lt=stale)
    while True:
        with transaction.atomic():
            job = ExportJob.objects.select_for_update(skip_locked=True).filter(waiting).order_by("created_at").first()
            if job is None:
                return None
            if job.tries >= MAX_TRIES:
                job.state, job.error, job.finished_at, job.claimed_by = ExportJob.State.FAILED, MSG_GAVE_UP, now, ""
                job.save(update_fields=["state", "error", "finished_at", "claimed_by"])
                continue
            job.state, job.claimed_by, job.tries = ExportJob.State.RUNNING, worker, job.tries + 1
            job.started_at = job.heartbeat_at = now
            job.rows_done = 0
            job.save(update_fields=["state", "claimed_by", "tries", "started_at", "heartbeat_at", "rows_done"])
            return job


def _beat(job, worker, rows_done, **fields):
    """Record progress; _Lost when the job is no longer this worker's."""
    updated = ExportJob.objects.filter(pk=job.pk, claimed_by=worker, state=ExportJob.State.RUNNING).update(
        rows_done=rows_done, heartbeat_at=timezone.now(), **fields
    )
    if not updated:
        raise _Lost(job.pk)


def _counted(rows, job, worker, stopping):
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % PROGRESS_EVERY == 0:
            if stopping():
                raise _Stopping
            _beat(job, worker, done)
    job.rows_done = done


def _write(job, worker, target, stopping):
    """Write the job's file into the binary file `target`; returns the download's file name.
    Rows are read in autocommit from a WITH HOLD server-side cursor, so progress updates
    commit as they are made."""
    kind = FILE_KINDS[job.kind]
    file_request = kind.read(_as_query(job.params))
    _beat(job, worker, 0, rows_total=file_request.filterset.qs.count())
    rows = _counted(kind.rows(file_request, limit=None), job, worker, stopping)
    file_write(file_request, rows, job.file_format, target)
    return kind.file_name(connection.tenant, job.file_format)


def export_job_run(job, *, worker, stopping=lambda: False):
    """Run a claimed job in the current tenant to done (its file saved, expiring after
    EXPORT_FILE_HOURS) or failed. A job taken over by another worker is left to it; a worker
    asked to stop puts the job back in the queue."""
    if job.tenant_schema != connection.schema_name:
        raise RuntimeError(f"export {job.pk} belongs to schema {job.tenant_schema}, not {connection.schema_name}")
    try:
        with tempfile.TemporaryFile(prefix="export-") as target:
            download_name = _write(job, worker, target, stopping)
            target.seek(0, os.SEEK_END)
            size = target.tell()
            target.seek(0)
            name = default_storage.save(f"exports/{job.tenant_schema}/{job.pk}.{job.file_format}", File(target))
    except _Lost:
        log.warning("export %s was taken over by another worker", job.pk)
        return None
    except _Stopping:
        ExportJob.objects.filter(pk=job.pk, claimed_by=worker).update(
            state=ExportJob.State.QUEUED, claimed_by="", rows_done=0, tries=max(job.tries - 1, 0)
        )
        log.info("export %s put back in the queue: the worker is stopping", job.pk)
        return None
    except AppError as error:  # the filters no longer hold (a cohort deleted since): say which
        _finish(job, worker, state=ExportJob.State.FAILED, error=f"{MSG_EXPORT_FAILED} ({error.errors or error.message})")
        return job
    except Exception:
        log.exception("export %s failed", job.pk)
        _finish(job, worker, state=ExportJob.State.FAILED, error=MSG_EXPORT_FAILED)
        return job
    now = timezone.now()
    finished = _finish(
        job, worker, state=ExportJob.State.DONE, file_name=name, file_size=size, download_name=download_name,
        rows_done=job.rows_done, expires_at=now + dt.timedelta(hours=settings.EXPORT_FILE_HOURS),
    )
    if not finished:
        default_storage.delete(name)  # taken over while the file was being saved: the other run's file counts
    return job


def _finish(job, worker, **fields):
    fields.setdefault("finished_at", timezone.now())
    updated = ExportJob.objects.filter(pk=job.pk, claimed_by=worker, state=ExportJob.State.RUNNING).update(
        claimed_by="", **fields
    )
    for name, value in fields.items():
        setattr(job, name, value)
    return bool(updated)


def export_jobs_prune(*, now=None):
    """Delete the files of finished jobs past their expiry and mark them expired, in the
    current tenant. Returns how many."""
    now = now or timezone.now()
    pruned = 0
    for job in ExportJob.objects.filter(state=ExportJob.State.DONE, expires_at__lte=now).only("pk", "file_name"):
        if job.file_name:
            default_storage.delete(job.file_name)
        pruned += ExportJob.objects.filter(pk=job.pk, state=ExportJob.State.DONE).update(
            state=ExportJob.State.EXPIRED, file_name="", file_size=None
        )
    return pruned


def _tenants():
    return list(get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name"))


def export_worker_run(*, once=False, poll_seconds=1.0, stopping=lambda: False, parent_pid=None):
    """The worker loop: over every tenant, claim and run jobs until none waits, then sleep
    `poll_seconds`; prune expired files every PRUNE_EVERY_SECONDS. `once`: one pass, then
    return (tests, cron). With `parent_pid`, exits when that process is gone (started by
    config.serve, it never outlives the server). Returns the number of jobs run."""
    worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    ran, last_prune = 0, 0.0
    while not stopping():
        if parent_pid is not None and os.getppid() != parent_pid:
            log.warning("export worker: the server is gone, stopping")
            break
        if not connection.in_atomic_block:  # (a test's transaction is kept)
            close_old_connections()
        prune = time.monotonic() - last_prune >= PRUNE_EVERY_SECONDS
        try:
            for tenant in _tenants():
                with tenant_context(tenant):
                    if prune:
                        export_jobs_prune()
                    while not stopping() and (job := export_job_claim(worker=worker)) is not None:
                        export_job_run(job, worker=worker, stopping=stopping)
                        ran += 1
            if prune:
                last_prune = time.monotonic()
        except DatabaseError as error:  # the database is away (or a tenant mid-migration): try again later
            # One line, no traceback: an outage is expected, and the server's log stays readable.
            log.warning("export worker: the database could not be read (%s); retrying", type(error).__name__)
            connection.close()
        if once:
            break
        deadline = time.monotonic() + poll_seconds
        while time.monotonic() < deadline and not stopping():
            time.sleep(0.1)
    return ran
