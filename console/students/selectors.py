"""The console's view of one student: the header and the per-case-study cards (seed: Get
Student Details), and the grant history the HTML page adds. Composes the students listing's
student with the attempts rules, so the JSON detail and the HTML page read the same."""
from dataclasses import dataclass

from django.db import connection

from accounts.models import StaffUser
from attempts.grants.selectors import attempt_grant_list
from attempts.selectors import card_attempt_totals, student_attempt_totals, student_case_study_cards
from config.compiled import prepared_statements
from students.listing.selectors import student_get
from students.models import Cohort, Student, StudentGroup

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


def list_filter_choices():
    """The students list's filters beyond the seed's, as {"cohort", "group", "advisor": [(id, label)]}:
    cohorts and groups by name, and the staff who advise someone by name, then email (labelled by
    name, else email). One statement: three ORM queries cost the page about 2 ms of compiling."""
    cohort, group, staff = (model._meta.db_table for model in (Cohort, StudentGroup, StaffUser))
    student = Student._meta.db_table
    with prepared_statements(connection), connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT
                (SELECT coalesce(json_agg(json_build_array(id, name) ORDER BY name, id), '[]') FROM {cohort}),
                (SELECT coalesce(json_agg(json_build_array(id, name) ORDER BY name, id), '[]') FROM {group}),
                (SELECT coalesce(json_agg(json_build_array(id::text, coalesce(nullif(full_name, ''), email))
                                          ORDER BY full_name, email), '[]')
                   FROM {staff} s WHERE EXISTS (SELECT 1 FROM {student} st WHERE st.advisor_id = s.id))"""
        )
        cohorts, groups, advisors = cursor.fetchone()
    return {"cohort": cohorts, "group": groups, "advisor": advisors}
