"""Request and response shapes of /v1/case-studies (SPEC §7.6)."""
from rest_framework import serializers

from catalogue.models import CaseStudy
from catalogue.programmes.serializers import (
    CataloguePageQuery,
    ProgrammeCodeField,
    ProgrammeRefSerializer,
    is_active_filter,
)
from config.serializers import OpaqueIdField, StrictSerializer

MSG_NO_PROGRAMMES = "A case study needs at least one programme: no student could see it otherwise."


class CaseStudySerializer(serializers.Serializer):
    """Expects case studies with `programmes` prefetched (ordered by code)."""

    case_study_id = serializers.CharField()
    title = serializers.CharField()
    programme_codes = serializers.SerializerMethodField()
    programmes = ProgrammeRefSerializer(many=True, source="programmes.all")
    max_attempts = serializers.IntegerField()
    grading_method = serializers.ChoiceField(choices=CaseStudy.GradingMethod.choices)
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_programme_codes(self, case_study) -> list[str]:
        return [p.code for p in case_study.programmes.all()]


class CaseStudyUpdateSerializer(StrictSerializer):
    """PUT and PATCH: a case study's id is fixed once it is made (400 naming it if sent)."""

    title = serializers.CharField(max_length=300)
    programme_codes = serializers.ListField(
        child=ProgrammeCodeField(),
        allow_empty=False,
        min_length=1,  # the schema's minItems; allow_empty answers first, with the message
        max_length=200,
        error_messages={"empty": MSG_NO_PROGRAMMES, "min_length": MSG_NO_PROGRAMMES},
        help_text="The programmes whose students may attempt it: at least one.",
    )
    max_attempts = serializers.IntegerField(min_value=0, max_value=100, required=False)
    grading_method = serializers.ChoiceField(choices=CaseStudy.GradingMethod.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class CaseStudyWriteSerializer(CaseStudyUpdateSerializer):
    """POST: the fields of an update, and an id to keep from another system."""

    case_study_id = OpaqueIdField(required=False, help_text="Only to keep an id from another system.")


class CaseStudyListQuerySerializer(CataloguePageQuery):
    is_active = is_active_filter()
    programme = ProgrammeCodeField(required=False, help_text="Only case studies assigned to this programme code.")
