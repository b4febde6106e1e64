"""Request and response shapes of the attempts and student-performance console API (SPEC §7.2, §7.3).

Requests check types and shapes; the rules (reason, 1-10 attempts, eligibility, the bulk cap)
live in attempts.grants.services so the HTML console and the API refuse the same things, with
the same messages. The schema still states them (minimum, maximum, maxItems).
"""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from attempts.grants import services
from attempts.models import Session, TranscriptMessage
from config.bulk import MAX_BULK_IDS
from config.ids import OPAQUE_ID
from config.openapi import service_checked_free_text
from config.serializers import (
    OpaqueIdField,
    StrictSerializer,
    UncheckedOpaqueIdField,
    enveloped,
    skip_limit_query,
)

LEDGER_LIMIT_DEFAULT = 10
LEDGER_LIMIT_MAX = 100


# Requests ---------------------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": services.MIN_ATTEMPTS, "maximum": services.MAX_ATTEMPTS})
class AttemptsField(serializers.IntegerField):
    """An integer; its range is the grants service's rule, refused there with its one message
    under `attempts`. The schema states the range."""


class _ChangeFields(StrictSerializer):
    case_study_id = OpaqueIdField(help_text="The case study whose allowance changes.")
    attempts = AttemptsField(
        default=1,
        help_text=f"How many attempts to add or take back ({services.MIN_ATTEMPTS}–{services.MAX_ATTEMPTS}, default 1).",
    )
    # Blank and length are checked by the service, so both clients get the same messages.
    reason = service_checked_free_text(
        max_length=services.MAX_REASON_LENGTH, help_text="Why (required, non-blank, at most 500 characters)."
    )


class AttemptChangeRequestSerializer(_ChangeFields):
    user_id = OpaqueIdField(help_text="The student.")


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "pattern": f"^{OPAQUE_ID}$"},
        "minItems": 1,
        "maxItems": MAX_BULK_IDS,
    }
)
class BulkUserIdsField(serializers.ListField):
    """Ids whose shapes (a blank one too) and number the service checks, naming each bad one
    under user_ids[<index>]; the schema states both."""


class BulkGrantRequestSerializer(_ChangeFields):
    user_ids = BulkUserIdsField(
        child=UncheckedOpaqueIdField(allow_blank=True, trim_whitespace=False),
        allow_empty=True,  # the service refuses an empty list, with its message
        help_text=f"1–{MAX_BULK_IDS} student user_ids; repeats count once (first-seen order kept).",
    )


LedgerPageQuery = skip_limit_query(
    limit_default=LEDGER_LIMIT_DEFAULT,
    limit_max=LEDGER_LIMIT_MAX,
    skip_help="Rows to skip.",
    limit_help="Rows to return (1–100).",
)


class LedgerQuerySerializer(LedgerPageQuery):
    user_id = OpaqueIdField(required=False, help_text="Only this student's ledger rows.")
    case_study_id = OpaqueIdField(required=False, help_text="Only this case study's ledger rows.")


# Responses --------------------------------------------------------------------------------


class GrantActorSerializer(serializers.Serializer):
    email = serializers.CharField(help_text="The staff user's email when the change was made.")
    full_name = serializers.CharField(help_text="Their current name; empty once the account is deleted.")


class AttemptGrantSerializer(serializers.Serializer):
    """One ledger row: a grant (delta > 0) or a revoke (delta < 0)."""

    id = serializers.CharField()
    user_id = serializers.CharField(source="student_id")
    case_study_id = serializers.CharField()
    delta = serializers.IntegerField(help_text="Positive for a grant, negative for a revoke.")
    reason = serializers.CharField()
    actor = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_actor(self, grant) -> GrantActorSerializer:
        return {"email": grant.actor_email, "full_name": grant.actor.full_name if grant.actor else ""}


class AttemptChangeResultSerializer(serializers.Serializer):
    grant = AttemptGrantSerializer()
    extra_attempts = serializers.IntegerField(help_text="The card's extra attempts after this change.")
    attempts_used = serializers.IntegerField()
    attempts_allowed = serializers.IntegerField(help_text="max_attempts + extra_attempts.")


class BulkGrantResultSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    grant_id = serializers.CharField()
    extra_attempts = serializers.IntegerField()
    attempts_used = serializers.IntegerField()
    attempts_allowed = serializers.IntegerField()


class AttemptDetailSerializer(serializers.Serializer):
    """An attempt-card entry (seed field names) plus its student and case study, flat."""

    session_id = serializers.CharField()
    attempt_label = serializers.CharField(help_text='"Attempt n", numbered by (started_at, session_id).')
    score = serializers.FloatField(allow_null=True)
    # Model choices: settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] names these enums.
    status = serializers.ChoiceField(choices=Session.Status.choices)
    transcript_status = serializers.ChoiceField(choices=Session.TranscriptStatus.choices)
    grading_status = serializers.ChoiceField(choices=Session.GradingStatus.choices)
    used_for_final_score = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField()
    duration_seconds = serializers.IntegerField(allow_null=True, help_text="ended_at - started_at; null while in progress.")
    user_id = serializers.CharField()
    student_name = serializers.CharField()
    case_study_id = serializers.CharField()
    case_study_title = serializers.CharField()


class TranscriptMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=TranscriptMessage.Role.choices)
    content = serializers.CharField()
    timestamp = serializers.DateTimeField(allow_null=True)


class TranscriptSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    transcript_status = serializers.ChoiceField(choices=Session.TranscriptStatus.choices)
    detail = serializers.CharField(allow_null=True, help_text="Why messages are missing or incomplete; null when available.")
    messages = TranscriptMessageSerializer(many=True, help_text="In conversation order.")


class GradeCriterionSerializer(serializers.Serializer):
    name = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    max_score = serializers.FloatField()
    feedback = serializers.CharField(allow_blank=True)


class GradeSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    grading_status = serializers.ChoiceField(choices=Session.GradingStatus.choices)
    detail = serializers.CharField(allow_null=True, help_text="Why there is no report; null when grading is complete.")
    score = serializers.FloatField(allow_null=True, help_text="The session's score as stored.")
    max_score = serializers.FloatField()
    criteria = GradeCriterionSerializer(many=True)
    feedback = serializers.CharField(allow_null=True)
    graded_at = serializers.DateTimeField(allow_null=True)


# Envelopes (for the OpenAPI schema) -------------------------------------------------------


AttemptChangeEnvelope = enveloped("AttemptChangeEnvelope", AttemptChangeResultSerializer)
BulkGrantEnvelope = enveloped("BulkGrantEnvelope", BulkGrantResultSerializer, many=True)
LedgerPageEnvelope = enveloped("AttemptGrantPage", AttemptGrantSerializer, many=True, paged=True)
AttemptDetailEnvelope = enveloped("AttemptDetailEnvelope", AttemptDetailSerializer)
TranscriptEnvelope = enveloped("TranscriptEnvelope", TranscriptSerializer)
GradeEnvelope = enveloped("GradeReportEnvelope", GradeSerializer)
