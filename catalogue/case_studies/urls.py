"""`/v1/case-studies` and `/v1/case-studies/{id}`. The participants dashboard,
`/v1/case-studies/{id}/users`, is routed by attempts.participants.urls."""
from django.urls import re_path

from catalogue.case_studies import apis
from config.ids import id_in_path

urlpatterns = [
    re_path(r"^case-studies/?$", apis.CaseStudyListApi.as_view(), name="case-studies"),
    re_path(rf"^case-studies/{id_in_path('case_study_id')}/?$", apis.CaseStudyDetailApi.as_view(), name="case-study"),
]
