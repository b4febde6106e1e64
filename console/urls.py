"""The HTML console's pages on a tenant's host (SPEC §8).

Pages added by other areas (groups, case studies) extend templates/console/base.html and
add their routes here; base.html shows a "Groups" nav link as soon as `console:groups`
exists, and a "Case studies" link once `console:case_studies` exists.
"""
from django.urls import path

from console import views, views_case_studies, views_groups

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    # GET lists; POST runs the bulk "grant extra attempts" action on the ticked rows.
    path("students/", views.students_list, name="students"),
    # GET shows the student; POST grants or revokes attempts (field `action`).
    path("students/<str:user_id>/", views.student_detail, name="student"),
    path("attempts/<str:session_id>/", views.attempt_detail, name="attempt"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("groups/", views_groups.groups_list, name="groups"),
    path("groups/<str:group_id>/", views_groups.group_detail, name="group"),
    path("case-studies/", views_case_studies.case_studies_list, name="case_studies"),
    path("case-studies/<str:case_study_id>/", views_case_studies.case_study_overview, name="case_study"),
    path(
        "case-studies/<str:case_study_id>/participants/",
        views_case_studies.case_study_participants,
        name="case_study_participants",
    ),
]
