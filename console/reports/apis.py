"""GET /v1/console/reports/gradebook: the gradebook matrix of the console list as a file (the
`gradebook` kind of console.list_files).

Same permission as the list export (USER_MANAGEMENT.can_export), same filters, same cap
(EXPORT_MAX_ROWS; beyond it the background export of console.exports)."""
from drf_spectacular.utils import extend_schema

from console.list_files.apis import FileOfTheListApi, file_responses
from console.list_files.kinds import FILE_KINDS
from console.reports.serializers import GradebookOptionsSerializer

TAG = "Console: reports"


class GradebookApi(FileOfTheListApi):
    """The gradebook: one row per student, four columns per case study."""

    kind = FILE_KINDS["gradebook"]

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
        parameters=[GradebookOptionsSerializer],  # and the list's filters: its filterset_class
        responses=file_responses(kind),
    )
    def get(self, request):
        return super().get(request)
