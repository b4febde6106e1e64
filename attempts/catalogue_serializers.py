"""Request and response shapes of the catalogue API: programmes and case studies (SPEC §7.6)."""
import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from attempts.models import CaseStudy
from students.serializers import OpaqueIdField, PageQuerySerializer, ProgrammeRefSerializer, StrictSerializer

PROGRAMME_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MSG_BAD_PROGRAMME_CODE = "Use 1-32 letters, digits or _ . - (starting with a letter or digit)."
MSG_BAD_BOOLEAN = "Use 1, 0, true or false."


class ProgrammeCodeField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not PROGRAMME_CODE_RE.match(value):
            raise serializers.ValidationError(MSG_BAD_PROGRAMME_CODE)
        return value


@extend_schema_field({"type": "string", "enum": ["1", "0", "true", "false"]})
class ZeroOneBooleanField(serializers.Field):
    """A query-string boolean: 1/0/true/false (DRF's BooleanField also takes yes/on...)."""

    def to_internal_value(self, data):
        lowered = str(data).strip().lower()
        if lowered in ("1", "true"):
            return True
        if lowered in ("0", "false"):
            return False
        raise serializers.ValidationError(MSG_BAD_BOOLEAN)

    def to_representation(self, value):
        return bool(value)


# Output ---------------------------------------------------------------------------------


class ProgrammeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


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


# Input ----------------------------------------------------------------------------------


class ProgrammeWriteSerializer(StrictSerializer):
    code = ProgrammeCodeField()
    name = serializers.CharField(max_length=200)
    is_active = serializers.BooleanField(required=False)


class CaseStudyWriteSerializer(StrictSerializer):
    title = serializers.CharField(max_length=300)
    programme_codes = serializers.ListField(child=serializers.CharField(max_length=32), max_length=200)
    max_attempts = serializers.IntegerField(min_value=0, max_value=100, required=False)
    grading_method = serializers.ChoiceField(choices=CaseStudy.GradingMethod.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    case_study_id = OpaqueIdField(required=False, help_text="Only on create, to keep an id from another system.")


class ProgrammeListQuerySerializer(PageQuerySerializer):
    is_active = ZeroOneBooleanField(required=False)


class CaseStudyListQuerySerializer(PageQuerySerializer):
    is_active = ZeroOneBooleanField(required=False)
    programme = ProgrammeCodeField(required=False, help_text="Only case studies assigned to this programme code.")
