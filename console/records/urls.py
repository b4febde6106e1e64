from django.urls import path

from console.records import views

# Before the students' own pages, where "new" would be read as a user_id.
pages = [
    path("students/new/", views.student_new, name="student-new"),
    path("students/<str:user_id>/edit/", views.student_edit, name="student-edit"),
    path("students/<str:user_id>/archive/", views.student_archive, name="student-archive"),
    path("students/<str:user_id>/unarchive/", views.student_unarchive, name="student-unarchive"),
    path("students/<str:user_id>/avatar/", views.student_avatar, name="student-avatar"),
]
