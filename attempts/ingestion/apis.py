"""PUT /v1/sessions/{session_id}: the case-study runtime reports a session (SPEC §7.4)."""
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.permissions import SESSIONS_INGEST, HasPermission
from attempts.ingestion import services as ingestion
from attempts.ingestion.serializers import SessionIngest, SessionIngestResultSerializer
from attempts.models import Session
from config.api import ok
from config.http import declared_length
from config.parsers import JSONParser
from config.serializers import enveloped

RESULT_RESPONSE = enveloped("SessionIngestResponse", SessionIngestResultSerializer())

EXAMPLE = {
    "user_id": "6650f1c2a1b2c3d4e5f60718",
    "case_study_id": "6650f1c2a1b2c3d4e5f60001",
    "status": "ended",
    "started_at": "2025-10-01T09:00:00Z",
    "ended_at": "2025-10-01T09:24:10Z",
    "last_activity_at": "2025-10-01T09:24:10Z",
    "score": 82.5,
    "transcript_status": "available",
    "grading_status": "complete",
    "transcript": [
        {"role": "assistant", "content": "Welcome. What would you do first?", "timestamp": "2025-10-01T09:00:05Z"},
        {"role": "student", "content": "Size the market in Lagos.", "timestamp": "2025-10-01T09:01:00Z"},
    ],
    "grade": {
        "max_score": 100,
        "feedback": "Clear structure.",
        "graded_at": "2025-10-01T09:30:00Z",
        "criteria": [{"name": "Problem framing", "score": 22, "max_score": 25, "feedback": "Good framing."}],
    },
}


class SessionIngestApi(APIView):
    permission_classes = [IsAuthenticated, HasPermission.of(SESSIONS_INGEST)]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="sessions_upsert",
        request=SessionIngest,
        responses={201: RESULT_RESPONSE, 200: RESULT_RESPONSE},
        examples=[OpenApiExample("Ended and graded", value=EXAMPLE, request_only=True)],
        description=(
            "Idempotent upsert: 201 when the session is new, 200 otherwise (result `updated` or `unchanged`). "
            "A session cannot move to another student or case study (409). Unknown student or case study: 400."
        ),
    )
    def put(self, request, session_id):
        ingestion.body_size_check(declared_length(request))
        item = ingestion.session_input(data=request.data, session_id=session_id)
        outcome = ingestion.session_ingest(item=item)
        session = Session.objects.get(pk=item.session_id)
        session.result = outcome.result
        status = 201 if outcome.result == ingestion.CREATED else 200
        return ok(SessionIngestResultSerializer(session).data, status=status)
