from django.urls import path

from console.dashboard import views

pages = [
    path("dashboard/", views.dashboard, name="dashboard"),
]
