"""Student clusters and groups (SPEC §7.6, seed student-groups-api.txt).

Reads need USER_MANAGEMENT.can_view; writes need CATALOG.can_edit (SPEC §5). A group's PUT,
like its PATCH, updates only the fields sent, as the seed's PUT example sends just a name; a
cluster's PUT takes its whole record, which is just that name.
"""
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from accounts.permissions import CATALOG_EDIT, USER_MANAGEMENT_VIEW, ReadWritePermission
from config.api import ok, page_of, paged, validated
from config.bulk import MAX_BULK_IDS
from config.ids import check_id
from config.openapi import error_responses
from students.groups import selectors, services
from students.groups.serializers import (
    ClusterEnvelope,
    ClusterPageEnvelope,
    ClusterSerializer,
    ClusterWriteSerializer,
    GroupEnvelope,
    GroupListQuerySerializer,
    GroupPageEnvelope,
    GroupSerializer,
    GroupsPageQuery,
    GroupWriteSerializer,
    MemberPageEnvelope,
    MembersAddedEnvelope,
    MembersBulkAddedEnvelope,
    MembersBulkRemovedEnvelope,
    MemberSerializer,
    MembersRemovedEnvelope,
    MembersSerializer,
)
from students.records.serializers import StudentsBulkSerializer

TAG_CLUSTERS = "Student clusters"
TAG_GROUPS = "Student groups"

MSG_RECORD_DELETED = "Deleted."

def responses(success, *, not_found=False, conflict=False):
    return {
        **success,
        **error_responses(
            not_found="No such record on this tenant." if not_found else None,
            conflict="The record's state forbids this." if conflict else None,
        ),
    }


def path_id(value):
    return check_id(value, field="id")


class GroupsApi(APIView):
    permission_classes = [ReadWritePermission.of(read=USER_MANAGEMENT_VIEW, write=CATALOG_EDIT)]


# Clusters ---------------------------------------------------------------------------------


class ClusterListApi(GroupsApi):
    @extend_schema(
        tags=[TAG_CLUSTERS],
        summary="List student clusters",
        operation_id="student_clusters_list",
        parameters=[GroupsPageQuery],
        responses=responses({200: ClusterPageEnvelope}),
    )
    def get(self, request):
        params = validated(GroupsPageQuery, request.query_params)
        rows, paging = page_of(selectors.student_cluster_list(), page=params["page"], per_page=params["per_page"])
        return paged(ClusterSerializer(rows, many=True).data, **paging)

    @extend_schema(
        tags=[TAG_CLUSTERS],
        summary="Create a student cluster",
        request=ClusterWriteSerializer,
        responses=responses({201: ClusterEnvelope}),
    )
    def post(self, request):
        body = validated(ClusterWriteSerializer, request.data)
        cluster = services.student_cluster_create(name=body["name"])
        cluster = selectors.student_cluster_get(cluster_id=cluster.pk)
        return ok(ClusterSerializer(cluster).data, status=201)


class ClusterDetailApi(GroupsApi):
    @extend_schema(
        tags=[TAG_CLUSTERS], summary="Retrieve a student cluster", responses=responses({200: ClusterEnvelope}, not_found=True)
    )
    def get(self, request, cluster_id):
        cluster = selectors.student_cluster_get(cluster_id=path_id(cluster_id))
        return ok(ClusterSerializer(cluster).data)

    def _update(self, request, cluster_id, *, partial):
        body = validated(ClusterWriteSerializer, request.data, partial=partial)
        cluster = services.student_cluster_update(cluster_id=path_id(cluster_id), name=body.get("name"))
        return ok(ClusterSerializer(selectors.student_cluster_get(cluster_id=cluster.pk)).data)

    @extend_schema(
        tags=[TAG_CLUSTERS],
        summary="Update a student cluster",
        description="The whole record: its name is required.",
        request=ClusterWriteSerializer,
        responses=responses({200: ClusterEnvelope}, not_found=True),
    )
    def put(self, request, cluster_id):
        return self._update(request, cluster_id, partial=False)

    @extend_schema(
        tags=[TAG_CLUSTERS],
        summary="Partly update a student cluster",
        request=ClusterWriteSerializer,
        responses=responses({200: ClusterEnvelope}, not_found=True),
    )
    def patch(self, request, cluster_id):
        return self._update(request, cluster_id, partial=True)

    @extend_schema(
        tags=[TAG_CLUSTERS],
        summary="Delete an empty student cluster",
        description="A cluster that still has groups is not deleted (409).",
        responses=responses({200: OpenApiResponse(description="Deleted; data is null.")}, not_found=True, conflict=True),
    )
    def delete(self, request, cluster_id):
        services.student_cluster_delete(cluster_id=path_id(cluster_id))
        return ok(None, message=MSG_RECORD_DELETED)


