"""Catalogue (SPEC §7.6) and session ingestion (SPEC §7.4). `/v1/case-studies/{id}/users`
is routed earlier, by attempts.participant_urls."""
from django.urls import re_path

from attempts import catalogue_apis, ingestion_apis

urlpatterns = [
    re_path(r"^programmes/?$", catalogue_apis.ProgrammeListApi.as_view(), name="programmes"),
    re_path(r"^programmes/(?P<code>[^/]+)/?$", catalogue_apis.ProgrammeDetailApi.as_view(), name="programme"),
    re_path(r"^case-studies/?$", catalogue_apis.CaseStudyListApi.as_view(), name="case-studies"),
    re_path(r"^case-studies/(?P<case_study_id>[^/]+)/?$", catalogue_apis.CaseStudyDetailApi.as_view(), name="case-study"),
    re_path(r"^sessions/(?P<session_id>[^/]+)/?$", ingestion_apis.SessionIngestApi.as_view(), name="session-ingest"),
]
