"""Student import: /v1/students/import…"""
from django.urls import re_path

from students.imports import apis

urlpatterns = [
    re_path(r"^students/import/template/?$", apis.StudentImportTemplateApi.as_view(), name="students-import-template"),
    re_path(r"^students/import/?$", apis.StudentImportApi.as_view(), name="students-import"),
]
