"""Background exports: queue a job, run it, write its file, delete it when it expires.

An ExportJob row in the tenant's schema is what staff see (state, progress, file); the work
is a job on the one queue (tenants.jobs: `exports.run`, queued in the same transaction as the
row). A run takes the row (`export_job_start`), renews its heartbeat and progress as rows are
written, and finishes it done or failed. A run whose worker died (killed, machine lost) is
queued again by the queue once that worker's heartbeat stops, and takes the row over, at
most MAX_TRIES times. A worker asked to stop puts the row back as queued and the queue runs
it again. A done job's file is deleted at its expiry by an `exports.expire` job scheduled
then (and by the daily prune, should that job be lost).

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

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.http import QueryDict
from django.utils import timezone

from accounts.audit.services import audit_record
from accounts.events.services import event_record
from accounts.events.types import EXPORT_DONE
from accounts.permissions import has_permission
from config.errors import AppError
from console.exports.models import ExportJob
from console.list_files.kinds import FILE_KINDS
from console.list_files.writers import file_write
from tenants.jobs import defer

log = logging.getLogger("console.exports")

MAX_TRIES = 3
RUN_TASK = "exports.run"
EXPIRE_TASK = "exports.expire"
PROGRESS_EVERY = 2000  # rows between progress updates (each one also renews the heartbeat)
PRUNE_EVERY_SECONDS = 300
MSG_EXPORT_FAILED = "The export failed; run it again, or narrow the filters."
MSG_GAVE_UP = f"The export stopped {MAX_TRIES} times without finishing; run it again, or narrow the filters."


class _Lost(Exception):
    """Another worker took the job over (this one was thought dead)."""


class _Stopping(Exception):
    """The worker was asked to stop."""


class ExportStopped(Exception):
    """The job went back to the queue because its worker is stopping (the queue runs it again)."""


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
        defer(RUN_TASK, job_id=job.pk)
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


def export_job_start(job_id, *, worker, now=None):
    """The job `job_id` of the current tenant, now running for `worker` (a run of its queue
    job): queued, or running for a worker that died. A job already tried MAX_TRIES times is
    failed instead. None when there is nothing to do (done, failed, expired or gone)."""
    now = now or timezone.now()
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state not in (ExportJob.State.QUEUED, ExportJob.State.RUNNING):
            return None
        if job.tries >= MAX_TRIES:
            job.state, job.error, job.finished_at, job.claimed_by = ExportJob.State.FAILED, MSG_GAVE_UP, now, ""
            job.save(update_fields=["state", "error", "finished_at", "claimed_by"])
            return None
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
    params = _as_query(job.params)
    params["format"] = job.file_format  # the rows of a kind may depend on it (the gradebook's do)
    file_request = kind.read(params)
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
        raise ExportStopped(job.pk) from None
    except DatabaseError:  # the database is away: the queue runs the job again later
        raise
    except AppError as error:  # the filters no longer hold (a cohort deleted since): say which
        _finish(job, worker, state=ExportJob.State.FAILED, error=f"{MSG_EXPORT_FAILED} ({error.errors or error.message})")
        return job
    except Exception:
        log.exception("export %s failed", job.pk)
        _finish(job, worker, state=ExportJob.State.FAILED, error=MSG_EXPORT_FAILED)
        return job
    now = timezone.now()
    with transaction.atomic():
        finished = _finish(
            job, worker, state=ExportJob.State.DONE, file_name=name, file_size=size, download_name=download_name,
            rows_done=job.rows_done, expires_at=now + dt.timedelta(hours=settings.EXPORT_FILE_HOURS),
        )
        if finished:
            export_job_expire_later(job)
            event_record(
                type=EXPORT_DONE, subject_type="export_job", subject_id=job.pk,
                data={"kind": job.kind, "format": job.file_format, "rows": job.rows_done, "file_size": size,
                      "expires_at": job.expires_at.isoformat(), "requested_by": job.requested_by_id},
            )
    if not finished:
        default_storage.delete(name)  # taken over while the file was being saved: the other run's file counts
    return job


def export_job_expire_later(job):
    """Queue the deletion of a done job's file for when it expires."""
    defer(EXPIRE_TASK, job_id=job.pk, schedule_at=job.expires_at)


def _finish(job, worker, **fields):
    fields.setdefault("finished_at", timezone.now())
    updated = ExportJob.objects.filter(pk=job.pk, claimed_by=worker, state=ExportJob.State.RUNNING).update(
        claimed_by="", **fields
    )
    for name, value in fields.items():
        setattr(job, name, value)
    return bool(updated)


def export_jobs_prune(*, now=None, job_id=None):
    """Delete the files of finished jobs past their expiry (of `job_id` alone, if given) and
    mark them expired, in the current tenant. Returns how many."""
    now = now or timezone.now()
    pruned = 0
    expired = ExportJob.objects.filter(state=ExportJob.State.DONE, expires_at__lte=now)
    if job_id is not None:
        expired = expired.filter(pk=job_id)
    for job in expired.only("pk", "file_name"):
        if job.file_name:
            default_storage.delete(job.file_name)
        pruned += ExportJob.objects.filter(pk=job.pk, state=ExportJob.State.DONE).update(
            state=ExportJob.State.EXPIRED, file_name="", file_size=None
        )
    return pruned
