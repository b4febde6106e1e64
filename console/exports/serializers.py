"""Shapes of the background export API: the request (the list's filters and formats, for
the list or the gradebook) and a job's state."""
import datetime as dt

from django.urls import reverse
from rest_framework import serializers

from config.filter_schema import filterset_serializer
from config.serializers import OpaqueIdField, StrictSerializer, enveloped
from console.exports.models import ExportJob
from console.list_files.kinds import DEFAULT_KIND, FILE_KINDS
from console.reports.selectors import MAX_CASE_STUDIES
from console.students.serializers import EXPORT_FORMATS, FileFormatField
from students.listing.filters import StudentFileFilter

MSG_BAD_KIND = "Choose list or gradebook."


class ExportJobRequestSerializer(filterset_serializer(StudentFileFilter, in_body=True, base=StrictSerializer)):
    """POST /v1/console/exports: what to export (the list or the gradebook), in which format,
    with the list's filters as top-level fields (as the download's query string has them;
    declared by their FilterSet, which validates them when the job is queued)."""

    kind = serializers.ChoiceField(
        choices=list(FILE_KINDS), default=DEFAULT_KIND, error_messages={"invalid_choice": MSG_BAD_KIND},
        help_text="list: the students list export's columns; gradebook: the gradebook matrix.",
    )
    format = FileFormatField(help_text="csv or xlsx.")
    case_study = serializers.ListField(
        child=OpaqueIdField(), required=False, max_length=MAX_CASE_STUDIES,
        help_text="Gradebook only: the case studies to report on (default: the active ones).",
    )
    sheet_per_programme = serializers.BooleanField(
        default=False, help_text="Gradebook in XLSX only: one sheet per programme."
    )


def as_query(data):
    """A request body as the download's query string would carry it ({name: [values]}, text)."""
    params = {}
    for name, value in data.items():
        if name in ("kind", "format") or value is None:
            continue
        if isinstance(value, bool):
            params[name] = ["true" if value else "false"]
        elif isinstance(value, list):
            params[name] = [str(item) for item in value]
        else:
            params[name] = [str(value)]
    return params


def _utc(moment):
    return None if moment is None else moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ExportJobSerializer(serializers.Serializer):
    """An ExportJob as its requester sees it."""

    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(FILE_KINDS))
    format = serializers.ChoiceField(choices=EXPORT_FORMATS)
    state = serializers.ChoiceField(choices=ExportJob.State.values, help_text="queued, running, done, failed or expired.")
    rows_done = serializers.IntegerField(help_text="Rows written so far.")
    rows_total = serializers.IntegerField(allow_null=True, help_text="Rows to write, once the job has started.")
    progress = serializers.FloatField(help_text="0 to 1.")
    file_name = serializers.CharField(allow_null=True, help_text="The download's file name, when done.")
    file_size = serializers.IntegerField(allow_null=True, help_text="Bytes, when done.")
    download_url = serializers.CharField(allow_null=True, help_text="Where the requester downloads the file, when done.")
    error = serializers.CharField(allow_null=True, help_text="Why it failed, when it did.")
    filters = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the file is deleted.")

    def to_representation(self, job):
        done = job.state == ExportJob.State.DONE
        return {
            "id": job.pk,
            "kind": job.kind,
            "format": job.file_format,
            "state": job.state,
            "rows_done": job.rows_done,
            "rows_total": job.rows_total,
            "progress": round(job.progress, 4),
            "file_name": job.download_name if done else None,
            "file_size": job.file_size if done else None,
            "download_url": reverse("console-export-file", args=[job.pk]) if done else None,
            "error": job.error or None,
            "filters": job.params,
            "created_at": _utc(job.created_at),
            "started_at": _utc(job.started_at),
            "finished_at": _utc(job.finished_at),
            "expires_at": _utc(job.expires_at),
        }


ExportJobEnvelope = enveloped("ExportJobEnvelope", ExportJobSerializer)
