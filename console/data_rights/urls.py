from django.urls import path

from console.data_rights import views

pages = [
    path("students/<id:user_id>/data-export/", views.student_data_download, name="student-data-export"),
    path("students/<id:user_id>/erase/", views.student_erase, name="student-erase"),
]
