"""SPEC §4 derived values on a student's case-study cards."""
import datetime as dt

import pytest

from attempts.selectors import (
    card_attempt_totals,
    student_attempt_totals,
    student_case_study_card,
    student_case_study_cards,
)
from testing.factories import AttemptGrantFactory, CaseStudyFactory, ProgrammeFactory, SessionFactory, StudentFactory

T0 = dt.datetime(2025, 4, 3, 15, 0, tzinfo=dt.timezone.utc)


def _session(student, case_study, minutes, **kwargs):
    kwargs.setdefault("grading_status", "complete" if kwargs.get("score") is not None else "pending")
    return SessionFactory(student=student, case_study=case_study, started_at=T0 + dt.timedelta(minutes=minutes), **kwargs)


def test_missing_transcript_does_not_consume_an_attempt_as_in_the_seed_example():
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    student = StudentFactory(programmes=[mba])
    fuel = CaseStudyFactory(title="Fuel Subsidy removal in Nigeria", programmes=[mba])
    first = SessionFactory(student=student, case_study=fuel, started_at=T0, session_id="6650d3e4f5a6b7c8d9e0f1a2",
                           transcript_status="missing", grading_status="pending")
    second = SessionFactory(student=student, case_study=fuel, started_at=T0, session_id="6650d4e5f6a7b8c9d0e1f2a3",
                            score=75.0, grading_status="complete")
    card = student_case_study_card(student_id=student.pk, case_study_id=fuel.pk)
    assert (card.attempts_used, card.attempts_allowed, card.extra_attempts, card.best_score) == (1, 2, 0, 75.0)
    # Same started_at: numbering falls back to session_id ascending; newest attempt listed first.
    assert [(a.session.pk, a.label, a.used_for_final_score) for a in card.attempts] == [
        (second.pk, "Attempt 2", True),
        (first.pk, "Attempt 1", False),
    ]
    assert card.programme_codes == ["MBA1234"]
    assert card.programme_label == "Masters in Business Administration"


@pytest.mark.parametrize(
    "method, expected",
    [
        ("highest", [False, True, False, False]),  # 80 twice: the earliest 80 wins
        ("latest", [False, False, True, False]),  # the last graded attempt, not the pending one
        ("first", [True, False, False, False]),
        ("average", [True, True, True, False]),
    ],
)
def test_used_for_final_score_follows_the_grading_method(method, expected):
    student = StudentFactory()
    case_study = CaseStudyFactory(grading_method=method, max_attempts=5)
    _session(student, case_study, 0, score=60.0)
    _session(student, case_study, 10, score=80.0)
    _session(student, case_study, 20, score=80.0)
    _session(student, case_study, 30, score=None)
    card = student_case_study_card(student_id=student.pk, case_study_id=case_study.pk)
    oldest_first = list(reversed(card.attempts))
    assert [a.used_for_final_score for a in oldest_first] == expected
    assert card.best_score == 80.0


def test_extra_attempts_sum_the_ledger_and_never_go_below_zero():
    student = StudentFactory()
    case_study = CaseStudyFactory(max_attempts=2)
    AttemptGrantFactory(student=student, case_study=case_study, delta=3)
    AttemptGrantFactory(student=student, case_study=case_study, delta=-1)
    card = student_case_study_card(student_id=student.pk, case_study_id=case_study.pk)
    assert (card.extra_attempts, card.attempts_allowed, card.attempts) == (2, 4, [])
    AttemptGrantFactory(student=student, case_study=case_study, delta=-5)
    card = student_case_study_card(student_id=student.pk, case_study_id=case_study.pk)
    assert (card.extra_attempts, card.attempts_allowed) == (0, 2)


def test_cards_are_most_recently_started_first_in_two_queries(django_assert_num_queries):
    student = StudentFactory()
    older, newer = CaseStudyFactory(), CaseStudyFactory()
    for minutes in (0, 5, 10):
        _session(student, older, minutes)
    _session(student, newer, 60, transcript_status="failed")
    # sessions; case studies with the student's extra attempts and their programmes
    with django_assert_num_queries(2):
        cards = student_case_study_cards(student_id=student.pk)
    assert [c.case_study.pk for c in cards] == [newer.pk, older.pk]
    assert [c.attempts_used for c in cards] == [0, 3]


def test_totals_count_sessions_attempts_and_case_studies():
    student = StudentFactory()
    a, b = CaseStudyFactory(), CaseStudyFactory()
    _session(student, a, 0)
    _session(student, a, 5, transcript_status="missing")
    _session(student, b, 9, transcript_status="partial")
    totals = student_attempt_totals(student_id=student.pk)
    assert (totals["case_studies_attempted"], totals["total_sessions"], totals["total_attempts"]) == (2, 3, 2)


def test_totals_counted_from_the_cards_are_the_aggregate_totals():
    student = StudentFactory()
    a, b, c = CaseStudyFactory(), CaseStudyFactory(), CaseStudyFactory()
    _session(student, a, 0)
    _session(student, a, 5, transcript_status="missing")
    _session(student, b, 9, transcript_status="failed")
    _session(student, b, 12, score=40.0)
    AttemptGrantFactory(student=student, case_study=c, delta=2)  # a card without attempts
    cards = student_case_study_cards(student_id=student.pk, case_study_ids=[a.pk, b.pk, c.pk])
    assert card_attempt_totals(cards) == student_attempt_totals(student_id=student.pk) == {
        "case_studies_attempted": 2,
        "total_sessions": 4,
        "total_attempts": 2,
    }


def test_cards_carry_programmes_by_code_and_extra_attempts_never_below_zero():
    student = StudentFactory()
    zed, abe = ProgrammeFactory(code="ZED1", name="Zoology"), ProgrammeFactory(code="ABE1", name="Accounting")
    granted, revoked, plain = (CaseStudyFactory(programmes=[zed, abe]) for _ in range(3))
    for n, case_study in enumerate((granted, revoked, plain)):
        _session(student, case_study, n)
    AttemptGrantFactory(student=student, case_study=granted, delta=3)
    AttemptGrantFactory(student=student, case_study=granted, delta=-1)
    AttemptGrantFactory(student=student, case_study=revoked, delta=-2)
    AttemptGrantFactory(student=StudentFactory(), case_study=plain, delta=5)  # another student's
    cards = {card.case_study.pk: card for card in student_case_study_cards(student_id=student.pk)}
    assert [cards[cs.pk].extra_attempts for cs in (granted, revoked, plain)] == [2, 0, 0]
    assert cards[plain.pk].programme_codes == ["ABE1", "ZED1"]
    assert cards[plain.pk].programme_label == "Accounting, Zoology"
