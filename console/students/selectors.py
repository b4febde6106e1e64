"""The console's view of one student: the header and the per-case-study cards (seed: Get
Student Details), and the grant history the HTML page adds. Composes the students listing's
student with the attempts rules, so the JSON detail and the HTML page read the same."""
from dataclasses import dataclass

from attempts.grants.selectors import attempt_grant_list
from attempts.selectors import card_attempt_totals, student_attempt_totals, student_case_study_cards
from students.listing.selectors import student_get
from students.models import Student

GRANT_HISTORY_LIMIT = 100


@dataclass
class StudentDetail:
    """The console's operational profile of one student (seed: Get Student Details)."""

    student: Student
    case_studies_attempted: int
    total_attempts: int
    total_sessions: int
    cards: list | None = None  # attempts.selectors.CaseStudyCard, most recently started first

    @property
    def student_number(self):
        """The SIS number when set, else the user_id (SPEC §4)."""
        return self.student.student_number or self.student.user_id

    @property
    def cohort(self):
        return self.student.cohort.name if self.student.cohort_id else None


def student_detail(*, user_id=None, student=None, include_case_studies=True):
    """StudentDetail (of `student`, or the one with `user_id`, 404 NOT_FOUND when there is
    none). Queries: student (with cohort, overall_case_studies and programmes); then
    either the attempt totals (header only) or the cards (sessions, case studies with extra
    attempts, their programmes), from which the totals are counted. Four at most, whatever
    the number of sessions."""
    if student is None:
        student = student_get(user_id)
    if not include_case_studies:
        return StudentDetail(student=student, **student_attempt_totals(student_id=student.pk))
    cards = student_case_study_cards(student_id=student.pk)
    return StudentDetail(student=student, cards=cards, **card_attempt_totals(cards))


def student_grant_history(*, student_id, limit=GRANT_HISTORY_LIMIT):
    """The student's newest ledger rows (with actor and case study), newest first. One query."""
    return list(attempt_grant_list(user_id=student_id).select_related("case_study")[:limit])
