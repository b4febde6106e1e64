"""The event types: the one list of them, what each is about and the shape of its `data`.

The feed's `types` filter accepts these names and no other, the OpenAPI schema documents one
event schema per type from them (accounts.events.serializers), and the recorders
(accounts.events.services) refuse a type or subject not declared here.

`data` holds a record's changed fields as `{field: [before, after]}` (a created record's
before is null) or, for what is not a record's change, the values that say what happened;
never a secret (accounts.audit.services.SECRET_FIELDS are never recorded).
"""
from dataclasses import dataclass

from rest_framework import serializers

STUDENT_CREATED = "student.created"
STUDENT_UPDATED = "student.updated"
STUDENT_ARCHIVED = "student.archived"
STUDENT_UNARCHIVED = "student.unarchived"
STUDENT_DELETED = "student.deleted"
STUDENT_ERASED = "student.erased"
ATTEMPTS_GRANTED = "attempts.granted"
ATTEMPTS_REVOKED = "attempts.revoked"
GROUP_MEMBERS_ADDED = "group.members_added"
GROUP_MEMBERS_REMOVED = "group.members_removed"
SESSION_COMPLETED = "session.completed"
FINAL_SCORE_CHANGED = "final_score.changed"
STUDENTS_IMPORT_APPLIED = "students.import_applied"
EXPORT_DONE = "export.done"


def _change(field_class, help_text=None, **kwargs):
    """A changed field: [before, after], either null when the field had or has no value."""
    child = field_class(allow_null=True, **kwargs)
    return serializers.ListField(child=child, min_length=2, max_length=2, required=False, help_text=help_text)


class StudentChangesData(serializers.Serializer):
    """The student's fields that changed, each as [before, after] (only those that changed)."""

    first_name = _change(serializers.CharField)
    last_name = _change(serializers.CharField)
    email = _change(serializers.CharField)
    status = _change(serializers.CharField)
    student_number = _change(serializers.CharField)
    cohort = _change(serializers.CharField, "The cohort's id.")
    advisor = _change(serializers.IntegerField, "The advisor's staff user id.")
    programmes = _change(serializers.ListField, "Programme codes, sorted.", child=serializers.CharField())
    archived = _change(serializers.BooleanField)
    enrollment_status = _change(serializers.CharField)
    withdrawn_on = _change(serializers.DateField)
    graduated_on = _change(serializers.DateField)
    avatar = _change(serializers.CharField, "The photo's file name in the storage (not a public address).")
    legal_hold = _change(serializers.BooleanField, "Whether erasure is refused (a legal hold).")


class StudentErasedData(serializers.Serializer):
    """What the record holds after erasure: its pseudonym, to overwrite a copy of the record with.
    Earlier events of the student hold "[erased]" in place of the values erased."""

    erased_at = serializers.DateTimeField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    student_number = serializers.CharField(allow_null=True)
    avatar = serializers.CharField(allow_null=True, help_text="Always null: the photo is deleted.")


class AttemptsChangeData(serializers.Serializer):
    case_study_id = serializers.CharField()
    grant_id = serializers.CharField(help_text="The grant ledger row's id.")
    attempts = serializers.IntegerField(help_text="How many extra attempts were granted or revoked (positive).")
    reason = serializers.CharField()
    extra_attempts = _change(serializers.IntegerField, "The pair's extra attempts [before, after].")
    attempts_allowed = _change(serializers.IntegerField, "The pair's attempts allowed [before, after].")


class GroupMembershipData(serializers.Serializer):
    group_id = serializers.CharField()
    group_name = serializers.CharField()


class SessionCompletedData(serializers.Serializer):
    case_study_id = serializers.CharField()
    result = serializers.CharField(help_text="created (the report was the session's first) or updated.")
    status = serializers.CharField(help_text="ended or abandoned.")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField()
    score = serializers.FloatField(allow_null=True)
    transcript_status = serializers.CharField()
    grading_status = serializers.CharField()


class FinalScoreChangedData(serializers.Serializer):
    case_study_id = serializers.CharField()
    grading_method = serializers.CharField(help_text="The case study's grading method the final score follows.")
    final_score = _change(serializers.FloatField, "[before, after]; null when no attempt was graded.")


class ImportAppliedData(serializers.Serializer):
    file_format = serializers.CharField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class ExportDoneData(serializers.Serializer):
    kind = serializers.CharField(required=False)
    format = serializers.CharField(required=False)
    rows = serializers.IntegerField(required=False, allow_null=True)
    file_size = serializers.IntegerField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    requested_by = serializers.IntegerField(required=False, help_text="The staff user who asked for it.")


@dataclass(frozen=True)
class EventType:
    name: str
    subject_type: str  # what `subject` names
    about_a_student: bool  # whether `student_id` is set
    description: str
    data: type[serializers.Serializer]


EVENT_TYPES = {
    t.name: t
    for t in (
        EventType(STUDENT_CREATED, "student", True, "A student record was created (one by one, or by an import).",
                  StudentChangesData),
        EventType(STUDENT_UPDATED, "student", True, "Fields of a student record changed (its photo included).",
                  StudentChangesData),
        EventType(STUDENT_ARCHIVED, "student", True, "A student was archived as withdrawn or graduated.",
                  StudentChangesData),
        EventType(STUDENT_UNARCHIVED, "student", True, "An archived student is enrolled again.", StudentChangesData),
        EventType(STUDENT_DELETED, "student", True, "A student record was deleted; `data` holds its last values.",
                  StudentChangesData),
        EventType(STUDENT_ERASED, "student", True,
                  "A student's personal data was erased; the record keeps a pseudonym, scores and counts.",
                  StudentErasedData),
        EventType(ATTEMPTS_GRANTED, "attempt_grant", True, "Extra attempts were granted on a case study.",
                  AttemptsChangeData),
        EventType(ATTEMPTS_REVOKED, "attempt_grant", True, "Extra attempts were taken back.", AttemptsChangeData),
        EventType(GROUP_MEMBERS_ADDED, "student_group", True, "The student was added to the group.",
                  GroupMembershipData),
        EventType(GROUP_MEMBERS_REMOVED, "student_group", True, "The student was removed from the group.",
                  GroupMembershipData),
        EventType(SESSION_COMPLETED, "session", True,
                  "A finished (ended or abandoned) session was reported: new, or changed since (a grade arriving).",
                  SessionCompletedData),
        EventType(FINAL_SCORE_CHANGED, "case_study", True,
                  "The student's final score on the case study changed (by its grading method).",
                  FinalScoreChangedData),
        EventType(STUDENTS_IMPORT_APPLIED, "student_import", False,
                  "A student import was applied; each student it wrote has its own event.", ImportAppliedData),
        EventType(EXPORT_DONE, "export_job", False, "A background export finished; its file can be downloaded.",
                  ExportDoneData),
    )
}
