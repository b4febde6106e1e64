from django.urls import re_path

from console.reports import apis

api = [
    re_path(r"^reports/gradebook/?$", apis.GradebookApi.as_view(), name="console-gradebook"),
]
