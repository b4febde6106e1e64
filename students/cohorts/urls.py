from django.urls import re_path

from config.ids import id_in_path
from students.cohorts import apis

urlpatterns = [
    re_path(r"^cohorts/?$", apis.CohortListApi.as_view(), name="cohorts"),
    re_path(rf"^cohorts/{id_in_path('cohort_id')}/?$", apis.CohortDetailApi.as_view(), name="cohort"),
]
