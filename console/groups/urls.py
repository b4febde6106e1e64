from django.urls import path

from console.groups import views

pages = [
    path("groups/", views.groups_list, name="groups"),
    path("groups/<id:group_id>/", views.group_detail, name="group"),
]
