"""Query shapes of the gradebook report beside the console list's filters (declared by
students.listing.filters): `format`, the case studies (repeatable) and the per-programme sheets."""
from rest_framework import serializers

from config.serializers import OpaqueIdField, QueryBooleanField
from console.reports.selectors import MAX_CASE_STUDIES
from console.students.serializers import StudentExportFormatSerializer


class GradebookOptionsSerializer(StudentExportFormatSerializer):
    case_study = serializers.ListField(
        child=OpaqueIdField(),
        required=False,
        max_length=MAX_CASE_STUDIES,
        help_text="Repeatable: the case studies to report on, in title order. Default: the active case "
        "studies (of `programme` when given).",
    )
    sheet_per_programme = QueryBooleanField(
        default=False, help_text="XLSX only: one sheet per programme (a student of two is on both)."
    )
