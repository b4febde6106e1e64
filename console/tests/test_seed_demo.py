"""seed_demo writes with COPY and bulk SQL, bypassing model validation: check its output obeys
the model's constraints and the maintained columns' definitions."""
import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Q

from attempts.maintained import students_refresh_last_seen
from attempts.models import AttemptGrant, GradeReport, Session, TranscriptMessage
from attempts.selectors import student_case_study_card
from console.demo.services import DemoBuilder
from students.maintained import student_refresh_programme_labels
from students.models import Student


@pytest.fixture
def seeded(tenant):
    builder = DemoBuilder(students=80, seed=7)
    builder.build_catalogue()
    builder.write_people(chunk_size=30)
    builder.write_transcripts_and_grades()
    builder.write_groups()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # foreign keys checked now, inside the test
    return builder


def test_seeded_rows_pass_model_validation(seeded):
    assert seeded.counts["students"] == Student.objects.count() == 80
    assert seeded.counts["sessions"] == Session.objects.count() > 80
    for student in Student.objects.all()[:40]:
        student.full_clean(exclude=["avatar"])
    for session in Session.objects.all()[:200]:
        session.full_clean()
    assert not Session.objects.filter(Q(score__lt=0) | Q(score__gt=100)).exists()
    assert Student.objects.values("email").distinct().count() == 80
    assert Student.objects.filter(first_name__regex=r"[^\x00-\x7F]").exists(), "non-ASCII names are seeded"


def test_maintained_columns_match_their_definitions(seeded):
    before = dict(Student.objects.values_list("user_id", "last_seen"))
    labels = dict(Student.objects.values_list("user_id", "programme_label"))
    assert students_refresh_last_seen() == 0
    assert student_refresh_programme_labels() == 0
    assert before == dict(Student.objects.values_list("user_id", "last_seen"))
    assert labels == dict(Student.objects.values_list("user_id", "programme_label"))
    latest = dict(Session.objects.values("student_id").annotate(m=Max("last_activity_at")).values_list("student_id", "m"))
    assert all(before[user_id] == value for user_id, value in latest.items())


def test_transcripts_and_grades_match_their_statuses(seeded):
    with_messages = set(TranscriptMessage.objects.values_list("session_id", flat=True).distinct())
    readable = set(Session.objects.filter(transcript_status__in=["available", "partial"]).values_list("pk", flat=True))
    assert with_messages == readable
    graded = set(Session.objects.filter(grading_status="complete").values_list("pk", flat=True))
    assert set(GradeReport.objects.values_list("session_id", flat=True)) == graded
    assert not Session.objects.filter(grading_status="complete", score__isnull=True).exists()
    assert not GradeReport.objects.annotate(n=Count("criteria")).filter(~Q(n=3)).exists()


def test_grants_cover_attempts_beyond_the_allowance(seeded):
    assert AttemptGrant.objects.filter(delta__lte=0).count() == 0
    for session in Session.objects.select_related("case_study").order_by("student_id")[:300]:
        card = student_case_study_card(student_id=session.student_id, case_study_id=session.case_study_id)
        assert card.attempts_used <= card.attempts_allowed


def test_the_contract_example_student_is_seeded(seeded):
    card = student_case_study_card(student_id="6650a1b2c3d4e5f6a7b8c9d0", case_study_id="6650c3d4e5f6a7b8c9d0e1f2")
    assert (card.attempts_used, card.attempts_allowed, card.best_score) == (1, 2, 75.0)
    assert [a.label for a in card.attempts] == ["Attempt 2", "Attempt 1"]


def test_seed_demo_refuses_a_tenant_with_students_unless_if_empty(tenant):
    from testing.factories import StudentFactory

    StudentFactory()
    with pytest.raises(CommandError, match="already has students"):
        call_command("seed_demo", tenant="test", students=5, verbosity=0)
    call_command("seed_demo", tenant="test", students=5, if_empty=True, verbosity=0)
    assert Student.objects.count() == 1
    with pytest.raises(CommandError, match="No tenant"):
        call_command("seed_demo", tenant="nope", students=5, verbosity=0)


