"""Shapes of the case-study participants dashboard (SPEC §7.7, seed course-dashboard-users-api.txt)."""
from rest_framework import serializers

from attempts.participants.selectors import LIMIT_DEFAULT, LIMIT_MAX, SEARCH_MAX_LENGTH, STATUSES
from config.serializers import SKIP_MAX, InputSerializer


class ParticipantQuerySerializer(InputSerializer):
    """limit, offset and search; `statuses` and `ordering` are read by attempts.participants."""

    limit = serializers.IntegerField(
        min_value=1, max_value=LIMIT_MAX, default=LIMIT_DEFAULT, help_text="Number of results to return (1–100)."
    )
    offset = serializers.IntegerField(min_value=0, max_value=SKIP_MAX, default=0, help_text="The index of the first result to return.")
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SEARCH_MAX_LENGTH,
        help_text="Case-insensitive substring of the student's name or email.",
    )


class ParticipantSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    student_name = serializers.CharField()
    student_email = serializers.EmailField()
    join_status = serializers.ChoiceField(
        choices=STATUSES,
        help_text="invited: assigned through a programme, no session yet; joined: started, nothing graded; "
        "completed: has a graded attempt.",
    )
    joined_at = serializers.DateTimeField(allow_null=True, help_text="Start of the student's first session.")
    last_active_at = serializers.DateTimeField(allow_null=True, help_text="Latest activity on this case study.")
    attempts_used = serializers.IntegerField(help_text="Sessions that consume an attempt.")
    attempts_allowed = serializers.IntegerField(help_text="max_attempts plus extra attempts granted (never below 0).")
    best_score = serializers.FloatField(allow_null=True, help_text="Highest score among graded sessions.")
    completion_rate = serializers.FloatField(
        help_text="Graded attempts / attempts_allowed, 0–1, capped at 1, 4 decimal places; 0 when none are allowed."
    )


class ParticipantPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total results count.")
    next = serializers.URLField(allow_null=True, help_text="Next page URL.")
    previous = serializers.URLField(allow_null=True, help_text="Previous page URL.")
    results = ParticipantSerializer(many=True)


class ParticipantPageEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    data = ParticipantPageSerializer()
    message = serializers.CharField(allow_null=True)
