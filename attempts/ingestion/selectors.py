"""Reads of the ingestion: the final scores a session report may change."""
from collections import defaultdict

from attempts.models import Session
from attempts.selectors import case_study_card


def final_scores(*, pairs, case_studies):
    """{(student_id, case_study_id): final score or None} of each pair, by the rule the
    student's detail shows (attempts.selectors.case_study_card, the case study's grading
    method). `case_studies`: {case_study_id: CaseStudy}. One query: the pairs' sessions."""
    pairs = set(pairs)
    if not pairs:
        return {}
    sessions = (
        Session.objects.filter(
            student_id__in={student_id for student_id, _ in pairs},
            case_study_id__in={case_study_id for _, case_study_id in pairs},
        )
        .only("session_id", "student_id", "case_study_id", "started_at", "score", "grading_status", "transcript_status")
        .order_by("student_id", "case_study_id", "started_at", "session_id")
    )
    by_pair = defaultdict(list)
    for session in sessions:
        pair = (session.student_id, session.case_study_id)
        if pair in pairs:
            by_pair[pair].append(session)
    return {
        pair: case_study_card(case_studies[pair[1]], by_pair.get(pair, ())).final_score for pair in pairs
    }
