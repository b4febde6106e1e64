"""The participants' counts kept per case study and the listed state kept on each student's
totals (attempts migration 0007): after any mix of writes of sessions, ledger rows and students
(archived, restored, deleted softly or for good, one or many at once), every pair's `listed`
is its student's, the counts equal a count of the listed pairs, and the dashboard's pages read
from them equal the pages counted over the students; a rebuild and the migration's first fill
count the same. Writers with real commits: test_participant_counts_concurrency.py; through the
production server: test_standing_live.py."""
import datetime as dt
import importlib
import random
from types import SimpleNamespace

import pytest
from django.db import connection

from attempts.models import AttemptGrant, Session
from attempts.participants import selectors as participants
from attempts.standing import standing_rebuild
from attempts.tests.test_standing import _session
from students.models import Student
from students.records.services import (
    student_archive,
    student_delete,
    student_unarchive,
    students_archive_bulk,
    students_unarchive_bulk,
)
from testing.factories import AttemptGrantFactory, CaseStudyFactory, ProgrammeFactory, StudentFactory

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 11, 1)

# Each case study's listed pairs with a session, none graded (joined) or one graded (completed),
# counted from the students themselves.
RECOUNT_SQL = """
SELECT st.case_study_id, count(*) FILTER (WHERE st.completed = 0), count(*) FILTER (WHERE st.completed > 0)
FROM attempts_standing st JOIN students_student s ON s.user_id = st.student_id
WHERE NOT s.archived AND s.deleted_at IS NULL AND st.sessions > 0
GROUP BY 1 HAVING count(*) > 0 ORDER BY 1
"""
COUNTS_SQL = """
SELECT case_study_id, sum(joined), sum(completed) FROM attempts_participantcount
GROUP BY 1 HAVING sum(joined) <> 0 OR sum(completed) <> 0 ORDER BY 1
"""
# Pairs whose `listed` is not their student's.
WRONG_LISTED_SQL = """
SELECT st.student_id, st.case_study_id FROM attempts_standing st
LEFT JOIN students_student s ON s.user_id = st.student_id
WHERE st.listed IS DISTINCT FROM coalesce(NOT s.archived AND s.deleted_at IS NULL, false)
"""


def _fetch(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def assert_kept(context=None):
    assert _fetch(WRONG_LISTED_SQL) == [], context
    assert _fetch(COUNTS_SQL) == _fetch(RECOUNT_SQL), context


# The queries whose page is read from the totals and whose total is the kept counts.
COUNTED_QUERIES = [
    participants.ParticipantQuery(statuses=statuses, ordering=ordering)
    for statuses in [(participants.JOINED, participants.COMPLETED), (participants.JOINED,), (participants.COMPLETED,)]
    for ordering in participants.ORDERINGS
    if ordering.lstrip("-") != "name"
]


def assert_pages_equal_the_counted_ones(case_studies, monkeypatch):
    """Every counted query's pages (and a page past the end) equal the same query counted over
    the students, as every other query is."""
    for case_study in case_studies:
        for query in COUNTED_QUERIES:
            assert participants._counted(query)
            for limit, offset in ((3, 0), (3, 3), (100, 0), (5, 400)):
                kept = participants.participants_page(case_study=case_study, query=query, limit=limit, offset=offset)
                with monkeypatch.context() as patched:
                    patched.setattr(participants, "_counted", lambda query: False)
                    counted = participants.participants_page(case_study=case_study, query=query, limit=limit, offset=offset)
                assert kept == counted, (case_study.pk, query, limit, offset)
                assert type(kept[0]) is int  # as JSON, 3, not 3.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_counts_follow_every_kind_of_write_and_the_pages_read_from_them_are_the_counted_ones(
    tenant, seed, monkeypatch
):
    rng = random.Random(seed)
    mba = ProgrammeFactory(code="MBA1234")
    students = [StudentFactory(programmes=[mba]) for _ in range(6)]
    case_studies = [CaseStudyFactory(programmes=[mba]) for _ in range(3)]

    def live(*, archived=None):
        rows = Student.objects.filter(pk__in=[s.pk for s in students], deleted_at__isnull=True)
        return list(rows if archived is None else rows.filter(archived=archived))

    for step in range(45):
        action = rng.choice(["one", "many", "update", "move", "delete", "grant", "archive", "unarchive",
                             "archive many", "unarchive many", "soft delete", "delete for good", "raw"])
        existing = list(Session.objects.order_by("session_id"))
        listed, archived = live(archived=False), live(archived=True)
        if action == "one" or not existing and action in ("update", "move", "delete"):
            _session(rng, rng.choice(live() or students), rng.choice(case_studies)).save()
        elif action == "many":
            Session.objects.bulk_create([_session(rng, rng.choice(live() or students), rng.choice(case_studies))
                                         for _ in range(rng.randrange(1, 8))])
        elif action == "update":
            session = rng.choice(existing)
            session.grading_status = rng.choice(list(Session.GradingStatus))
            session.score = rng.choice([None, 12, 100])
            session.save()
        elif action == "move":
            Session.objects.filter(pk=rng.choice(existing).pk).update(
                student=rng.choice(live() or students), case_study=rng.choice(case_studies))
        elif action == "delete":
            Session.objects.filter(pk__in=[s.pk for s in rng.sample(existing, min(len(existing), 3))]).delete()
        elif action == "grant":
            AttemptGrantFactory(student=rng.choice(live() or students), case_study=rng.choice(case_studies))
        elif action == "archive" and listed:
            student_archive(user_id=rng.choice(listed).pk, withdrawn_on=ON)
        elif action == "unarchive" and archived:
            student_unarchive(user_id=rng.choice(archived).pk)
        elif action == "archive many" and len(listed) > 1:
            students_archive_bulk(user_ids=[s.pk for s in rng.sample(listed, 2)], graduated_on=ON)
        elif action == "unarchive many" and len(archived) > 1:
            students_unarchive_bulk(user_ids=[s.pk for s in rng.sample(archived, 2)])
        elif action == "soft delete" and listed:
            student_delete(user_id=rng.choice(listed).pk)
        elif action == "delete for good" and len(live()) > 2:
            rng.choice(live()).delete()  # its sessions and ledger rows with it
        elif action == "raw":  # one statement changing many students' listed state, and not
            with connection.cursor() as cursor:
                cursor.execute("UPDATE students_student SET archived = NOT archived, last_seen = now() WHERE deleted_at IS NULL")
        assert_kept((step, action))
    assert _fetch(COUNTS_SQL), "the generated writes left nothing to count"
    assert_pages_equal_the_counted_ones(case_studies, monkeypatch)
    kept = _fetch(COUNTS_SQL)
    standing_rebuild()
    assert _fetch(COUNTS_SQL) == kept
    assert_kept()


