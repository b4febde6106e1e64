from django.urls import path, re_path

from config.ids import id_in_path
from console.students import apis, views

api = [
    re_path(r"^students/?$", apis.ConsoleStudentListApi.as_view(), name="console-student-list"),
    re_path(r"^students/export/?$", apis.ConsoleStudentExportApi.as_view(), name="console-student-export"),
    re_path(rf"^students/{id_in_path('user_id')}/?$", apis.ConsoleStudentDetailApi.as_view(), name="console-student-detail"),
]

pages = [
    # GET lists; POST runs a bulk action (console.bulk) on the ticked rows or all matching.
    path("students/", views.students_list, name="students"),
    # GET shows the student; its grant and revoke forms post to console.attempts' student-attempts.
    path("students/<id:user_id>/", views.student_detail, name="student"),
]
