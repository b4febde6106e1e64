"""The console students API (SPEC §7.1, seed console-students-api.txt): list, export, detail.

Thin views: parameters are validated here (every bad one named in one 400); the list's
filters by their FilterSet, the view's `filterset_class`, which documents them too. Reads go
through students.listing.selectors and console.students.selectors; the export is the `list`
kind of console.list_files.
"""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView

from accounts.permissions import USER_MANAGEMENT_VIEW, HasPermission
from config.api import ok, paged, skip_limit_paging, validated_all
from config.errors import NOT_FOUND, AppError
from config.ids import is_valid_opaque_id
from config.openapi import error_response, error_responses
from config.replicas import LagTolerantReadsMixin
from console.list_files.apis import FileOfTheListApi, file_responses
from console.list_files.kinds import FILE_KINDS
from console.students.selectors import student_detail
from console.students.serializers import (
    MSG_BAD_USER_ID,
    SEED_DETAIL_EXAMPLE,
    SEED_LIST_EXAMPLE,
    ConsoleStudentDetailEnvelopeSerializer,
    ConsoleStudentDetailSerializer,
    ConsoleStudentHeaderSerializer,
    ConsoleStudentPageSerializer,
    ConsoleStudentRowSerializer,
    StudentDetailQuerySerializer,
    StudentExportFormatSerializer,
    StudentPageQuerySerializer,
)
from students.listing.filters import StudentListFilter
from students.listing.selectors import MSG_STUDENT_NOT_FOUND, student_list_filterset, student_list_page

TAG = "Console: students"

class ConsoleStudentListApi(LagTolerantReadsMixin, GenericAPIView):
    """List Students: one row per student with programmes, the number of case studies
    assigned through them, account status and last-seen activity."""

    permission_classes = [HasPermission.of(USER_MANAGEMENT_VIEW)]
    serializer_class = ConsoleStudentRowSerializer
    filterset_class = StudentListFilter  # validates and documents the filters

    @extend_schema(
        tags=[TAG],
        summary="List Students",
        operation_id="console_students_list",
        description="Requires USER_MANAGEMENT.can_view. Archived and deleted students are not listed.",
        parameters=[StudentPageQuerySerializer],  # and the filters: filterset_class
        responses={200: ConsoleStudentPageSerializer, **error_responses()},
        examples=[
            OpenApiExample(
                "Seed example",
                value=SEED_LIST_EXAMPLE,
                description="GET /v1/console/students?search=abdul&programme=MBA1234&status=active"
                "&sort_by=last_seen&sort_order=desc&limit=10",
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request):
        page, filters = validated_all(request.query_params, StudentPageQuerySerializer, check=student_list_filterset)
        # Queries: the total (or, with a narrowing filter, the page's keys with it), page rows, their programmes.
        skip, limit = page["skip"], page["limit"]
        rows, total = student_list_page(filters, skip=skip, limit=limit)
        return paged(ConsoleStudentRowSerializer(rows, many=True).data, **skip_limit_paging(total=total, skip=skip, limit=limit))


class ConsoleStudentExportApi(FileOfTheListApi):
    """Export Students: the current filtered and sorted list as a CSV or XLSX file."""

    kind = FILE_KINDS["list"]

    @extend_schema(
        tags=[TAG],
        summary="Export Students",
        operation_id="console_students_export",
        description=(
            "Requires USER_MANAGEMENT.can_export. Same filters, search and sort as List Students. "
            "File name `students_{tenant_slug}_{YYYY-MM-DD}.csv|xlsx` (date in the tenant's time zone). "
            "Columns: Student Name, Email, Programme, Status, Overall Case Studies, Last Seen. "
            "CSV is UTF-8 with a BOM and Last Seen in ISO 8601 (UTC); in XLSX Last Seen is a date-time "
            "cell in UTC. Text cells starting with =, +, -, @, tab or carriage return are prefixed "
            "with an apostrophe. Hard cap of 50,000 rows per export: if exceeded, narrow your filters "
            "(400 EXPORT_LIMIT_EXCEEDED, no file) or run it in the background with POST /v1/console/exports.\n\n"
            "Seed example: `GET /v1/console/students/export?format=xlsx&programme=MBA1234`."
        ),
        parameters=[StudentExportFormatSerializer],  # and the filters: filterset_class
        responses=file_responses(kind),
    )
    def get(self, request):
        return super().get(request)


class ConsoleStudentDetailApi(GenericAPIView):
    """Get Student Details: identity, programmes, status, last seen and, unless disabled, one
    card per attempted case study with its attempts."""

    permission_classes = [HasPermission.of(USER_MANAGEMENT_VIEW)]
    serializer_class = ConsoleStudentDetailSerializer

    @extend_schema(
        tags=[TAG],
        summary="Get Student Details",
        operation_id="console_students_retrieve",
        description="Requires USER_MANAGEMENT.can_view. Archived students have a detail; deleted ones do not.",
        parameters=[
            OpenApiParameter("user_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The student's user ID."),
            StudentDetailQuerySerializer,
        ],
        responses={
            200: ConsoleStudentDetailEnvelopeSerializer,
            **error_responses(
                not_found=error_response(MSG_STUDENT_NOT_FOUND, code=NOT_FOUND, message=MSG_STUDENT_NOT_FOUND, status=404)
            ),
        },
        examples=[
            OpenApiExample(
                "Seed example",
                value=SEED_DETAIL_EXAMPLE,
                description="GET /v1/console/students/6650a1b2c3d4e5f6a7b8c9d0",
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request, user_id):
        if not is_valid_opaque_id(user_id):
            raise AppError.validation({"user_id": MSG_BAD_USER_ID})
        query = validated_all(request.query_params, StudentDetailQuerySerializer)
        include = query["include_case_studies"]
        detail = student_detail(user_id=user_id, include_case_studies=include)
        serializer_class = ConsoleStudentDetailSerializer if include else ConsoleStudentHeaderSerializer
        return ok(serializer_class(detail).data)

