"""The session body the case-study runtime sends (SPEC §7.4), one per PUT /v1/sessions/{id}
or per line of `manage.py import_sessions`, described for the OpenAPI schema.

The body is validated by attempts.ingestion.session_input (plain Python, fast enough for a
100,000-line import), which uses the limits and messages defined here;
attempts/tests/test_ingestion.py checks that these serializers and that validator accept
the same fields and choices."""
from rest_framework import serializers

from attempts.models import Session, TranscriptMessage
from config.serializers import FiniteFloatField, FreeTextField, OpaqueIdField, StrictSerializer

MAX_MESSAGES = 2000
MAX_MESSAGE_CHARS = 50_000
MAX_CRITERIA = 100
MAX_FEEDBACK_CHARS = 50_000

MSG_ENDED_BEFORE_STARTED = "ended_at must not be before started_at."
MSG_CRITERION_ABOVE_MAX = "score must not exceed max_score."


class TranscriptMessageInSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=TranscriptMessage.Role.choices)
    content = FreeTextField(allow_blank=True, max_length=MAX_MESSAGE_CHARS, trim_whitespace=False)
    timestamp = serializers.DateTimeField(allow_null=True, required=False, default=None)


class GradeCriterionInSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    score = FiniteFloatField(min_value=0, allow_null=True, help_text="At most max_score.")
    max_score = FiniteFloatField(min_value=0)
    feedback = FreeTextField(allow_blank=True, max_length=MAX_FEEDBACK_CHARS, trim_whitespace=False, default="")


class GradeInSerializer(StrictSerializer):
    max_score = FiniteFloatField(min_value=0, default=100)
    feedback = FreeTextField(allow_blank=True, max_length=MAX_FEEDBACK_CHARS, trim_whitespace=False, default="")
    graded_at = serializers.DateTimeField(allow_null=True, required=False, default=None)
    criteria = serializers.ListField(child=GradeCriterionInSerializer(), max_length=MAX_CRITERIA)


class SessionIngestSerializer(StrictSerializer):
    session_id = OpaqueIdField(
        required=False, help_text="Required on import lines; in a PUT body it must equal the id in the URL."
    )
    user_id = OpaqueIdField()
    case_study_id = OpaqueIdField()
    status = serializers.ChoiceField(choices=Session.Status.choices)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True, required=False, default=None, help_text="Not before started_at.")
    last_activity_at = serializers.DateTimeField(
        allow_null=True, required=False, default=None,
        help_text="Stored as the latest of started_at, ended_at and this.",
    )
    score = FiniteFloatField(min_value=0, max_value=100, allow_null=True, required=False, default=None)
    transcript_status = serializers.ChoiceField(choices=Session.TranscriptStatus.choices)
    grading_status = serializers.ChoiceField(choices=Session.GradingStatus.choices)
    transcript = serializers.ListField(
        child=TranscriptMessageInSerializer(),
        max_length=MAX_MESSAGES,
        allow_null=True,
        required=False,
        default=None,
        help_text="When given (even empty), replaces the stored transcript; when absent or null, keeps it.",
    )
    grade = GradeInSerializer(
        allow_null=True, required=False, default=None,
        help_text="When given, replaces the stored grade report; when absent or null, keeps it.",
    )


class SessionIngestResultSerializer(serializers.Serializer):
    """The session as stored, and what this request did to it."""

    session_id = serializers.CharField()
    user_id = serializers.CharField(source="student_id")
    case_study_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Session.Status.choices)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField()
    score = serializers.FloatField(allow_null=True)
    transcript_status = serializers.ChoiceField(choices=Session.TranscriptStatus.choices)
    grading_status = serializers.ChoiceField(choices=Session.GradingStatus.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    result = serializers.ChoiceField(choices=["created", "updated", "unchanged"])
