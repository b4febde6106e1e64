from django.urls import re_path

from students import console_apis as apis

urlpatterns = [
    re_path(r"^students/?$", apis.ConsoleStudentListApi.as_view(), name="console-student-list"),
    # Before the detail route, so "export" is never read as a user_id.
    re_path(r"^students/export/?$", apis.ConsoleStudentExportApi.as_view(), name="console-student-export"),
    re_path(r"^students/(?P<user_id>[^/]+)/?$", apis.ConsoleStudentDetailApi.as_view(), name="console-student-detail"),
]
