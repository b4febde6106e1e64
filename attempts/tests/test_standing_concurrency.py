"""attempts_standing (attempts.standing) with real commits (`committed_tenant`): two writers of
one pair who commit at once count each other's rows; a TRUNCATE of the sessions keeps what
the ledger adds up to."""
import datetime as dt
from functools import partial

import pytest
from django.db import connection

from attempts.models import AttemptGrant, Session
from attempts.tests.test_standing import NOW, _expected, _standing
from testing.concurrency import held_then_meanwhile
from testing.factories import AttemptGrantFactory, CaseStudyFactory, ProgrammeFactory, SessionFactory, StudentFactory


def test_truncating_the_sessions_keeps_the_ledgers_totals(committed_tenant):
    grant = AttemptGrantFactory(delta=1)
    SessionFactory(student=grant.student, case_study=grant.case_study)
    SessionFactory()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE attempts_session CASCADE")
    assert _standing() == [(grant.student_id, grant.case_study_id, 0, 0, 0, None, None, None, None, 1)]


def _session_of(score, hours):
    def write(student, case_study):
        at = NOW + dt.timedelta(hours=hours)
        Session.objects.create(student=student, case_study=case_study, started_at=at, last_activity_at=at,
                               grading_status=Session.GradingStatus.COMPLETE, score=score)
    return write


def _grant(student, case_study):
    AttemptGrant.objects.create(student=student, case_study=case_study, delta=1, reason="Outage")


def _many_pairs_with(student, case_study):
    """One statement of 1,001 pairs (the tenant's lock, not one per pair), the contested one
    among them."""
    others = StudentFactory.create_batch(1000)
    Session.objects.bulk_create([
        Session(student=each, case_study=case_study, started_at=NOW, last_activity_at=NOW,
                grading_status=Session.GradingStatus.COMPLETE, score=60)
        for each in [student, *others]
    ])


@pytest.mark.parametrize(("first", "second", "expected"), [
    (_session_of(60, 0), _session_of(80, 1), (2, [60.0, 80.0], 0)),
    (_grant, _session_of(80, 1), (1, [80.0], 1)),
    (_session_of(60, 0), _grant, (1, [60.0], 1)),
    (_many_pairs_with, _session_of(80, 1), (2, [60.0, 80.0], 0)),
    (_session_of(80, 1), _many_pairs_with, (2, [60.0, 80.0], 0)),
], ids=["session and session", "grant and session", "session and grant", "many pairs and session", "session and many pairs"])
def test_two_writers_of_one_pair_committed_together_count_each_other(committed_tenant, first, second, expected):
    """The first writer's transaction stays open a second after its statement; the second
    writes one statement meanwhile. Its recount must wait for the first to commit and then
    count both writes, not only what it saw before waiting."""
    mba = ProgrammeFactory(code="MBA1234")
    student, case_study = StudentFactory(programmes=[mba]), CaseStudyFactory(programmes=[mba])
    writes = (partial(first, student, case_study), partial(second, student, case_study))
    assert held_then_meanwhile(committed_tenant, *writes) == []
    rows = _standing()
    assert [(row[2], row[5], row[-1]) for row in rows if row[0] == student.pk] == [expected]
    assert rows == _expected()
