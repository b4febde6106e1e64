"""Request and response shapes for student clusters and groups (seed student-groups-api.txt)."""
from rest_framework import serializers

from config.serializers import OpaqueIdField, StrictSerializer, enveloped, page_query

NAME_MAX_LENGTH = 254  # "under 255 characters" (seed)
MEMBERS_MAX = 1000
PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 100



GroupsPageQuery = page_query(
    per_page_default=PER_PAGE_DEFAULT,
    per_page_max=PER_PAGE_MAX,
    page_help="1-based page number.",
    per_page_help="Rows per page (1–100).",
)


class GroupListQuerySerializer(GroupsPageQuery):
    student_cluster_id = OpaqueIdField(required=False, help_text="Only the groups of this cluster.")


class ClusterWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, help_text="Under 255 characters; not blank.")


class GroupWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, help_text="Under 255 characters; not blank.")
    student_cluster_id = OpaqueIdField(help_text="An existing student cluster.")


class MembersSerializer(StrictSerializer):
    user_ids = serializers.ListField(
        child=OpaqueIdField(),
        min_length=1,
        max_length=MEMBERS_MAX,
        help_text="1–1000 student user_ids; repeats are ignored.",
    )

    def validate_user_ids(self, value):
        return list(dict.fromkeys(value))


# Responses --------------------------------------------------------------------------------


class ClusterSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    group_count = serializers.IntegerField(help_text="Groups in this cluster.")


class GroupSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    student_cluster_id = serializers.CharField(source="cluster_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    member_count = serializers.IntegerField(help_text="Members, not counting archived or deleted students.")


class MemberSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    student_name = serializers.CharField()
    email = serializers.EmailField()
    status = serializers.CharField()
    added_at = serializers.DateTimeField()


class MembersAddedSerializer(serializers.Serializer):
    group = GroupSerializer()
    added = serializers.IntegerField(help_text="Students who were not members before.")
    already_members = serializers.IntegerField(help_text="Students who were already members (left as they were).")


class MembersRemovedSerializer(serializers.Serializer):
    group = GroupSerializer()
    removed = serializers.IntegerField()
    not_members = serializers.IntegerField(help_text="Students who were not members (nothing to do).")


class MembersBulkAddedSerializer(serializers.Serializer):
    group = GroupSerializer()
    added = serializers.ListField(child=serializers.CharField(), help_text="Students added, in first-seen order.")
    already_members = serializers.ListField(child=serializers.CharField(), help_text="Students left as they were.")


class MembersBulkRemovedSerializer(serializers.Serializer):
    group = GroupSerializer()
    removed = serializers.ListField(child=serializers.CharField(), help_text="Students removed, in first-seen order.")
    not_members = serializers.ListField(child=serializers.CharField(), help_text="Students who were not members.")


# Envelopes (for the OpenAPI schema) -------------------------------------------------------


ClusterEnvelope = enveloped("StudentClusterEnvelope", ClusterSerializer)
ClusterPageEnvelope = enveloped("StudentClusterPage", ClusterSerializer, many=True, paged=True)
GroupEnvelope = enveloped("StudentGroupEnvelope", GroupSerializer)
GroupPageEnvelope = enveloped("StudentGroupPage", GroupSerializer, many=True, paged=True)
MemberPageEnvelope = enveloped("StudentGroupMemberPage", MemberSerializer, many=True, paged=True)
MembersAddedEnvelope = enveloped("StudentGroupMembersAdded", MembersAddedSerializer)
MembersRemovedEnvelope = enveloped("StudentGroupMembersRemoved", MembersRemovedSerializer)
MembersBulkAddedEnvelope = enveloped("StudentGroupMembersBulkAdded", MembersBulkAddedSerializer)
MembersBulkRemovedEnvelope = enveloped("StudentGroupMembersBulkRemoved", MembersBulkRemovedSerializer)