# Groups -----------------------------------------------------------------------------------


class GroupListApi(GroupsApi):
    @extend_schema(
        tags=[TAG_GROUPS],
        summary="List student groups",
        operation_id="student_groups_list",
        description="All groups of this tenant by name (the seed's GET without an id), paged.",
        parameters=[GroupListQuerySerializer],
        responses=responses({200: GroupPageEnvelope}),
    )
    def get(self, request):
        params = validated(GroupListQuerySerializer, request.query_params)
        queryset = selectors.student_group_list(cluster_id=params.get("student_cluster_id"))
        rows, paging = page_of(queryset, page=params["page"], per_page=params["per_page"])
        return paged(GroupSerializer(rows, many=True).data, **paging)

    @extend_schema(
        tags=[TAG_GROUPS],
        summary="Create a student group",
        request=GroupWriteSerializer,
        responses=responses({201: GroupEnvelope}),
    )
    def post(self, request):
        body = validated(GroupWriteSerializer, request.data)
        group = services.student_group_create(name=body["name"], student_cluster_id=body["student_cluster_id"])
        return ok(GroupSerializer(selectors.student_group_get(group_id=group.pk)).data, status=201)


class GroupDetailApi(GroupsApi):
    @extend_schema(
        tags=[TAG_GROUPS], summary="Retrieve a student group", responses=responses({200: GroupEnvelope}, not_found=True)
    )
    def get(self, request, group_id):
        group = selectors.student_group_get(group_id=path_id(group_id))
        return ok(GroupSerializer(group).data)

    def _update(self, request, group_id):
        body = validated(GroupWriteSerializer, request.data, partial=True)
        group = services.student_group_update(
            group_id=path_id(group_id), name=body.get("name"), student_cluster_id=body.get("student_cluster_id")
        )
        return ok(GroupSerializer(selectors.student_group_get(group_id=group.pk)).data)

    @extend_schema(
        tags=[TAG_GROUPS],
        summary="Update a student group",
        description="Updates only the fields sent, as PATCH does (the seed's PUT sends just a name).",
        request=GroupWriteSerializer(partial=True),
        responses=responses({200: GroupEnvelope}, not_found=True),
    )
    def put(self, request, group_id):
        return self._update(request, group_id)

    @extend_schema(
        tags=[TAG_GROUPS],
        summary="Partly update a student group",
        request=GroupWriteSerializer,
        responses=responses({200: GroupEnvelope}, not_found=True),
    )
    def patch(self, request, group_id):
        return self._update(request, group_id)

    @extend_schema(
        tags=[TAG_GROUPS],
        summary="Delete a student group",
        description="The students stay; only their memberships of this group go.",
        responses=responses({200: OpenApiResponse(description="Deleted; data is null.")}, not_found=True),
    )
    def delete(self, request, group_id):
        services.student_group_delete(group_id=path_id(group_id))
        return ok(None, message=MSG_RECORD_DELETED)


