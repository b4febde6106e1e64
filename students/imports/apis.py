"""Student import API: POST /v1/students/import (a dry run unless told otherwise) and
GET /v1/students/import/template. Both need USER_MANAGEMENT.can_edit."""
from types import SimpleNamespace

from django.http import HttpResponse
from django.utils.datastructures import MultiValueDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.views import APIView

from accounts.permissions import USER_MANAGEMENT_EDIT, HasPermission
from config.api import ok, validated
from config.http import declared_length
from config.openapi import error_response, error_responses
from config.serializers import enveloped
from config.spreadsheets import CSV, MEDIA_TYPES, XLSX, content_type
from students.imports import parsing, services
from students.imports.serializers import ImportReportSerializer, ImportTemplateQuerySerializer, StudentImportSerializer

IMPORT_DESCRIPTION = f"""Import students from a CSV (UTF-8, with or without a BOM; commas, or semicolons
or tabs when the header row has no comma) or XLSX file (its first sheet) whose
header row names the columns: {", ".join(parsing.COLUMNS)} (first_name, last_name and email are
required; the others may be left out). Each row is checked by the same rules as `POST /v1/students`.

**Dry run by default**: `dry_run` left out or true reports, row by row, what would be created,
updated, left unchanged or rejected and why, and changes nothing. `dry_run=false` applies the file
in one transaction, all or nothing: if any row is rejected nothing is written and the answer is a
400 naming each rejected row's fields as `rows[<row>].<column>`.

**Matching**: a row with a `user_id` is that student (an unknown user_id creates the student with
it); otherwise the student with its `student_number`, else with its `email` (case-insensitive);
else a new student. A row whose student number or email belongs to another student than the one
matched is rejected, as is a row repeating a user_id, student number or email of an earlier row,
or changing a student an earlier row changes. A column left out leaves its field as it is; an
empty cell clears student_number, cohort_id, advisor_id and programme_codes (codes separated by
commas or spaces) and leaves status as it is.

**Limits**: at most {parsing.MAX_BYTES // (1024 * 1024)} MB and {parsing.MAX_ROWS:,} rows. A file that
is not CSV or XLSX, is not UTF-8, has unknown, missing or repeated columns, or expands past the
limits is a 400 naming `file`. Text cells starting with =, +, -, @ or a tab, and XLSX cells holding
formulas, are rejected (the row, not the file). Every student created or updated gets its own audit
event (`student.create`, `student.update`, detail `import_row`)."""


class _ImportApi(APIView):
    permission_classes = [HasPermission.of(USER_MANAGEMENT_EDIT)]


class StudentImportApi(_ImportApi):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="students_import",
        summary="Import students from a CSV or XLSX file",
        description=IMPORT_DESCRIPTION,
        request={"multipart/form-data": StudentImportSerializer},
        responses={
            200: enveloped("StudentImportResponse", ImportReportSerializer()),
            **error_responses(
                bad_input=error_response(
                    "Bad input (VALIDATION_ERROR): a bad file (`errors.file`), or an apply refused because "
                    "rows are rejected (`errors[\"rows[<row>].<column>\"]`); nothing was written."
                ),
                conflict="Another writer took an email, student number or user_id meanwhile (CONFLICT); nothing was written.",
            ),
        },
    )
    def post(self, request):
        services.students_import_request_check(length=declared_length(request))
        # The form's fields and files side by side, shallow: request.data would be deep-copied
        # by the serializer, and an upload spooled to a temporary file cannot be copied.
        form = MultiValueDict({**dict(request.POST.lists()), **dict(request.FILES.lists())})
        body = validated(StudentImportSerializer, form)
        data = body["file"].read(parsing.MAX_BYTES + 1)
        report = services.students_import(data=data, dry_run=body["dry_run"])
        return ok(report.as_data())


class _FileFormatNegotiation(DefaultContentNegotiation):
    """Here `format` is the template's file format, not DRF's renderer override."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


_FILE = OpenApiResponse(OpenApiTypes.BINARY, description="The template: a header row (attachment students_import_template.csv or .xlsx).")


class StudentImportTemplateApi(_ImportApi):
    content_negotiation_class = _FileFormatNegotiation

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="students_import_template",
        summary="The import file's template",
        description="A CSV (UTF-8 with a BOM) or XLSX file holding the header row an import reads.",
        parameters=[ImportTemplateQuerySerializer],
        responses={
            (200, MEDIA_TYPES[CSV]): _FILE,
            (200, MEDIA_TYPES[XLSX]): _FILE,
            **{(status, "application/json"): response for status, response in error_responses().items()},
        },
    )
    def get(self, request):
        file_format = validated(ImportTemplateQuerySerializer, request.query_params)["format"]
        return template_response(file_format)


def template_response(file_format):
    response = HttpResponse(parsing.template_bytes(file_format), content_type=content_type(file_format))
    response["Content-Disposition"] = f'attachment; filename="students_import_template.{file_format}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
