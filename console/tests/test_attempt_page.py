"""The attempt page: the transcript as a conversation, the grade report, and honest states for
every transcript and grading status."""
import datetime as dt

import pytest

from attempts.performance.selectors import (
    MSG_GRADE_FAILED,
    MSG_GRADE_PENDING,
    MSG_TRANSCRIPT_FAILED,
    MSG_TRANSCRIPT_MISSING,
    MSG_TRANSCRIPT_PARTIAL,
    MSG_TRANSCRIPT_PROCESSING,
)
from testing.factories import (
    CaseStudyFactory,
    GradeCriterionFactory,
    GradeReportFactory,
    SessionFactory,
    StudentFactory,
    TranscriptMessageFactory,
)

T0 = dt.datetime(2025, 4, 3, 15, 0, tzinfo=dt.timezone.utc)


def _attempt(**kwargs):
    student = StudentFactory(first_name="Chidinma", last_name="Okafọr")
    case_study = CaseStudyFactory(title="Fuel Subsidy removal in Nigeria")
    SessionFactory(student=student, case_study=case_study, started_at=T0 - dt.timedelta(days=1))
    return SessionFactory(student=student, case_study=case_study, started_at=T0, **kwargs)


def _conversation(session):
    lines = [
        ("system", "Session started."),
        ("assistant", "What is the first-order effect?"),
        ("student", "Prices <b>triple</b>."),
    ]
    for position, (role, content) in enumerate(lines):
        TranscriptMessageFactory(session=session, position=position, role=role, content=content,
                                 timestamp=T0 + dt.timedelta(minutes=position))


def test_transcript_reads_as_a_conversation_with_roles_and_local_times(console_as, operator_user):
    session = _attempt(score=75.0, grading_status="complete")
    _conversation(session)
    response = console_as(operator_user).get(f"/attempts/{session.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index('class="msg msg-system"') < html.index('class="msg msg-assistant"') < html.index('class="msg msg-student"')
    assert "Prices &lt;b&gt;triple&lt;/b&gt;." in html  # content is escaped
    assert '<time datetime="2025-04-03T16:02:00+01:00">16:02:00</time>' in html
    assert "Attempt 2" in html and "Chidinma Okafọr" in html and "Fuel Subsidy removal in Nigeria" in html
    assert "✓ Used for the final score" in html


def test_grade_report_lists_criteria_scores_and_feedback(console_as, operator_user):
    session = _attempt(score=75.0, grading_status="complete")
    report = GradeReportFactory(session=session, feedback="Quantify second-order effects.")
    GradeCriterionFactory(report=report, position=0, name="Problem framing", score=22, max_score=25, feedback="Sharp.")
    GradeCriterionFactory(report=report, position=1, name="Use of evidence", score=15.5, max_score=25, feedback="Thin.")
    html = console_as(operator_user).get(f"/attempts/{session.pk}/").content.decode()
    assert html.index("Problem framing") < html.index("Use of evidence")
    assert "22 <span class=\"muted\">/ 25</span>" in html and "15.5" in html
    assert "Sharp." in html and "Quantify second-order effects." in html
    assert 'style="width: 88%"' in html


@pytest.mark.parametrize(
    "transcript_status, title, detail",
    [
        ("processing", "Transcript processing", MSG_TRANSCRIPT_PROCESSING),
        ("missing", "Transcript missing", MSG_TRANSCRIPT_MISSING),
        ("failed", "Transcript failed", MSG_TRANSCRIPT_FAILED),
    ],
)
def test_transcript_states_say_why_there_is_no_conversation(console_as, operator_user, transcript_status, title, detail):
    session = _attempt(transcript_status=transcript_status)
    _conversation(session)  # stored messages are not shown unless the status allows it
    html = console_as(operator_user).get(f"/attempts/{session.pk}/").content.decode()
    assert f'<span class="state-title">{title}</span>{detail}' in html
    assert 'class="msg ' not in html


def test_partial_transcript_shows_the_messages_with_a_warning(console_as, operator_user):
    session = _attempt(transcript_status="partial")
    _conversation(session)
    html = console_as(operator_user).get(f"/attempts/{session.pk}/").content.decode()
    assert MSG_TRANSCRIPT_PARTIAL in html
    assert html.count('class="msg msg-') == 3


@pytest.mark.parametrize(
    "grading_status, title, detail",
    [("pending", "Grading pending", MSG_GRADE_PENDING), ("failed", "Grading failed", MSG_GRADE_FAILED)],
)
def test_grading_states_are_shown_instead_of_a_report(console_as, operator_user, grading_status, title, detail):
    session = _attempt(grading_status=grading_status)
    html = console_as(operator_user).get(f"/attempts/{session.pk}/").content.decode()
    assert f'<span class="state-title">{title}</span>{detail}' in html
    assert 'class="criteria"' not in html


def test_attempt_page_is_a_404_for_an_unknown_session(console_as, operator_user):
    response = console_as(operator_user).get("/attempts/6650d4e5f6a7b8c9d0e1f2a3/")
    assert response.status_code == 404


def test_viewer_without_performance_permission_gets_the_403_page(console_as, viewer_user):
    session = _attempt()
    assert console_as(viewer_user).get(f"/attempts/{session.pk}/").status_code == 403


@pytest.mark.parametrize("messages", [2, 40])
def test_attempt_query_count_does_not_grow_with_messages(console_as, operator_user, django_assert_num_queries, messages):
    session = _attempt(score=80.0, grading_status="complete")
    for position in range(messages):
        TranscriptMessageFactory(session=session, position=position)
    report = GradeReportFactory(session=session)
    for position in range(3):
        GradeCriterionFactory(report=report, position=position)
    client = console_as(operator_user)
    client.get("/students/")
    # Session, staff user with roles (one statement); the session with student and case study, the card (sessions;
    # case study with programmes and grant totals), the audit event of the transcript read,
    # messages, grade report, criteria.
    with django_assert_num_queries(9):
        response = client.get(f"/attempts/{session.pk}/")
    assert len(response.context["transcript"].messages) == messages
