"""Student records API (ManageBac parity, SPEC §7.5): thin views over
students.records.selectors (reads) and students.records.services (writes), which find the
student, check the rules and return the record ready to show."""
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.views import APIView

from accounts.permissions import (
    DATA_RIGHTS_MANAGE,
    USER_MANAGEMENT_EDIT,
    USER_MANAGEMENT_VIEW,
    ReadWritePermission,
    has_permission,
)
from config.api import ok, page_of, paged, validated
from config.http import declared_length
from config.openapi import error_response
from config.serializers import enveloped
from students.records import services
from students.records.filters import StudentRecordFilter
from students.records.selectors import student_record_get, student_records_list
from students.records.serializers import (
    RecordsPageQuery,
    StudentArchiveSerializer,
    StudentAvatarSerializer,
    StudentCreateSerializer,
    StudentRecordSerializer,
    StudentsBulkArchiveSerializer,
    StudentsBulkSerializer,
    StudentTombstoneSerializer,
    StudentUpdateSerializer,
)

RECORD_TAKEN = error_response("Another student has this email, student number or user_id (CONFLICT).")

RECORD_RESPONSE = enveloped("StudentRecordResponse", StudentRecordSerializer())
# With deleted_since the list holds tombstones instead of records.
LIST_RESPONSE = enveloped(
    "StudentRecordListResponse",
    serializers.ListField(
        child=PolymorphicProxySerializer(
            component_name="StudentRecordOrTombstone",
            serializers=[StudentRecordSerializer, StudentTombstoneSerializer],
            resource_type_field_name=None,
        )
    ),
    paged=True,
)


class _StudentRecordApi(APIView):
    permission_classes = [ReadWritePermission.of(read=USER_MANAGEMENT_VIEW, write=USER_MANAGEMENT_EDIT)]

    def record(self, student):
        return StudentRecordSerializer(student, context={"request": self.request}).data


class StudentListApi(_StudentRecordApi):
    filterset_class = StudentRecordFilter  # validates and documents the filters

    @extend_schema(
        operation_id="students_list",
        parameters=[RecordsPageQuery],  # and the filters: filterset_class
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
        if "legal_hold" in body and not has_permission(request.user, DATA_RIGHTS_MANAGE):
            raise PermissionDenied()
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


class _BulkResultSerializer(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.CharField(), help_text="The students changed, in first-seen order.")


BULK_RESPONSE = enveloped("StudentsBulkResult", _BulkResultSerializer)
BULK_DESCRIPTION = (
    "All or nothing: when any id is malformed, unknown, deleted or in the wrong state, nothing "
    "changes and the 400 names each one as `user_ids[<index>]`. Each student changed gets its own "
    "audit event. Requires USER_MANAGEMENT.can_edit."
)


class StudentsBulkArchiveApi(_StudentRecordApi):
    @extend_schema(
        operation_id="students_bulk_archive", request=StudentsBulkArchiveSerializer, responses={200: BULK_RESPONSE},
        summary="Archive several students", description=BULK_DESCRIPTION,
    )
    def post(self, request):
        body = validated(StudentsBulkArchiveSerializer, request.data)
        return ok({"user_ids": services.students_archive_bulk(**body)})


class StudentsBulkUnarchiveApi(_StudentRecordApi):
    @extend_schema(
        operation_id="students_bulk_unarchive", request=StudentsBulkSerializer, responses={200: BULK_RESPONSE},
        summary="Unarchive several students", description=BULK_DESCRIPTION,
    )
    def post(self, request):
        body = validated(StudentsBulkSerializer, request.data)
        return ok({"user_ids": services.students_unarchive_bulk(**body)})


class StudentAvatarApi(_StudentRecordApi):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="students_avatar_update",
        request={"multipart/form-data": StudentAvatarSerializer},
        responses={200: RECORD_RESPONSE},
    )
    def put(self, request, user_id):
        services.avatar_request_size_check(declared_length(request))
        student = services.student_avatar_set(user_id=user_id, upload=request.FILES.get("avatar"))
        return ok(self.record(student))

    @extend_schema(operation_id="students_avatar_destroy", request=None, responses={200: RECORD_RESPONSE})
    def delete(self, request, user_id):
        student = services.student_avatar_clear(user_id=user_id)
        return ok(self.record(student))
