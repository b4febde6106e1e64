from django.urls import path

from console.imports import views

pages = [
    # GET: the upload form. POST: a file (dry run, then the report) or a checked file's token (apply).
    path("students/import/", views.import_students, name="students_import"),
    # JSON for the page's script: how far a check or an apply is.
    path("students/import/progress/", views.import_progress, name="students_import_progress"),
]
