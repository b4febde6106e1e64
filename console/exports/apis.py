"""The background export API: POST /v1/console/exports queues a job (202), GET …/{id} tells
its state and progress, GET …/{id}/file downloads the file. Same permission as the
synchronous export (USER_MANAGEMENT.can_export); a job is its requester's alone: another
staff member gets 404, as for an id that names nothing."""
from django.http import FileResponse, QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from accounts.permissions import USER_MANAGEMENT_EXPORT, HasPermission
from config.api import ok, validated
from config.errors import CONFLICT, NOT_FOUND, AppError
from config.openapi import error_response, error_responses
from config.spreadsheets import CSV, MEDIA_TYPES, XLSX
from console.exports import services
from console.exports.models import ExportJob
from console.exports.selectors import MSG_EXPORT_NOT_FOUND, access_export_job
from console.exports.serializers import ExportJobEnvelope, ExportJobRequestSerializer, ExportJobSerializer, as_query

TAG = "Console: background exports"
MSG_NOT_READY = "The export is not ready yet; its state says how far it has got."
MSG_EXPIRED = "This export's file has expired; run the export again."
MSG_FAILED_HAS_NO_FILE = "This export failed, so it has no file; run it again."

_JOB_ID = OpenApiParameter("job_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The export's id.")
_NOT_FOUND = error_response(MSG_EXPORT_NOT_FOUND, code=NOT_FOUND, message=MSG_EXPORT_NOT_FOUND, status=404)


class ExportJobListApi(APIView):
    permission_classes = [HasPermission.of(USER_MANAGEMENT_EXPORT)]

    @extend_schema(
        tags=[TAG],
        summary="Queue a background export",
        operation_id="console_exports_create",
        description=(
            "Requires USER_MANAGEMENT.can_export. The students list (`kind` list, the export's columns) or the "
            "gradebook (`kind` gradebook), as CSV or XLSX, with the list's filters, without the synchronous "
            "export's cap. The filters are checked now (400 naming each bad one); the job is then queued (202) "
            "and run by a worker. Poll GET /v1/console/exports/{id}; when `state` is done, `download_url` "
            "gives the file, for the requester only, until `expires_at`."
        ),
        request=ExportJobRequestSerializer,
        responses={202: ExportJobEnvelope, **error_responses()},
    )
    def post(self, request):
        body = validated(ExportJobRequestSerializer, request.data)
        params = QueryDict(mutable=True)
        for name, values in as_query(request.data).items():
            params.setlist(name, values)
        job = services.export_job_queue(user=request.user, kind=body["kind"], file_format=body["format"], params=params)
        data = ExportJobSerializer(job).data
        return ok(data, status=202, headers={"Location": f"/v1/console/exports/{job.pk}"})


class ExportJobDetailApi(APIView):
    permission_classes = [HasPermission.of(USER_MANAGEMENT_EXPORT)]

    @extend_schema(
        tags=[TAG],
        summary="A background export's state",
        operation_id="console_exports_retrieve",
        description="Requires USER_MANAGEMENT.can_export; the requester's own exports only (another's: 404).",
        parameters=[_JOB_ID],
        responses={200: ExportJobEnvelope, **error_responses(not_found=_NOT_FOUND)},
    )
    def get(self, request, job_id):
        return ok(ExportJobSerializer(access_export_job(job_id=job_id, user=request.user)).data)


_FILE = OpenApiResponse(OpenApiTypes.BINARY, description="The export's file (attachment).")


class ExportJobFileApi(APIView):
    permission_classes = [HasPermission.of(USER_MANAGEMENT_EXPORT)]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=[TAG],
        summary="Download a background export",
        operation_id="console_exports_file",
        description=(
            "Requires USER_MANAGEMENT.can_export; the requester's own exports only (another's: 404). "
            "409 CONFLICT while the job is queued or running, or when it failed; 404 once the file has expired. "
            "Each download is audited."
        ),
        parameters=[_JOB_ID],
        responses={
            (200, MEDIA_TYPES[CSV]): _FILE,
            (200, MEDIA_TYPES[XLSX]): _FILE,
            **{(status, "application/json"): response for status, response in error_responses(
                not_found=_NOT_FOUND,
                conflict=error_response(MSG_NOT_READY, code=CONFLICT, message=MSG_NOT_READY, status=409),
            ).items()},
        },
    )
    def get(self, request, job_id):
        job = access_export_job(job_id=job_id, user=request.user)
        if job.state == ExportJob.State.EXPIRED:
            raise AppError.not_found(MSG_EXPIRED)
        if job.state == ExportJob.State.FAILED:
            raise AppError(MSG_FAILED_HAS_NO_FILE, code=CONFLICT, status_code=409)
        if job.state != ExportJob.State.DONE:
            raise AppError(MSG_NOT_READY, code=CONFLICT, status_code=409)
        handle = services.export_job_open(job)
        services.export_job_download_audit(job)
        response = FileResponse(handle, as_attachment=True, filename=job.download_name,
                                content_type=MEDIA_TYPES[job.file_format])
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
