"""attempts_standing, each student's totals on each case study, kept by PostgreSQL's triggers
(attempts.standing): after any mix of writes of sessions and ledger rows, by the ORM one row
or many at once, they equal the SPEC §4 values computed in Python from the rows themselves,
and a rebuild from scratch; an update that changes no counted value rewrites nothing; a bulk
load may defer them and rebuild (test_standing_concurrency.py: writers who commit at once)."""
import datetime as dt
import importlib
import random
from collections import defaultdict
from types import SimpleNamespace

import pytest
from django.db import connection

from attempts.models import AttemptGrant, Session
from attempts.standing import STANDING_DEFERRED_SQL, standing_rebuild
from testing.factories import AttemptGrantFactory, CaseStudyFactory, ProgrammeFactory, SessionFactory, StudentFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
COLUMNS = (
    "student_id, case_study_id, sessions, attempts_used, completed, graded_scores, best_score, joined_at,"
    " last_active_at, extra_attempts"
)


def _standing():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {COLUMNS} FROM attempts_standing ORDER BY student_id, case_study_id")
        return cursor.fetchall()


def _expected():
    """The same rows computed in Python from the sessions and the ledger, by SPEC §4's rules."""
    sessions, extra = defaultdict(list), defaultdict(int)
    for session in Session.objects.all():
        sessions[(session.student_id, session.case_study_id)].append(session)
    for grant in AttemptGrant.objects.all():
        extra[(grant.student_id, grant.case_study_id)] += grant.delta
    rows = []
    for pair in sorted(set(sessions) | set(extra)):
        own = sorted(sessions[pair], key=lambda s: (s.started_at, s.session_id))
        if not own and not extra[pair]:
            continue
        complete = [s for s in own if s.grading_status == Session.GradingStatus.COMPLETE]
        graded = [s.score for s in complete if s.score is not None]
        rows.append((
            *pair,
            len(own),
            sum(1 for s in own if s.consumes_attempt),
            len(complete),
            graded or None,
            max(graded) if graded else None,
            min((s.started_at for s in own), default=None),
            max((s.last_activity_at for s in own), default=None),
            extra[pair],
        ))
    return rows


