"""The shape of a group's results (attempts.group_results.selectors.RESULTS_RULES)."""
from rest_framework import serializers

from config.serializers import enveloped


class CaseStudyResultSerializer(serializers.Serializer):
    case_study_id = serializers.CharField()
    case_study_title = serializers.CharField()
    is_active = serializers.BooleanField()
    members_in_scope = serializers.IntegerField(help_text="Members assigned to the case study or with a session on it.")
    members_assigned = serializers.IntegerField(help_text="Members sharing a programme with the case study.")
    members_attempted = serializers.IntegerField(help_text="Members with at least one session on it.")
    members_completed = serializers.IntegerField(help_text="Members with at least one graded (grading complete) session.")
    attempts_used = serializers.IntegerField(
        help_text="The members' sessions that consume an attempt (transcript not missing or failed)."
    )
    average_best_score = serializers.FloatField(
        allow_null=True, help_text="Mean of the members' best scores (members without one are left out)."
    )
    best_score = serializers.FloatField(allow_null=True, help_text="Highest of the members' best scores.")
    completion_rate = serializers.FloatField(
        help_text="members_completed / members_in_scope, 0–1, rounded to 4 places."
    )
    last_activity_at = serializers.DateTimeField(allow_null=True)


class GroupResultsSerializer(serializers.Serializer):
    group_id = serializers.CharField()
    group_name = serializers.CharField()
    student_cluster_id = serializers.CharField(allow_null=True)
    member_count = serializers.IntegerField(help_text="Members, not counting archived or deleted students.")
    active_members = serializers.IntegerField(help_text="Members whose account status is active.")
    last_activity_at = serializers.DateTimeField(allow_null=True, help_text="Latest session activity of any member.")
    case_studies = CaseStudyResultSerializer(many=True)


GroupResultsEnvelope = enveloped("StudentGroupResultsEnvelope", GroupResultsSerializer)
