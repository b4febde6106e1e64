from rest_framework import serializers

from config.serializers import enveloped, skip_limit_query

MSG_SINCE_AFTER_UNTIL = "since must not be after until."

AuditPageQuery = skip_limit_query(
    limit_default=50, limit_max=200, skip_help="Events to skip.", limit_help="Events to return (1–200)."
)


class AuditEventQuerySerializer(AuditPageQuery):
    actor = serializers.CharField(required=False, max_length=254, help_text="A staff user's id or email.")
    action = serializers.RegexField(
        r"^[a-z_]+(\.[a-z_]+)?$", required=False, max_length=64,
        help_text="An action (student.update) or its family (student).",
        error_messages={"invalid": "An action such as student.update, or a family such as student."},
    )
    target_type = serializers.RegexField(
        r"^[a-z_]+$", required=False, max_length=32, help_text="student, case_study, programme, student_group, …",
        error_messages={"invalid": "Lower-case letters and _ only."},
    )
    target_id = serializers.CharField(required=False, max_length=64, help_text="The target's id.")
    since = serializers.DateTimeField(required=False, help_text="Events at or after this ISO 8601 date-time.")
    until = serializers.DateTimeField(required=False, help_text="Events at or before this ISO 8601 date-time.")

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise serializers.ValidationError({"since": MSG_SINCE_AFTER_UNTIL})
        return data


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor_id = serializers.IntegerField(allow_null=True, help_text="The staff user's id (null for a command).")
    actor_email = serializers.CharField(help_text="Their email at the time.")
    via = serializers.CharField(help_text="session, token, scim (an identity provider's SCIM client), or system (a management command).")
    ip = serializers.CharField(allow_null=True)
    request_id = serializers.CharField()
    action = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    changes = serializers.JSONField(help_text="{field: [before, after]} of the fields that changed.")
    detail = serializers.JSONField()


AuditEventPageEnvelope = enveloped("AuditEventPage", AuditEventSerializer, many=True, paged=True)
