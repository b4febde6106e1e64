"""One attempt's detail, transcript and grade report (SPEC §7.3), for the student-performance
API and the attempt page.

Attempt labels and `used_for_final_score` come from the card selector (attempts.selectors), so
the attempt page and the student detail can never disagree.
"""
from dataclasses import dataclass

from attempts.models import GradeReport, Session
from attempts.selectors import CaseStudyCard, student_case_study_card

DEFAULT_MAX_SCORE = 100.0  # session scores are 0-100 (SPEC §3)

MSG_TRANSCRIPT_PARTIAL = "Only part of this transcript was saved; these are the messages that exist."
MSG_TRANSCRIPT_PROCESSING = "The transcript is still being processed; try again in a few minutes."
MSG_TRANSCRIPT_MISSING = "No transcript was recorded for this attempt, so it did not use up an attempt."
MSG_TRANSCRIPT_FAILED = "The transcript could not be processed, so this attempt did not use up an attempt."
MSG_GRADE_PENDING = "This attempt has not been graded yet."
MSG_GRADE_FAILED = "Grading failed for this attempt; no report is available."
MSG_GRADE_NO_REPORT = "Grading is complete but no detailed report was received."

# Which messages each transcript status may show, and why (SPEC: be honest per status).
_TRANSCRIPT_RULES = {
    Session.TranscriptStatus.AVAILABLE: (True, None),
    Session.TranscriptStatus.PARTIAL: (True, MSG_TRANSCRIPT_PARTIAL),
    Session.TranscriptStatus.PROCESSING: (False, MSG_TRANSCRIPT_PROCESSING),
    Session.TranscriptStatus.MISSING: (False, MSG_TRANSCRIPT_MISSING),
    Session.TranscriptStatus.FAILED: (False, MSG_TRANSCRIPT_FAILED),
}


def performance_session_get(*, session_id):
    """The session with its student and case study, or None. Sessions of deleted students are
    gone from the console, like the students themselves."""
    return (
        Session.objects.select_related("student", "case_study")
        .filter(pk=session_id, student__deleted_at__isnull=True)
        .first()
    )


@dataclass
class AttemptDetail:
    session: Session
    attempt_label: str
    used_for_final_score: bool
    card: CaseStudyCard  # the attempt's case-study card (used/allowed, best score)

    @property
    def duration_seconds(self):
        session = self.session
        if session.ended_at is None or session.status == Session.Status.IN_PROGRESS:
            return None
        return max(0, int((session.ended_at - session.started_at).total_seconds()))


def attempt_detail(*, session):
    """The card entry of `session`: its label and final-score flag, computed by the card
    selector with the rest of its card (sessions, case-study programmes, grant totals)."""
    card = student_case_study_card(student_id=session.student_id, case_study_id=session.case_study_id)
    attempt = next(a for a in card.attempts if a.session.pk == session.pk)
    return AttemptDetail(
        session=session, attempt_label=attempt.label, used_for_final_score=attempt.used_for_final_score, card=card
    )


@dataclass
class Transcript:
    session: Session
    detail: str | None
    messages: list


def attempt_transcript(*, session):
    """The messages a transcript status lets us show, in conversation order: all when
    available, what exists when partial, none while processing or when missing or failed."""
    show, detail = _TRANSCRIPT_RULES[session.transcript_status]
    messages = list(session.messages.order_by("position")) if show else []
    return Transcript(session=session, detail=detail, messages=messages)


@dataclass
class Grade:
    session: Session
    detail: str | None
    max_score: float
    criteria: list
    feedback: str | None
    graded_at: object


def attempt_grade(*, session):
    """The grade report. Pending or failed grading shows no criteria, feedback or graded_at
    (the score as stored); max_score is the report's, else the 0-100 scale's."""
    report = GradeReport.objects.filter(session_id=session.pk).first()
    max_score = report.max_score if report else DEFAULT_MAX_SCORE
    if session.grading_status == Session.GradingStatus.PENDING:
        return Grade(session=session, detail=MSG_GRADE_PENDING, max_score=max_score, criteria=[], feedback=None, graded_at=None)
    if session.grading_status == Session.GradingStatus.FAILED:
        return Grade(session=session, detail=MSG_GRADE_FAILED, max_score=max_score, criteria=[], feedback=None, graded_at=None)
    if report is None:
        return Grade(session=session, detail=MSG_GRADE_NO_REPORT, max_score=max_score, criteria=[], feedback=None, graded_at=None)
    return Grade(
        session=session,
        detail=None,
        max_score=report.max_score,
        criteria=list(report.criteria.order_by("position")),
        feedback=report.feedback or None,
        graded_at=report.graded_at,
    )