def test_a_statement_folds_the_rows_it_finds_into_one(tenant):
    """Each write that changes a case study's counts leaves one row for it, holding the sum of
    its change and of the rows it found."""
    student, case_study = StudentFactory(), CaseStudyFactory()
    for minutes in range(3):
        _session(random.Random(minutes), StudentFactory(), case_study).save()
    _session(random.Random(9), student, case_study).save()
    assert _fetch(f"SELECT count(*) FROM attempts_participantcount WHERE case_study_id = '{case_study.pk}'") == [(1,)]
    assert_kept()


def test_no_count_changes_when_nothing_counted_does(tenant):
    """A grant, a second session of a pair already joined, a student's other fields: no row."""
    session = _session(random.Random(1), StudentFactory(), CaseStudyFactory())
    session.grading_status = Session.GradingStatus.PENDING
    session.save()
    before = _fetch("SELECT id, case_study_id, joined, completed FROM attempts_participantcount")
    AttemptGrantFactory(student=session.student, case_study=session.case_study)
    second = _session(random.Random(2), session.student, session.case_study)
    second.grading_status = Session.GradingStatus.PENDING
    second.save()
    Student.objects.filter(pk=session.student_id).update(first_name="Ngozi")
    assert _fetch("SELECT id, case_study_id, joined, completed FROM attempts_participantcount") == before
    assert AttemptGrant.objects.exists()


def test_the_first_fill_marks_the_unlisted_and_counts_each_case_study(tenant, monkeypatch):
    """Migration 0007 sets `listed` on the pairs of students unlisted before its trigger, a few
    students at a time, then counts each case study; run again, it counts the same."""
    rng = random.Random(4)
    students = [StudentFactory() for _ in range(7)]
    case_studies = [CaseStudyFactory() for _ in range(3)]
    Session.objects.bulk_create([_session(rng, rng.choice(students), rng.choice(case_studies)) for _ in range(40)])
    student_archive(user_id=students[0].pk, withdrawn_on=ON)
    student_delete(user_id=students[1].pk)
    student_archive(user_id=students[2].pk, graduated_on=ON)
    kept = _fetch(COUNTS_SQL)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE attempts_standing DISABLE TRIGGER USER")
        cursor.execute("UPDATE attempts_standing SET listed = true")
        cursor.execute("DELETE FROM attempts_participantcount")
        cursor.execute("ALTER TABLE attempts_standing ENABLE TRIGGER USER")
    assert _fetch(WRONG_LISTED_SQL) != []
    fill = importlib.import_module("attempts.migrations.0007_participant_counts")
    monkeypatch.setattr(fill, "STUDENTS_PER_BATCH", 1)
    fill.fill(None, SimpleNamespace(connection=connection))
    assert _fetch(COUNTS_SQL) == kept
    assert_kept()
    fill.fill(None, SimpleNamespace(connection=connection))
    assert _fetch(COUNTS_SQL) == kept
    assert _fetch("SELECT count(*) FROM attempts_participantcount")[0][0] == len(kept)
