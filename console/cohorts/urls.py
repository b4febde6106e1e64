from django.urls import path

from console.cohorts import views

pages = [
    # GET lists; POST adds, renames or deletes (field `action`).
    path("cohorts/", views.cohorts, name="cohorts"),
]
