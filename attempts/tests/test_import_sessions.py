"""manage.py import_sessions: JSON Lines bulk import through the ingestion service."""
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection

from attempts.ingestion import services as ingestion
from attempts.models import GradeCriterion, Session, TranscriptMessage
from students.models import Student
from testing.factories import CaseStudyFactory, StudentFactory


@pytest.fixture
def student():
    return StudentFactory(first_name="Amara", last_name="Diallo")


@pytest.fixture
def case_study():
    return CaseStudyFactory()


def line(student, case_study, session_id, **overrides):
    body = {
        "session_id": session_id,
        "user_id": student.user_id,
        "case_study_id": case_study.case_study_id,
        "status": "ended",
        "started_at": "2025-10-01T09:00:00Z",
        "ended_at": "2025-10-01T09:30:00Z",
        "last_activity_at": "2025-10-01T09:30:00Z",
        "score": 75,
        "transcript_status": "available",
        "grading_status": "complete",
        "transcript": [{"role": "student", "content": "Bonjour — let me start with costs.", "timestamp": "2025-10-01T09:01:00Z"}],
        "grade": {"criteria": [{"name": "Analysis", "score": 15, "max_score": 20}]},
    }
    body.update(overrides)
    return json.dumps(body, ensure_ascii=False)


def run(path, *args, tenant="test"):
    out = io.StringIO()
    call_command("import_sessions", str(path), "--tenant", tenant, "--no-progress", *args, stdout=out)
    return out.getvalue()


def write(tmp_path, lines):
    path = tmp_path / "sessions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_imports_every_line_and_reports_counts(tmp_path, student, case_study):
    path = write(tmp_path, [line(student, case_study, f"s-{n}", started_at=f"2025-10-0{n + 1}T09:00:00Z",
                                 ended_at=f"2025-10-0{n + 1}T09:30:00Z", last_activity_at=f"2025-10-0{n + 1}T09:30:00Z")
                            for n in range(3)])
    output = run(path)
    assert "created 3, updated 0, unchanged 0, rejected 0" in output
    assert Session.objects.count() == 3
    assert TranscriptMessage.objects.count() == 3 and GradeCriterion.objects.count() == 3
    assert Student.objects.get(pk=student.pk).last_seen.isoformat() == "2025-10-03T09:30:00+00:00"


def test_running_the_same_file_again_changes_nothing(tmp_path, student, case_study):
    path = write(tmp_path, [line(student, case_study, f"s-{n}") for n in range(4)])
    run(path)
    stamps = dict(Session.objects.values_list("pk", "updated_at"))
    message_ids = sorted(TranscriptMessage.objects.values_list("pk", flat=True))
    output = run(path)
    assert "created 0, updated 0, unchanged 4, rejected 0" in output
    assert dict(Session.objects.values_list("pk", "updated_at")) == stamps
    assert sorted(TranscriptMessage.objects.values_list("pk", flat=True)) == message_ids


def test_changed_lines_are_updated(tmp_path, student, case_study):
    run(write(tmp_path, [line(student, case_study, "s-1"), line(student, case_study, "s-2")]))
    output = run(write(tmp_path, [line(student, case_study, "s-1", score=99), line(student, case_study, "s-2")]))
    assert "created 0, updated 1, unchanged 1, rejected 0" in output
    assert Session.objects.get(pk="s-1").score == 99


def test_bad_lines_are_reported_with_line_numbers_and_do_not_stop_the_others(tmp_path, student, case_study):
    lines = [
        line(student, case_study, "ok-1"),
        "{not json",
        "[1, 2]",
        line(student, case_study, "ok-2", status="paused"),
        json.dumps({"user_id": student.user_id}),
        line(student, case_study, "ok-3", user_id="ghost"),
        line(student, case_study, "ok-4").replace('"score": 75', '"score": NaN'),
        "",
        line(student, case_study, "ok-5"),
        line(student, case_study, "bad id"),
    ]
    output = run(write(tmp_path, lines))
    assert "created 2, updated 0, unchanged 0, rejected 7" in output
    assert "line 2: rejected: line: The line is not valid JSON" in output
    assert "line 3: rejected: line: The line must be a JSON object." in output
    assert "line 4: rejected: status:" in output
    assert "line 5: rejected:" in output and "case_study_id" in output.split("line 5:")[1].splitlines()[0]
    assert f"line 6: rejected: user_id: {ingestion.MSG_UNKNOWN_STUDENT}" in output
    assert "line 7: rejected: line: The line is not valid JSON: NaN and Infinity are not numbers." in output
    assert "line 10: rejected: session_id:" in output
    assert sorted(Session.objects.values_list("pk", flat=True)) == ["ok-1", "ok-5"]


def test_a_line_that_fails_to_store_only_rejects_itself(tmp_path, student, case_study, monkeypatch):
    real_write = ingestion._write

    def write_or_fail(items, existing):
        if any(i.session_id == "s-boom" for i in items):
            raise IntegrityError("simulated constraint failure")
        return real_write(items, existing)

    monkeypatch.setattr(ingestion, "_write", write_or_fail)
    ids = ["s-1", "s-2", "s-boom", "s-3", "s-4"]
    output = run(write(tmp_path, [line(student, case_study, sid) for sid in ids]), "--chunk-size", "3")
    assert "created 4, updated 0, unchanged 0, rejected 1" in output
    assert "line 3: rejected: session_id: The session could not be stored: simulated constraint failure" in output
    assert sorted(Session.objects.values_list("pk", flat=True)) == ["s-1", "s-2", "s-3", "s-4"]
    assert TranscriptMessage.objects.count() == 4


def test_a_session_repeated_in_the_file_is_created_then_updated(tmp_path, student, case_study):
    output = run(write(tmp_path, [line(student, case_study, "s-1", score=10), line(student, case_study, "s-1", score=20)]))
    assert "created 1, updated 1, unchanged 0, rejected 0" in output
    assert Session.objects.get(pk="s-1").score == 20


def test_moving_a_session_to_another_student_is_rejected(tmp_path, student, case_study):
    run(write(tmp_path, [line(student, case_study, "s-1")]))
    other = StudentFactory()
    output = run(write(tmp_path, [line(other, case_study, "s-1")]))
    assert "line 1: rejected: user_id:" in output
    assert Session.objects.get(pk="s-1").student_id == student.user_id


def test_lines_for_another_tenants_students_are_rejected(tmp_path, student, case_study, tenant):
    output = run(write(tmp_path, [line(student, case_study, "s-1")]), tenant="other")
    connection.set_tenant(tenant)
    assert f"line 1: rejected: user_id: {ingestion.MSG_UNKNOWN_STUDENT}" in output
    assert not Session.objects.exists()


def test_unknown_tenant_and_missing_file_are_command_errors(tmp_path):
    with pytest.raises(CommandError, match="No tenant"):
        run(write(tmp_path, []), tenant="nope")
    with pytest.raises(CommandError, match="Cannot read"):
        run(tmp_path / "missing.jsonl")


def test_progress_bar_is_shown_on_stderr(tmp_path, student, case_study, capsys):
    path = write(tmp_path, [line(student, case_study, "s-1")])
    call_command("import_sessions", str(path), "--tenant", "test", stdout=io.StringIO())
    assert "Importing sessions" in capsys.readouterr().err
