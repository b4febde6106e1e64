from django.urls import path

from console.case_studies import views

pages = [
    path("case-studies/", views.case_studies_list, name="case_studies"),
    path("case-studies/<id:case_study_id>/", views.case_study_overview, name="case_study"),
    path("case-studies/<id:case_study_id>/participants/", views.case_study_participants, name="case_study_participants"),
]
