"""Everything held about one student, read for their data export: a fixed number of queries,
whatever the number of sessions, messages, grants or events."""
from dataclasses import dataclass

from django.db.models import Prefetch, Q

from accounts.models import AuditEvent
from attempts.models import AttemptGrant, GradeCriterion, Session, TranscriptMessage
from students.models import ArchivedMembership, Enrolment, GroupMembership, Student
from students.records.selectors import student_record_get


@dataclass
class StudentData:
    student: Student
    enrolments: list[Enrolment]
    sessions: list[Session]  # with case_study, grade_report, messages and the report's criteria
    grants: list[AttemptGrant]
    memberships: list[GroupMembership]
    archived_memberships: list[ArchivedMembership]
    audit_events: list[AuditEvent]  # about the student and their sessions, oldest first


def _sessions(student_id):
    sessions = Session.objects.filter(student_id=student_id)
    sessions = sessions.select_related("case_study", "grade_report")
    sessions = sessions.prefetch_related(
        Prefetch("messages", queryset=TranscriptMessage.objects.order_by("position")),
        Prefetch("grade_report__criteria", queryset=GradeCriterion.objects.order_by("position")),
    )
    return list(sessions.order_by("case_study_id", "started_at", "session_id"))


def _about(student_id, session_ids):
    """The audit events about the student, or one of their sessions (a transcript read)."""
    about_student = Q(target_type="student", target_id=student_id)
    about_sessions = Q(target_type="session", target_id__in=session_ids)
    events = AuditEvent.objects.filter(about_student | about_sessions if session_ids else about_student)
    return list(events.order_by("occurred_at", "id"))


def student_data_get(*, user_id):
    """StudentData of a student (a deleted one too: their data is still held), or 404 (400 for a
    malformed id). Queries: the student
    (cohort and advisor joined) and their programmes; enrolments; sessions; messages; criteria;
    grants; group memberships; remembered memberships; audit events: 10."""
    student = student_record_get(user_id=user_id, deleted_too=True)
    sessions = _sessions(student.pk)
    return StudentData(
        student=student,
        enrolments=list(Enrolment.objects.filter(student=student).select_related("programme").order_by("programme__code")),
        sessions=sessions,
        grants=list(AttemptGrant.objects.filter(student=student).select_related("case_study").order_by("created_at", "id")),
        memberships=list(
            GroupMembership.objects.filter(student=student).select_related("group__cluster").order_by("group__name", "group_id")
        ),
        archived_memberships=list(
            ArchivedMembership.objects.filter(student=student).select_related("group__cluster").order_by("group__name", "group_id")
        ),
        audit_events=_about(student.pk, [s.pk for s in sessions]),
    )