def test_no_session_starts_before_its_student_was_created(seeded):
    from django.db.models import F

    assert not Session.objects.filter(started_at__lt=F("student__created_at") - dt.timedelta(days=1)).exists()


def _indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
        return sorted(cursor.fetchall())


def test_the_indexes_dropped_for_the_load_are_all_built_again(tenant):
    before = _indexes()
    assert any(name == "stu_email_trgm" for name, _ in before)
    builder = DemoBuilder(students=20, seed=3)
    builder.build_catalogue()
    builder.write_people(chunk_size=7)
    builder.write_transcripts_and_grades()
    assert _indexes() == before
    assert any(name == "message_position_unique" for name, _ in before)


def test_the_indexes_are_built_again_when_the_load_fails(tenant, monkeypatch):
    before = _indexes()
    builder = DemoBuilder(students=20, seed=3)
    builder.build_catalogue()

    def broken(*args, **kwargs):
        raise RuntimeError("load failed")

    monkeypatch.setattr(builder, "_student_rows", broken)
    with pytest.raises(RuntimeError):
        builder.write_people()
    assert _indexes() == before


def _assert_every_session_has_its_transcript_and_report():
    sessions = Session.objects.annotate(n_messages=Count("messages"))
    assert sessions.filter(transcript_status="available").exclude(n_messages=5).count() == 0
    assert sessions.filter(transcript_status="partial").exclude(n_messages=3).count() == 0
    assert sessions.exclude(transcript_status__in=["available", "partial"]).filter(n_messages__gt=0).count() == 0
    assert sessions.filter(transcript_status__in=["available", "partial"]).exists()
    graded = Session.objects.filter(grading_status="complete")
    assert GradeReport.objects.count() == graded.count() > 0
    assert not GradeReport.objects.exclude(session__grading_status="complete").exists()
    assert GradeReport.objects.annotate(n=Count("criteria")).exclude(n=3).count() == 0


def test_transcripts_and_grades_cover_every_slice_of_the_sessions_table(tenant, monkeypatch):
    """Slices of one block each: every block's sessions are written once, none twice (the
    unique (session, position) constraint, added back after the load, would refuse a repeat),
    and progress counts every slice from 0."""
    monkeypatch.setattr("console.demo.services._MIN_SLICE_BLOCKS", 1)
    builder = DemoBuilder(students=120, seed=5)
    builder.build_catalogue()
    builder.write_people(chunk_size=50)
    slices = builder._session_slices()
    assert len(slices) > 3
    assert [first for first, _ in slices[1:]] == [last for _, last in slices[:-1]]
    seen = []
    builder.write_transcripts_and_grades(progress=lambda done, total: seen.append((done, total)))
    assert seen == [(n, 2 * len(slices)) for n in range(0, 2 * len(slices) + 1)]
    _assert_every_session_has_its_transcript_and_report()


def test_a_repeated_message_is_refused_when_the_unique_constraint_comes_back(tenant, monkeypatch):
    """The load runs without the (session, position) constraint; adding it back checks the rows."""
    builder = DemoBuilder(students=10, seed=2)
    builder.build_catalogue()
    builder.write_people()
    writes = builder._write_transcripts
    monkeypatch.setattr(builder, "_write_transcripts",
                        lambda cursor, first, last: (writes(cursor, first, last), writes(cursor, first, last)))
    with pytest.raises(IntegrityError), transaction.atomic():
        builder.write_transcripts_and_grades()
    assert any(name == "message_position_unique" for name, _ in _indexes())


def test_outside_a_transaction_transcripts_and_grades_load_side_by_side_and_completely(committed_tenant):
    """The seed_demo command's path: two connections take slices of the sessions table from
    one queue; every session gets its messages and report, and every index is back."""
    before = _indexes()
    assert not connection.in_atomic_block
    builder = DemoBuilder(students=60, seed=11)
    builder.build_catalogue()
    builder.write_people(chunk_size=25)
    builder.write_transcripts_and_grades()
    assert _indexes() == before
    _assert_every_session_has_its_transcript_and_report()
