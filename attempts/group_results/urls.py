from django.urls import re_path

from attempts.group_results import apis

urlpatterns = [
    re_path(r"^student-groups/(?P<group_id>[^/]+)/results/?$", apis.GroupResultsApi.as_view(), name="student-group-results"),
]
