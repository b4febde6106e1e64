from django.urls import re_path

from attempts.group_results import apis
from config.ids import id_in_path

urlpatterns = [
    re_path(rf"^student-groups/{id_in_path('group_id')}/results/?$", apis.GroupResultsApi.as_view(), name="student-group-results"),
]
