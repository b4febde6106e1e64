from django.urls import re_path

from config.ids import id_in_path
from students.groups import apis

urlpatterns = [
    re_path(r"^student-clusters/?$", apis.ClusterListApi.as_view(), name="student-cluster-list"),
    re_path(rf"^student-clusters/{id_in_path('cluster_id')}/?$", apis.ClusterDetailApi.as_view(), name="student-cluster-detail"),
    re_path(r"^student-groups/?$", apis.GroupListApi.as_view(), name="student-group-list"),
    re_path(rf"^student-groups/{id_in_path('group_id')}/?$", apis.GroupDetailApi.as_view(), name="student-group-detail"),
    re_path(rf"^student-groups/{id_in_path('group_id')}/members/?$", apis.GroupMembersApi.as_view(), name="student-group-members"),
    re_path(
        rf"^student-groups/{id_in_path('group_id')}/members/bulk-add/?$",
        apis.GroupMembersBulkAddApi.as_view(),
        name="student-group-members-bulk-add",
    ),
    re_path(
        rf"^student-groups/{id_in_path('group_id')}/members/bulk-remove/?$",
        apis.GroupMembersBulkRemoveApi.as_view(),
        name="student-group-members-bulk-remove",
    ),
]
