from django.urls import re_path

from attempts.participants import apis as participant_apis

urlpatterns = [
    re_path(
        r"^case-studies/(?P<case_study_id>[^/]+)/users/?$",
        participant_apis.CaseStudyParticipantsApi.as_view(),
        name="case-study-participants",
    ),
]
