"""Attempts in the console: the JSON API under /v1/console/ (each path answers with and without
a trailing slash), the attempt page and the grant and revoke forms of a student's page."""
from django.urls import path, re_path

from config.ids import id_in_path
from console.attempts import apis, views

SESSION = id_in_path("session_id")

api = [
    re_path(r"^attempts/grant/?$", apis.AttemptGrantApi.as_view(), name="console-attempts-grant"),
    re_path(r"^attempts/grant/bulk/?$", apis.AttemptGrantBulkApi.as_view(), name="console-attempts-grant-bulk"),
    re_path(r"^attempts/revoke/bulk/?$", apis.AttemptRevokeBulkApi.as_view(), name="console-attempts-revoke-bulk"),
    re_path(r"^attempts/revoke/?$", apis.AttemptRevokeApi.as_view(), name="console-attempts-revoke"),
    re_path(r"^attempts/grants/?$", apis.AttemptGrantListApi.as_view(), name="console-attempts-grants"),
    re_path(
        rf"^student-performance/attempts/{SESSION}/?$",
        apis.AttemptDetailApi.as_view(),
        name="console-performance-attempt",
    ),
    re_path(
        rf"^student-performance/attempts/{SESSION}/transcript/?$",
        apis.AttemptTranscriptApi.as_view(),
        name="console-performance-transcript",
    ),
    re_path(
        rf"^student-performance/attempts/{SESSION}/grade/?$",
        apis.AttemptGradeApi.as_view(),
        name="console-performance-grade",
    ),
]

pages = [
    path("attempts/<id:session_id>/", views.attempt_detail, name="attempt"),
    # POST only: a grant or revoke form of the student's page (field `action`).
    path("students/<id:user_id>/attempts/", views.student_attempts_change, name="student-attempts"),
]
