from django.urls import re_path

from attempts.ingestion import apis

urlpatterns = [
    re_path(r"^sessions/(?P<session_id>[^/]+)/?$", apis.SessionIngestApi.as_view(), name="session-ingest"),
]
