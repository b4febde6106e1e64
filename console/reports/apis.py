"""GET /v1/console/reports/gradebook: the gradebook matrix of the console list as a file.

Same permission as the list export (USER_MANAGEMENT.can_export), same filters, same cap
(EXPORT_MAX_ROWS; beyond it the background export of console.exports)."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema

from accounts.audit.services import audit_record
from config.openapi import error_response, error_responses
from console.reports import exports
from console.reports.filters import gradebook_request
from console.reports.serializers import GradebookQuerySerializer
from console.students.apis import FileOfTheListApi
from console.students.exports import MEDIA_TYPES, MSG_EXPORT_LIMIT, check_within_cap

TAG = "Console: reports"

_FILE = OpenApiResponse(
    OpenApiTypes.BINARY, description="A file download (attachment): gradebook_{tenant_slug}_{YYYY-MM-DD}.csv or .xlsx."
)


class GradebookApi(FileOfTheListApi):
    """The gradebook: one row per student, four columns per case study."""

    @extend_schema(
        tags=[TAG],
        summary="Gradebook",
        operation_id="console_reports_gradebook",
        description=(
            "Requires USER_MANAGEMENT.can_export. The students of the console list (same filters and sort), "
            "one row each: Student Name, Email, Student Number, Programme, Last Seen; then per case study "
            "Attempts Used, Attempts Allowed, Best Score and Final Score under its grading method (SPEC §4, "
            "the student detail's rules). Cells of a case study neither assigned to the student nor attempted "
            "are empty. Text cells starting with =, +, -, @, tab or carriage return are prefixed with an "
            "apostrophe. XLSX: frozen header, numbers and date-times as such, `sheet_per_programme` for one "
            "sheet per programme. More students than the cap (50,000): 400 EXPORT_LIMIT_EXCEEDED, no file; "
            "POST /v1/console/exports runs it in the background."
        ),
        parameters=[GradebookQuerySerializer],
        responses={
            (200, MEDIA_TYPES["csv"]): _FILE,
            (200, MEDIA_TYPES["xlsx"]): _FILE,
            (400, "application/json"): error_response(
                "A bad parameter (VALIDATION_ERROR) or more rows than the cap (EXPORT_LIMIT_EXCEEDED).",
                code="EXPORT_LIMIT_EXCEEDED",
                message=MSG_EXPORT_LIMIT.format(limit=50_000),
            ),
            **{(status, "application/json"): response for status, response in error_responses().items() if status != 400},
        },
    )
    def get(self, request):
        options, filterset, case_studies = gradebook_request(request.query_params)
        cap = check_within_cap(filterset.qs)
        response = exports.gradebook_response(
            filterset,
            case_studies,
            file_format=options["format"],
            limit=cap,
            sheet_per_programme=options["sheet_per_programme"],
            tenant=request.tenant,
        )
        audit_record(
            action="reports.gradebook",
            target_type="student_list",
            target_id="gradebook",
            detail={"format": options["format"], "case_studies": [c.pk for c in case_studies],
                    "filters": {k: v for k, v in request.query_params.lists() if k != "format"}},
        )
        return response
