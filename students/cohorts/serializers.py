from rest_framework import serializers

from config.serializers import StrictSerializer, enveloped, page_query

COHORT_NAME_MAX_LENGTH = 100

CohortsPageQuery = page_query(
    per_page_default=50, per_page_max=100, page_help="1-based page number.", per_page_help="Cohorts per page (1-100)."
)


class CohortWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=COHORT_NAME_MAX_LENGTH, help_text="Unique; at most 100 characters.")


class CohortSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    student_count = serializers.IntegerField(help_text="Current students (not archived, not deleted).")


CohortEnvelope = enveloped("CohortEnvelope", CohortSerializer)
CohortPageEnvelope = enveloped("CohortPage", CohortSerializer, many=True, paged=True)