def _session(rng, student, case_study):
    started = NOW + dt.timedelta(minutes=rng.randrange(0, 600))
    return Session(
        student=student, case_study=case_study, started_at=started,
        last_activity_at=started + dt.timedelta(minutes=rng.randrange(0, 90)),
        status=rng.choice(list(Session.Status)),
        transcript_status=rng.choice(list(Session.TranscriptStatus)),
        grading_status=rng.choice(list(Session.GradingStatus)),
        score=rng.choice([None, 0, 40.5, 71, 71, 100]),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_totals_follow_every_kind_of_write_and_equal_the_rules_and_a_rebuild(tenant, seed):
    rng = random.Random(seed)
    mba = ProgrammeFactory(code="MBA1234")
    students = [StudentFactory(programmes=[mba]) for _ in range(4)]
    case_studies = [CaseStudyFactory(programmes=[mba]) for _ in range(3)]

    def pair():
        return rng.choice(students), rng.choice(case_studies)

    for step in range(40):
        action = rng.choice(["one", "many", "update", "update many", "move", "delete", "grant", "grants"])
        existing = list(Session.objects.order_by("session_id"))
        if action == "one" or not existing and action in ("update", "update many", "move", "delete"):
            _session(rng, *pair()).save()
        elif action == "many":
            Session.objects.bulk_create([_session(rng, *pair()) for _ in range(rng.randrange(1, 8))])
        elif action == "update":
            session = rng.choice(existing)
            session.grading_status = rng.choice(list(Session.GradingStatus))
            session.score = rng.choice([None, 12, 88.25, 100])
            session.transcript_status = rng.choice(list(Session.TranscriptStatus))
            session.save()
        elif action == "update many":
            chosen = rng.sample(existing, min(len(existing), 5))
            for session in chosen:
                session.started_at -= dt.timedelta(minutes=rng.randrange(0, 900))
                session.score = rng.choice([None, 55, 99])
            Session.objects.bulk_update(chosen, ["started_at", "score"])
        elif action == "move":  # a session on another pair: both pairs change
            student, case_study = pair()
            Session.objects.filter(pk=rng.choice(existing).pk).update(student=student, case_study=case_study)
        elif action == "delete":
            Session.objects.filter(pk__in=[s.pk for s in rng.sample(existing, min(len(existing), 3))]).delete()
        elif action == "grant":
            student, case_study = pair()
            AttemptGrantFactory(student=student, case_study=case_study, delta=rng.choice([1, 2, -1]))
        else:
            AttemptGrant.objects.bulk_create([
                AttemptGrant(student=student, case_study=case_studies[0], delta=rng.choice([1, -1]), reason="Outage")
                for student in students
            ])
        assert _standing() == _expected(), (step, action)

    kept = _standing()
    assert kept, "the generated writes left no totals to compare"
    standing_rebuild()
    assert _standing() == kept


def test_an_update_that_changes_no_counted_value_rewrites_no_row(tenant):
    session = SessionFactory(score=70, grading_status=Session.GradingStatus.COMPLETE)
    SessionFactory(student=session.student, case_study=session.case_study, started_at=NOW)
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM attempts_standing")
        before = cursor.fetchall()
        Session.objects.update(status=Session.Status.ABANDONED, ended_at=NOW)
        cursor.execute("SELECT xmin::text FROM attempts_standing")
        assert cursor.fetchall() == before
        Session.objects.filter(pk=session.pk).update(score=71)
        cursor.execute("SELECT best_score FROM attempts_standing")
        assert cursor.fetchall() == [(71.0,)]


def test_a_ledger_that_sums_to_nothing_and_no_session_leaves_no_row(tenant):
    grant = AttemptGrantFactory(delta=2)
    assert [row[-1] for row in _standing()] == [2]
    AttemptGrantFactory(student=grant.student, case_study=grant.case_study, delta=-2)
    assert _standing() == []
    revoke = AttemptGrantFactory(delta=-1)  # below 0 as it is: readers floor it
    assert _standing() == [(revoke.student_id, revoke.case_study_id, 0, 0, 0, None, None, None, None, -1)]


def test_a_deferred_load_leaves_the_totals_until_the_rebuild(tenant):
    student, case_study = StudentFactory(), CaseStudyFactory()
    with connection.cursor() as cursor:
        cursor.execute(STANDING_DEFERRED_SQL)
    Session.objects.bulk_create([_session(random.Random(7), student, case_study) for _ in range(3)])
    AttemptGrantFactory(student=student, case_study=case_study)
    assert _standing() == []
    standing_rebuild()
    assert [(row[2], row[-1]) for row in _standing()] == [(3, 1)]
    SessionFactory(student=student, case_study=case_study)  # after the rebuild: kept again
    assert [row[2] for row in _standing()] == [4]
    assert _standing() == _expected()


def test_a_statement_of_many_pairs_keeps_them_all(tenant):
    """Beyond 1,000 pairs one statement takes the tenant's lock instead of one per pair."""
    students = [StudentFactory() for _ in range(35)]
    case_studies = [CaseStudyFactory() for _ in range(30)]
    rng = random.Random(11)
    Session.objects.bulk_create([_session(rng, student, case_study) for student in students for case_study in case_studies])
    rows = _standing()
    assert len(rows) == 35 * 30
    assert rows == _expected()


def test_the_first_fill_counts_what_is_there_in_batches(tenant, monkeypatch):
    """Migration 0005 fills the table from the rows its triggers did not see, a few students
    at a time; run again, it counts the same."""
    rng = random.Random(5)
    students = [StudentFactory() for _ in range(7)]
    case_studies = [CaseStudyFactory() for _ in range(3)]
    Session.objects.bulk_create([_session(rng, rng.choice(students), rng.choice(case_studies)) for _ in range(40)])
    AttemptGrantFactory(student=students[0], case_study=case_studies[2], delta=2)
    kept = _standing()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM attempts_standing")
    fill = importlib.import_module("attempts.migrations.0005_fill_case_study_standing")
    monkeypatch.setattr(fill, "STUDENTS_PER_BATCH", 2)
    fill.fill(None, SimpleNamespace(connection=connection))
    assert _standing() == kept == _expected()
    fill.fill(None, SimpleNamespace(connection=connection))
    assert _standing() == kept

