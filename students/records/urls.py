"""Student records (SPEC §7.5): /v1/students…"""
from django.urls import re_path

from config.ids import id_in_path
from students.records import apis

_ID = id_in_path("user_id")

urlpatterns = [
    re_path(r"^students/?$", apis.StudentListApi.as_view(), name="students"),
    re_path(r"^students/bulk/archive/?$", apis.StudentsBulkArchiveApi.as_view(), name="students-bulk-archive"),
    re_path(r"^students/bulk/unarchive/?$", apis.StudentsBulkUnarchiveApi.as_view(), name="students-bulk-unarchive"),
    re_path(rf"^students/{_ID}/archive/?$", apis.StudentArchiveApi.as_view(), name="student-archive"),
    re_path(rf"^students/{_ID}/unarchive/?$", apis.StudentUnarchiveApi.as_view(), name="student-unarchive"),
    re_path(rf"^students/{_ID}/avatar/?$", apis.StudentAvatarApi.as_view(), name="student-avatar"),
    re_path(rf"^students/{_ID}/?$", apis.StudentDetailApi.as_view(), name="student"),
]
