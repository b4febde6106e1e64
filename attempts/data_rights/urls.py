"""Students' data rights: /v1/students/{user_id}/data-export and …/erase."""
from django.urls import re_path

from attempts.data_rights import apis
from config.ids import id_in_path

_ID = id_in_path("user_id")

urlpatterns = [
    re_path(rf"^students/{_ID}/data-export/?$", apis.StudentDataExportApi.as_view(), name="student-data-export"),
    re_path(rf"^students/{_ID}/erase/?$", apis.StudentEraseApi.as_view(), name="student-erase"),
]
