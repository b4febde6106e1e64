"""Request and response shapes of the student import (POST /v1/students/import)."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from config.serializers import InputSerializer, StrictSerializer
from students.imports import parsing
from students.imports.services import ACTIONS


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class ImportFileField(serializers.FileField):
    """A file part that is not empty (an empty part reads as no file at all)."""


class DryRunField(serializers.BooleanField):
    # DRF reads a boolean left out of a form as false; left out, a dry run is what is meant.
    default_empty_html = empty


class StudentImportSerializer(StrictSerializer):
    file = ImportFileField(
        help_text=f"CSV (UTF-8, a BOM allowed) or XLSX, at most {parsing.MAX_BYTES // (1024 * 1024)} MB and "
        f"{parsing.MAX_ROWS:,} rows, with a header row of the records fields."
    )
    dry_run = DryRunField(
        default=True, help_text="true (the default): only report what would happen. false: apply the file, all or nothing."
    )


class ImportTemplateQuerySerializer(InputSerializer):
    format = serializers.ChoiceField(choices=[parsing.CSV, parsing.XLSX], default=parsing.CSV, help_text="csv (default) or xlsx.")


class ImportCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row's line in the file (the header is row 1).")
    action = serializers.ChoiceField(choices=ACTIONS, help_text="What the row does (or would do, in a dry run).")
    user_id = serializers.CharField(
        allow_null=True, help_text="The student's id: matched, given by the row, or (once applied) the new one."
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text="Why the row is rejected: messages per column (`row` for the row as a whole).",
    )


class ImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField(help_text="True when the file was written.")
    import_id = serializers.CharField(
        allow_null=True,
        help_text="Once applied, the import's id: /v1/console/students?imported=<it> (and the console's list) lists "
        "exactly the students it created or updated. Null in a dry run.",
    )
    file_format = serializers.ChoiceField(choices=[parsing.CSV, parsing.XLSX])
    counts = ImportCountsSerializer()
    rows = ImportRowSerializer(many=True, help_text="Every row, in file order.")
