"""Request and response shapes of the data rights endpoints."""
from rest_framework import serializers

from attempts.grants.services import MAX_REASON_LENGTH
from config.openapi import service_checked_free_text
from config.serializers import StrictSerializer
from students.records.serializers import StudentRecordSerializer


class StudentEraseSerializer(StrictSerializer):
    reason = service_checked_free_text(
        max_length=MAX_REASON_LENGTH,
        help_text=f"Why (the student's request, its date …): required, non-blank, at most {MAX_REASON_LENGTH} characters.",
    )


class ErasureSerializer(serializers.Serializer):
    """The record as erased, and how much was erased beyond it."""

    student = StudentRecordSerializer()
    transcript_messages = serializers.IntegerField(help_text="Transcript messages whose text was emptied.")
    grade_texts = serializers.IntegerField(help_text="Grade reports' and criteria's feedback emptied.")
    grant_reasons = serializers.IntegerField(help_text="Grant ledger rows whose reason was erased.")
    audit_events = serializers.IntegerField(help_text="Earlier audit events whose recorded values were erased.")
    feed_events = serializers.IntegerField(help_text="Change-feed events whose values were erased.")