class _DeleteWithBodySchema(AutoSchema):
    """DELETE …/members carries {"user_ids": [...]} (SPEC §7.6); drf-spectacular documents
    request bodies only for POST, PUT and PATCH unless told otherwise."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class GroupMembersApi(GroupsApi):
    schema = _DeleteWithBodySchema()

    @extend_schema(
        tags=[TAG_GROUPS],
        summary="List a group's members",
        operation_id="student_groups_members_list",
        description="Archived and deleted students are not listed. Ordered by name.",
        parameters=[GroupsPageQuery],
        responses=responses({200: MemberPageEnvelope}, not_found=True),
    )
    def get(self, request, group_id):
        group = selectors.student_group_get(group_id=path_id(group_id))
        params = validated(GroupsPageQuery, request.query_params)
        rows, paging = page_of(selectors.student_group_members(group=group), page=params["page"], per_page=params["per_page"])
        return paged(MemberSerializer(rows, many=True).data, **paging)

    @extend_schema(
        tags=[TAG_GROUPS],
        summary="Add students to a group",
        description=(
            "Adds 1–1000 students. Unknown or deleted ids, and archived students, are a 400 naming "
            "them, and nothing changes. Students who are already members are left as they are."
        ),
        request=MembersSerializer,
        responses=responses({200: MembersAddedEnvelope}, not_found=True),
    )
    def post(self, request, group_id):
        body = validated(MembersSerializer, request.data)
        group = path_id(group_id)
        outcome = services.student_group_members_add(group_id=group, user_ids=body["user_ids"])
        return ok({"group": GroupSerializer(selectors.student_group_get(group_id=group)).data, **outcome})

    @extend_schema(
        tags=[TAG_GROUPS],
        summary="Remove students from a group",
        description=(
            "Removes 1–1000 students (an archived student's remembered membership too, so unarchiving "
            "does not bring them back). Unknown or deleted ids are a 400 naming them, and nothing changes."
        ),
        request=MembersSerializer,
        responses=responses({200: MembersRemovedEnvelope}, not_found=True),
    )
    def delete(self, request, group_id):
        body = validated(MembersSerializer, request.data)
        group = path_id(group_id)
        outcome = services.student_group_members_remove(group_id=group, user_ids=body["user_ids"])
        return ok({"group": GroupSerializer(selectors.student_group_get(group_id=group)).data, **outcome})


BULK_DESCRIPTION = (
    f"Up to {MAX_BULK_IDS} students, all or nothing: when any id is malformed, unknown or deleted{{archived}}, "
    "nothing changes and the 400 names each one as `user_ids[<index>]`. The answer lists each student's "
    "outcome; each student changed gets its own audit event. Requires CATALOG.can_edit."
)


class GroupMembersBulkAddApi(GroupsApi):
    @extend_schema(
        tags=[TAG_GROUPS],
        summary="Add a list of students to a group, all or nothing",
        operation_id="student_groups_members_bulk_add",
        description=BULK_DESCRIPTION.format(archived=", or archived"),
        request=StudentsBulkSerializer,
        responses=responses({200: MembersBulkAddedEnvelope}, not_found=True),
    )
    def post(self, request, group_id):
        group_id = path_id(group_id)
        body = validated(StudentsBulkSerializer, request.data)
        _, outcome = services.student_group_members_add_bulk(group_id=group_id, user_ids=body["user_ids"])
        return ok({"group": GroupSerializer(selectors.student_group_get(group_id=group_id)).data, **outcome})


class GroupMembersBulkRemoveApi(GroupsApi):
    @extend_schema(
        tags=[TAG_GROUPS],
        summary="Remove a list of students from a group, all or nothing",
        operation_id="student_groups_members_bulk_remove",
        description=BULK_DESCRIPTION.format(archived=""),
        request=StudentsBulkSerializer,
        responses=responses({200: MembersBulkRemovedEnvelope}, not_found=True),
    )
    def post(self, request, group_id):
        group_id = path_id(group_id)
        body = validated(StudentsBulkSerializer, request.data)
        _, outcome = services.student_group_members_remove_bulk(group_id=group_id, user_ids=body["user_ids"])
        return ok({"group": GroupSerializer(selectors.student_group_get(group_id=group_id)).data, **outcome})
