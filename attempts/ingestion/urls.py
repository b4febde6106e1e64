from django.urls import re_path

from attempts.ingestion import apis
from config.ids import id_in_path

urlpatterns = [
    re_path(rf"^sessions/{id_in_path('session_id')}/?$", apis.SessionIngestApi.as_view(), name="session-ingest"),
]
