from django.urls import path, re_path

from config.ids import id_in_path
from console.exports import apis, views

api = [
    re_path(r"^exports/?$", apis.ExportJobListApi.as_view(), name="console-exports"),
    re_path(rf"^exports/{id_in_path('job_id')}/?$", apis.ExportJobDetailApi.as_view(), name="console-export"),
    re_path(rf"^exports/{id_in_path('job_id')}/file/?$", apis.ExportJobFileApi.as_view(), name="console-export-file"),
]

pages = [
    # POST queues a background export from the students list's filters.
    path("exports/", views.exports_page, name="exports"),
    path("exports/<id:job_id>/", views.export_page, name="export"),
]
