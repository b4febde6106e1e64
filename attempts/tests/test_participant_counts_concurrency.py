"""The participants' counts and the pairs' listed state (attempts migration 0007) with real
commits (`committed_tenant`): a student archived while a session of theirs is written, either
first, leaves their pairs unlisted and the counts exact; two transactions that change the
counts of the same case studies in opposite orders never wait for each other."""
import threading
import time
from functools import partial

import pytest
from django.db import transaction

from attempts.models import Session
from attempts.tests.test_participant_counts import COUNTS_SQL, ON, _fetch, assert_kept
from attempts.tests.test_standing import NOW
from students.records.services import student_archive, student_unarchive
from testing.concurrency import held_then_meanwhile, race, raised
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory


def _report(student, case_study, *, graded=True):
    Session.objects.create(student=student, case_study=case_study, started_at=NOW, last_activity_at=NOW,
                           grading_status=Session.GradingStatus.COMPLETE if graded else Session.GradingStatus.PENDING,
                           score=70 if graded else None)


def _archive(student, case_study):
    student_archive(user_id=student.pk, withdrawn_on=ON)


def _unarchive(student, case_study):
    student_unarchive(user_id=student.pk)


@pytest.mark.parametrize(("archived", "first", "second", "listed"), [
    (False, _report, _archive, False),
    (False, _archive, _report, False),
    (True, _report, _unarchive, True),
    (True, _unarchive, _report, True),
], ids=["report, then archive", "archive, then report", "report, then restore", "restore, then report"])
def test_a_student_archived_or_restored_while_a_session_of_theirs_is_written(committed_tenant, archived, first,
                                                                            second, listed):
    """The first transaction stays open a second after its write; the second writes meanwhile.
    Either way the student's new pair ends with their listed state, and the counts with it."""
    mba = ProgrammeFactory(code="MBA1234")
    student, case_study = StudentFactory(programmes=[mba]), CaseStudyFactory(programmes=[mba])
    _report(student, CaseStudyFactory(programmes=[mba]))  # a pair already there, changed too
    if archived:
        _archive(student, case_study)
    writes = (partial(first, student, case_study), partial(second, student, case_study))
    assert held_then_meanwhile(committed_tenant, *writes) == []
    assert _fetch(f"SELECT DISTINCT listed FROM attempts_standing WHERE student_id = '{student.pk}'") == [(listed,)]
    assert_kept()


def test_writers_changing_the_same_counts_in_opposite_orders_never_wait_for_each_other(committed_tenant):
    """Each transaction adds a participant to one case study, then, while the other has done
    the same the other way round and neither has committed, to the other one. Each case study
    has a committed count row to fold: waiting for the rows the other folded would deadlock
    here; a fold skips what another transaction holds."""
    mba = ProgrammeFactory(code="MBA1234")
    first, second = CaseStudyFactory(programmes=[mba]), CaseStudyFactory(programmes=[mba])
    students = StudentFactory.create_batch(6, programmes=[mba])
    _report(students[4], first)
    _report(students[5], second)
    both_wrote_once = threading.Barrier(2)

    def writer(one, other, a, b):
        def work():
            with transaction.atomic():
                _report(a, one)
                both_wrote_once.wait(timeout=30)
                _report(b, other, graded=False)
        return work

    started = time.monotonic()
    results = race(committed_tenant, [writer(first, second, *students[0:2]), writer(second, first, *students[2:4])])
    assert raised(results) == []
    assert time.monotonic() - started < 10
    assert_kept()
    assert sorted(row[1:] for row in _fetch(COUNTS_SQL)) == [(1, 2), (1, 2)]
