"""Students' data rights: `GET /v1/students/{user_id}/data-export` and `POST
/v1/students/{user_id}/erase`, for staff holding DATA_RIGHTS.can_manage (admins)."""
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from accounts.permissions import DATA_RIGHTS_MANAGE, HasPermission
from attempts.data_rights import services
from attempts.data_rights.archive import MEDIA_TYPE
from attempts.data_rights.serializers import ErasureSerializer, StudentEraseSerializer
from config.api import ok, validated
from config.errors import ALREADY_ERASED, LEGAL_HOLD
from config.openapi import error_response, error_responses
from config.serializers import enveloped
from students.records.services import MSG_ALREADY_ERASED, MSG_LEGAL_HOLD

TAG = "students"


class _DataRightsApi(APIView):
    permission_classes = [HasPermission.of(DATA_RIGHTS_MANAGE)]


class StudentDataExportApi(_DataRightsApi):
    def perform_content_negotiation(self, request, force=False):
        # The file ignores Accept (a client may send application/zip); errors are JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=[TAG],
        operation_id="students_data_export",
        summary="Everything held about a student, as a ZIP",
        description=(
            "A ZIP: `student.json` (the record, programmes, sessions with transcripts and grade reports, "
            "grants, group memberships and the audit events about the student; ISO 8601 times in UTC), "
            "`summary.txt` (the same for people) and `avatar.<ext>` when there is a photo. "
            "Requires DATA_RIGHTS.can_manage; audited as `student.data_export`."
        ),
        responses={
            (200, MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="An attachment: student_data_{tenant_slug}_{user_id}_{YYYY-MM-DD}.zip."
            ),
            **{(status, "application/json"): response for status, response in error_responses(
                not_found="No student with this id on this tenant (NOT_FOUND)."
            ).items()},
        },
    )
    def get(self, request, user_id):
        export = services.student_data_export(user_id=user_id, tenant=request.tenant)
        response = FileResponse(export.file, as_attachment=True, filename=export.file_name, content_type=MEDIA_TYPE)
        response["Content-Length"] = str(export.size)
        response["Cache-Control"] = "no-store"  # personal data
        response["X-Content-Type-Options"] = "nosniff"
        return response


ERASE_REFUSED = error_response(
    f"Refused, nothing changed: the student is under a legal hold ({LEGAL_HOLD}) or already erased ({ALREADY_ERASED}).",
    code=LEGAL_HOLD, message=MSG_LEGAL_HOLD, status=409,
)


class StudentEraseApi(_DataRightsApi):
    @extend_schema(
        tags=[TAG],
        operation_id="students_erase",
        summary="Erase a student's personal data",
        description=(
            "Names, email and student number become a pseudonym, the photo is deleted, transcripts' text, "
            "grade feedback and grants' reasons are emptied, and the values of these fields in earlier audit "
            "and change-feed events become \"[erased]\"; scores, attempt counts, programmes, groups and "
            "every figure made of them stay. One transaction; audited as `student.erase` with the reason, "
            "and a `student.erased` event. "
            f"409 {LEGAL_HOLD} while the student is under a legal hold, 409 {ALREADY_ERASED} "
            f"(\"{MSG_ALREADY_ERASED}\") the second time. Requires DATA_RIGHTS.can_manage."
        ),
        request=StudentEraseSerializer,
        responses={
            200: enveloped("ErasureResponse", ErasureSerializer()),
            **error_responses(not_found="No student with this id on this tenant (NOT_FOUND).", conflict=ERASE_REFUSED),
        },
    )
    def post(self, request, user_id):
        body = validated(StudentEraseSerializer, request.data)
        erasure = services.student_erase(user_id=user_id, **body)
        return ok(ErasureSerializer(erasure, context={"request": request}).data)
