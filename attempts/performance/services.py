"""Reading a transcript is reading personal data: it is recorded in the audit trail."""
from accounts.audit.services import audit_record
from attempts.performance.selectors import attempt_transcript


def attempt_transcript_open(*, session):
    """attempt_transcript(session), with an audit event saying who read it. One insert more."""
    audit_record(
        action="attempt.transcript_read",
        target_type="session",
        target_id=session.pk,
        detail={"student_id": session.student_id, "case_study_id": session.case_study_id},
    )
    return attempt_transcript(session=session)
