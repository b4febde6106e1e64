"""Request and response shapes of the student records API (SPEC §7.5)."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalogue.programmes.serializers import ProgrammeCodeField, ProgrammeRefSerializer
from config.bulk import MAX_BULK_IDS
from config.serializers import BulkIdsField, OpaqueIdField, StrictSerializer, UncheckedOpaqueIdField, page_query
from students.models import Student

RecordsPageQuery = page_query(page_help="1-based page number (default 1).", per_page_help="Records per page, 1-500 (default 50).")


# Output ---------------------------------------------------------------------------------


class CohortRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class AdvisorRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    email = serializers.EmailField()


class StudentRecordSerializer(serializers.Serializer):
    """A student record. Expects the selector's queryset (cohort, advisor and programmes
    loaded) and `request` in the context for the absolute avatar URL."""

    user_id = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    status = serializers.ChoiceField(choices=Student.Status.choices)
    enrollment_status = serializers.ChoiceField(choices=Student.EnrollmentStatus.choices)
    archived = serializers.BooleanField()
    withdrawn_on = serializers.DateField(allow_null=True)
    graduated_on = serializers.DateField(allow_null=True)
    student_number = serializers.CharField(allow_null=True)
    cohort = CohortRefSerializer(allow_null=True)
    advisor = AdvisorRefSerializer(allow_null=True)
    programmes = ProgrammeRefSerializer(many=True)
    avatar_url = serializers.SerializerMethodField()
    legal_hold = serializers.BooleanField(help_text="While set, the student's personal data cannot be erased.")
    erased_at = serializers.DateTimeField(
        allow_null=True, help_text="When the student's personal data was erased (the record keeps a pseudonym)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_avatar_url(self, student) -> str | None:
        if not student.avatar:
            return None
        url = student.avatar.url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class StudentTombstoneSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    deleted_at = serializers.DateTimeField()


# Input ----------------------------------------------------------------------------------


def _length(name):
    """How long the student's field may be: the model declares it, once."""
    return Student._meta.get_field(name).max_length


class StudentCreateSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=_length("first_name"))
    last_name = serializers.CharField(max_length=_length("last_name"))
    email = serializers.EmailField(max_length=_length("email"))
    status = serializers.ChoiceField(choices=Student.Status.choices, default=Student.Status.ACTIVE)
    programme_codes = serializers.ListField(child=ProgrammeCodeField(), max_length=100)
    student_number = serializers.CharField(max_length=_length("student_number"), allow_null=True, required=False)
    cohort_id = OpaqueIdField(allow_null=True, required=False)
    advisor_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, allow_null=True, required=False)
    user_id = OpaqueIdField(required=False, help_text="Only to keep an id imported from another system.")


class StudentUpdateSerializer(StrictSerializer):
    """PATCH: any subset of the writable fields. Ids, timestamps, archive state and
    maintained columns are not writable here (400 naming them)."""

    first_name = serializers.CharField(max_length=_length("first_name"), required=False)
    last_name = serializers.CharField(max_length=_length("last_name"), required=False)
    email = serializers.EmailField(max_length=_length("email"), required=False)
    status = serializers.ChoiceField(choices=Student.Status.choices, required=False)
    programme_codes = serializers.ListField(child=ProgrammeCodeField(), max_length=100, required=False)
    student_number = serializers.CharField(max_length=_length("student_number"), allow_null=True, required=False)
    cohort_id = OpaqueIdField(allow_null=True, required=False)
    advisor_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, allow_null=True, required=False)
    legal_hold = serializers.BooleanField(
        required=False, help_text="Keep the student's data: erasure is refused while set. Requires DATA_RIGHTS.can_manage."
    )


def _bulk_user_ids():
    return BulkIdsField(
        child=UncheckedOpaqueIdField(trim_whitespace=False),
        help_text=f"1–{MAX_BULK_IDS} student user_ids; repeats count once.",
    )


class StudentsBulkSerializer(StrictSerializer):
    user_ids = _bulk_user_ids()


class StudentArchiveSerializer(StrictSerializer):
    withdrawn_on = serializers.DateField(required=False, allow_null=True)
    graduated_on = serializers.DateField(required=False, allow_null=True)
    exactly_one_of = ("withdrawn_on", "graduated_on")  # the schema says it too (config.openapi)



@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class ImageUploadField(serializers.FileField):
    """A file part that is not empty (an empty part reads as no file at all)."""


class StudentAvatarSerializer(serializers.Serializer):
    """Documents the multipart body; the image itself is checked by students.records.services."""

    avatar = ImageUploadField(help_text="PNG, JPEG or WebP, at most 2 MB.")


class StudentsBulkArchiveSerializer(StudentArchiveSerializer):
    user_ids = _bulk_user_ids()
