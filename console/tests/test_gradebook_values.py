"""The gradebook's values (one SQL statement) equal the student detail's cards (the Python
rules of attempts.selectors) on generated cases: every grading method, tied scores and tied
start times, ungraded and in-progress attempts, transcripts that cost no attempt, ledgers that
sum below zero, case studies assigned and not, attempted and not."""
import datetime as dt
import random

import pytest
from django.db import transaction

from attempts.models import AttemptGrant, Session
from attempts.selectors import student_case_study_cards
from catalogue.models import CaseStudy
from console.reports.selectors import gradebook_case_studies, gradebook_rows, gradebook_sql
from students.listing.selectors import student_list_filterset
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory

NOW = dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.timezone.utc)
METHODS = [method.value for method in CaseStudy.GradingMethod]


def _generate(rng):
    programmes = [ProgrammeFactory(code=f"GEN{n}") for n in range(3)]
    case_studies = [
        CaseStudyFactory(title=f"Case {n}", grading_method=METHODS[n % len(METHODS)], max_attempts=rng.randint(1, 3),
                         programmes=rng.sample(programmes, rng.randint(0, 2)))
        for n in range(8)
    ]
    sessions, grants = [], []
    for n in range(40):
        student = StudentFactory(email=f"gen{n}@miva.university", programmes=rng.sample(programmes, rng.randint(0, 2)))
        for case_study in rng.sample(case_studies, rng.randint(0, len(case_studies))):
            # Few distinct start times and scores, so ties on both are common.
            for _ in range(rng.randint(0, 6)):
                started = NOW - dt.timedelta(days=rng.randint(0, 3))
                graded = rng.random() < 0.7
                sessions.append(Session(
                    student=student, case_study=case_study, started_at=started, last_activity_at=started,
                    status=rng.choice(list(Session.Status)),
                    transcript_status=rng.choice(list(Session.TranscriptStatus)),
                    grading_status=Session.GradingStatus.COMPLETE if graded else rng.choice(["pending", "failed"]),
                    # A complete grading without a score counts as ungraded; scores with decimals
                    # make averages whose last bit depends on the order of the sum.
                    score=rng.choice([None, 0, 50, 85, 85, 100, round(rng.uniform(0, 100), 3), 1 / 3]),
                ))
            for _ in range(rng.choice([0, 0, 1, 2, 3])):
                grants.append(AttemptGrant(student=student, case_study=case_study, delta=rng.choice([-3, -2, -1, 1, 2]),
                                           reason="generated"))
        for _ in range(rng.choice([0, 1])):  # a ledger row on a case study never attempted
            grants.append(AttemptGrant(student=student, case_study=rng.choice(case_studies), delta=rng.choice([-2, 1]),
                                       reason="generated"))
    Session.objects.bulk_create(sessions)
    AttemptGrant.objects.bulk_create(grants)
    return case_studies


def _number(text):
    return None if text is None else float(text)


# Every listed student (their sessions joined), and a narrowing filter that every generated
# student matches (their sessions looked up by student: case_study_values_sql's `probe`).
FILTERS = {"every student": {}, "a search": {"search": "miva.university"}}


@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gradebook_values_equal_the_detail_cards_on_generated_cases(seed, filters):
    case_studies = _generate(random.Random(seed))
    columns = gradebook_case_studies(case_study_ids=[case_study.pk for case_study in case_studies])
    with transaction.atomic():
        rows = list(gradebook_rows(student_list_filterset(filters), columns))
        texts = list(gradebook_rows(student_list_filterset(filters), columns, as_text=True))
    assert len(rows) == 40
    by_email = {row[1]: row for row in rows}
    checked = {"shown": 0, "blank": 0, "average": 0}
    for text_row in texts:
        email, values = text_row[1], by_email[text_row[1]][6]  # the CSV's cells: no programme ids
        student = StudentFactory._meta.model.objects.get(email=email)
        cards = {card.case_study.pk: card for card in student_case_study_cards(
            student_id=student.pk, case_study_ids=[column.pk for column in columns])}
        taken = set(student.programmes.values_list("pk", flat=True))
        for index, column in enumerate(columns):
            four, four_text = values[4 * index: 4 * index + 4], text_row[5][4 * index: 4 * index + 4]
            card = cards[column.pk]
            if not (card.attempts or taken & set(column.programme_id_list or ())):
                assert four == [None] * 4 and four_text == [None] * 4
                checked["blank"] += 1
                continue
            expected = [card.attempts_used, card.attempts_allowed, card.best_score, card.final_score]
            assert four == expected, (email, column.title, column.grading_method)
            assert [_number(cell) for cell in four_text] == expected  # the CSV's text reads back the same float
            checked["shown"] += 1
            checked["average"] += column.grading_method == "average" and card.final_score is not None
    assert checked["shown"] > 100 and checked["blank"] > 10 and checked["average"] > 5, checked


@pytest.mark.parametrize(("filters", "probed"), [({}, False), ({"search": "gen"}, True), ({"status": "active"}, False)])
def test_a_narrowed_list_has_its_values_looked_up_by_student(filters, probed):
    case_studies = gradebook_case_studies(case_study_ids=[CaseStudyFactory().pk])
    sql, _ = gradebook_sql(student_list_filterset(filters), case_studies)
    assert ("ANY(ARRAY(SELECT pk FROM _students))" in sql) is probed
    assert ("JOIN _students" in sql) is not probed
