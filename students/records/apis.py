"""Student records API (ManageBac parity, SPEC §7.5): thin views over
students.records.selectors (reads) and students.records.services (writes), which find the
student, check the rules and return the record ready to show."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.views import APIView

from accounts.permissions import (
    USER_MANAGEMENT_EDIT,
    USER_MANAGEMENT_VIEW,
    ReadWritePermission,
)
from config.api import ok, page_of, paged, validated
from config.errors import AppError
from config.openapi import error_response
from config.serializers import enveloped
from students.records import services
from students.records.selectors import student_record_get, student_records_list
from students.records.serializers import (
    RecordsPageQuery,
    StudentArchiveSerializer,
    StudentAvatarSerializer,
    StudentCreateSerializer,
    StudentRecordSerializer,
    StudentTombstoneSerializer,
    StudentUpdateSerializer,
)

RECORD_TAKEN = error_response("Another student has this email, student number or user_id (CONFLICT).")

# An avatar request may carry at most this much (the 2 MB image plus multipart framing);
# anything bigger is refused before the body is read.
AVATAR_REQUEST_MAX_BYTES = services.AVATAR_MAX_BYTES + 64 * 1024

RECORD_RESPONSE = enveloped("StudentRecordResponse", StudentRecordSerializer())
LIST_RESPONSE = enveloped(
    "StudentRecordListResponse",
    serializers.ListField(child=StudentRecordSerializer()),
    paged=True,
)
_ids_param = OpenApiParameter(
    "ids[]", OpenApiTypes.STR, many=True, description="Only these user_ids (repeat, or separate with commas)."
)
LIST_PARAMETERS = [
    _ids_param,
    OpenApiParameter("archived", OpenApiTypes.STR, enum=["0", "1"], description="1: only archived; 0: only not archived."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=["enrolled", "withdrawn", "graduated"], description="Enrollment status."),
    OpenApiParameter("modified_since", OpenApiTypes.DATETIME, description="Records created or changed at or after this time (ISO 8601)."),
    OpenApiParameter(
        "deleted_since",
        OpenApiTypes.DATETIME,
        description="Instead of records: tombstones {user_id, deleted_at} of students deleted at or after this time.",
    ),
    OpenApiParameter("cohort_ids[]", OpenApiTypes.STR, many=True, description="Cohort (year group) ids."),
    OpenApiParameter("advisor_ids[]", OpenApiTypes.INT, many=True, description="Advisor (staff user) ids."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Substring of first name, last name, email or student number."),
    OpenApiParameter("page", OpenApiTypes.INT, description="1-based page number (default 1)."),
    OpenApiParameter("per_page", OpenApiTypes.INT, description="Records per page, 1-500 (default 50)."),
]


class _StudentRecordApi(APIView):
    permission_classes = [ReadWritePermission.of(read=USER_MANAGEMENT_VIEW, write=USER_MANAGEMENT_EDIT)]

    def record(self, student):
        return StudentRecordSerializer(student, context={"request": self.request}).data


class StudentListApi(_StudentRecordApi):
    @extend_schema(
        operation_id="students_list",
        parameters=LIST_PARAMETERS,
        responses={200: LIST_RESPONSE},
        description="Student records, ordered by user_id; with deleted_since, tombstones ordered by deletion time.",
    )
    def get(self, request):
        query = validated(RecordsPageQuery, request.query_params)
        qs, tombstones = student_records_list(query_params=request.query_params)
        # Queries: count; the page (with cohort and advisor joined); programmes of the page.
        rows, paging = page_of(qs, page=query["page"], per_page=query["per_page"])
        if tombstones:
            data = StudentTombstoneSerializer(rows, many=True).data
        else:
            data = StudentRecordSerializer(rows, many=True, context={"request": request}).data
        return paged(data, **paging)

    @extend_schema(
        operation_id="students_create",
        request=StudentCreateSerializer,
        responses={201: RECORD_RESPONSE, 409: RECORD_TAKEN},
    )
    def post(self, request):
        body = validated(StudentCreateSerializer, request.data)
        student = services.student_create(**body)
        return ok(self.record(student), status=201)


class StudentDetailApi(_StudentRecordApi):
    @extend_schema(operation_id="students_retrieve", responses={200: RECORD_RESPONSE})
    def get(self, request, user_id):
        return ok(self.record(student_record_get(user_id=user_id)))

    @extend_schema(operation_id="students_partial_update", request=StudentUpdateSerializer, responses={200: RECORD_RESPONSE, 409: RECORD_TAKEN})
    def patch(self, request, user_id):
        body = validated(StudentUpdateSerializer, request.data)
        student = services.student_update(user_id=user_id, **body)
        return ok(self.record(student))

    @extend_schema(
        operation_id="students_destroy",
        responses={200: enveloped("StudentTombstoneResponse", StudentTombstoneSerializer())},
        description="Soft delete: the record leaves normal reads and appears in deleted_since.",
    )
    def delete(self, request, user_id):
        student = services.student_delete(user_id=user_id)
        return ok(StudentTombstoneSerializer(student).data)


class StudentArchiveApi(_StudentRecordApi):
    @extend_schema(operation_id="students_archive", request=StudentArchiveSerializer, responses={200: RECORD_RESPONSE})
    def put(self, request, user_id):
        body = validated(StudentArchiveSerializer, request.data)
        student = services.student_archive(user_id=user_id, **body)
        return ok(self.record(student))


class StudentUnarchiveApi(_StudentRecordApi):
    @extend_schema(operation_id="students_unarchive", request=None, responses={200: RECORD_RESPONSE})
    def put(self, request, user_id):
        student = services.student_unarchive(user_id=user_id)
        return ok(self.record(student))


class StudentAvatarApi(_StudentRecordApi):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="students_avatar_update",
        request={"multipart/form-data": StudentAvatarSerializer},
        responses={200: RECORD_RESPONSE},
    )
    def put(self, request, user_id):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > AVATAR_REQUEST_MAX_BYTES:
            raise AppError.validation({"avatar": services.MSG_AVATAR_TOO_LARGE})
        student = services.student_avatar_set(user_id=user_id, upload=request.FILES.get("avatar"))
        return ok(self.record(student))

    @extend_schema(operation_id="students_avatar_destroy", request=None, responses={200: RECORD_RESPONSE})
    def delete(self, request, user_id):
        student = services.student_avatar_clear(user_id=user_id)
        return ok(self.record(student))
