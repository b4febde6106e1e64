"""Reads of background export jobs: a requester sees their own jobs only."""
from config.errors import AppError
from config.ids import is_valid_opaque_id
from console.exports.models import ExportJob

MSG_EXPORT_NOT_FOUND = "No export with this id is yours."
MSG_BAD_JOB_ID = "Not a valid export id: 1-64 characters of letters, digits, '_', '.', ':' or '-'."
RECENT_LIMIT = 20


def access_export_job(*, job_id, user, bad_id_is_missing=False):
    """The job if `user` asked for it, else 404 NOT_FOUND (another staff member's job is not
    acknowledged to exist). A malformed id is a 400 naming job_id, or that same 404 when
    `bad_id_is_missing` (a page, which names no parameter). One query at most."""
    well_formed = is_valid_opaque_id(job_id)
    if not well_formed and not bad_id_is_missing:
        raise AppError.validation({"job_id": MSG_BAD_JOB_ID})
    job = ExportJob.objects.filter(pk=job_id, requested_by=user).first() if well_formed else None
    if job is None:
        raise AppError.not_found(MSG_EXPORT_NOT_FOUND)
    return job


def export_jobs_of(user, *, limit=RECENT_LIMIT):
    """The user's latest jobs, newest first. One query."""
    return list(ExportJob.objects.filter(requested_by=user).order_by("-created_at", "-pk")[:limit])
