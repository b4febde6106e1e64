from django.urls import path

from console.records import views

pages = [
    path("students/new/", views.student_new, name="student-new"),
    path("students/<id:user_id>/edit/", views.student_edit, name="student-edit"),
    path("students/<id:user_id>/archive/", views.student_archive, name="student-archive"),
    path("students/<id:user_id>/unarchive/", views.student_unarchive, name="student-unarchive"),
    path("students/<id:user_id>/avatar/", views.student_avatar, name="student-avatar"),
]
