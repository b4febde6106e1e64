from django.urls import path

from console.imports import views

pages = [
    # GET: the upload form. POST: a file (dry run, then the report) or a checked file's token (apply).
    path("students/import/", views.import_students, name="students_import"),
]
