from django.urls import re_path

from attempts.participants import apis as participant_apis
from config.ids import id_in_path

urlpatterns = [
    re_path(
        rf"^case-studies/{id_in_path('case_study_id')}/users/?$",
        participant_apis.CaseStudyParticipantsApi.as_view(),
        name="case-study-participants",
    ),
]
