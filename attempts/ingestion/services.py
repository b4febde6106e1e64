"""Session ingestion (SPEC §7.4): the one place that turns a runtime's session report into
stored rows. PUT /v1/sessions/{session_id} and `manage.py import_sessions` both call
`session_input` (validation) and `sessions_ingest` (the idempotent upsert), so a body is
accepted or refused for the same reasons on both paths.

Rules:
- An upsert keyed by session_id: created, updated, or unchanged when nothing differs
  (then no row is written and updated_at stays).
- `last_activity_at` is stored as the latest of started_at, ended_at and last_activity_at.
- `transcript` / `grade`, when given, replace the stored messages / grade report; when
  absent or null they are kept.
- A session never moves to another student or case study (409).
- `Student.last_seen` is refreshed for the touched students in the same transaction.
- A report of a student whose personal data was erased (attempts.data_rights) is stored without
  its text: transcript messages and grade feedback empty, as erasure left the earlier ones.
- Existing rows are locked (SELECT ... FOR UPDATE); an insert that loses a race with a
  concurrent insert of the same id is retried as an update, so concurrent PUTs never 500.
- Events (accounts.events), in the same transaction: `session.completed` for each session
  written (created or changed) that is ended or abandoned, and `final_score.changed` for each
  (student, case study) whose final score the write changed, by the detail's rule. The
  students are locked before their scores are read, so two reports of one student's sessions
  are written one after the other and each compares with what the other left.
"""
from collections import defaultdict
from dataclasses import dataclass, field, replace

from django.db import DatabaseError, transaction
from django.utils import timezone
from pydantic import ValidationError

from accounts.events import types as event_types
from accounts.events.services import events_record_many
from attempts.ingestion.selectors import final_scores
from attempts.ingestion.serializers import SessionIngest, field_errors
from attempts.maintained import students_refresh_last_seen
from attempts.models import GradeCriterion, GradeReport, Session, TranscriptMessage
from catalogue.models import CaseStudy
from config.bulk_copy import copy_rows
from config.errors import AppError
from config.ids import check_id
from students.models import Student

MAX_BODY_BYTES = 2 * 1024 * 1024

MSG_BODY_TOO_LARGE = "The session body is larger than 2 MB."
MSG_SESSION_ID_REQUIRED = "Each line needs a session_id."
MSG_SESSION_ID_MISMATCH = "session_id in the body differs from the one in the URL."
MSG_UNKNOWN_STUDENT = "No student has this user_id."
MSG_UNKNOWN_CASE_STUDY = "No case study has this case_study_id."
MSG_SESSION_MOVED = "This session is recorded for another {what}; a session cannot move."
MSG_STORE_FAILED = "The session could not be stored: {error}"

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"

SESSION_FIELDS = (
    "status", "started_at", "ended_at", "last_activity_at", "score", "transcript_status", "grading_status",
)
# A session in one of these is over: writing it (new, or changed) is a session.completed event.
FINISHED = (Session.Status.ENDED, Session.Status.ABANDONED)


@dataclass(frozen=True)
class SessionInput:
    """A validated session report. transcript: ((role, content, timestamp), ...) or None;
    grade: (max_score, feedback, graded_at, ((name, score, max_score, feedback), ...)) or None."""

    session_id: str
    student_id: str
    case_study_id: str
    values: dict
    transcript: tuple | None
    grade: tuple | None


@dataclass
class Outcome:
    session_id: str
    result: str
    error: AppError | None = field(default=None)

    @property
    def reason(self):
        """The rejection as one line: 'field: message; field: message'."""
        if self.error is None:
            return ""
        if not self.error.errors:
            return self.error.message
        return "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in self.error.errors.items())


# Validation: the body's shape is attempts.ingestion.serializers.SessionIngest -------------


def body_size_check(length):
    if length is not None and length > MAX_BODY_BYTES:
        raise AppError.validation({"body": MSG_BODY_TOO_LARGE})


def session_input(*, data, session_id=None):
    """Validate one report against the body model. `session_id` is the URL's (PUT); without
    it (import) the body must carry one. Raises a 400 AppError naming every bad field."""
    if session_id is not None:
        check_id(session_id, field="session_id")
    body: SessionIngest | None
    errors: dict[str, list[str]]
    given_id: str | None
    try:
        body, errors = SessionIngest.model_validate(data), {}
        given_id = body.session_id
    except ValidationError as exc:
        body, errors = None, field_errors(exc)
        if not isinstance(data, dict):
            raise AppError.validation(errors) from None
        # The id given, if that field is valid: the path-or-body rule is checked all the same.
        given_id = None if "session_id" in errors else data.get("session_id")
    if session_id is None:
        if given_id is None and "session_id" not in errors:
            errors["session_id"] = [MSG_SESSION_ID_REQUIRED]
        session_id = given_id
    elif given_id is not None and given_id != session_id:
        errors["session_id"] = [MSG_SESSION_ID_MISMATCH]
    if errors:
        raise AppError.validation(errors)
    assert body is not None  # no errors: the body validated

    values = {
        "status": body.status,
        "started_at": body.started_at,
        "ended_at": body.ended_at,
        "last_activity_at": max(t for t in (body.started_at, body.ended_at, body.last_activity_at) if t is not None),
        "score": body.score,
        "transcript_status": body.transcript_status,
        "grading_status": body.grading_status,
    }
    transcript = None
    if body.transcript is not None:
        transcript = tuple((m.role, m.content, m.timestamp) for m in body.transcript)
    grade = None
    if body.grade is not None:
        criteria = tuple((c.name, c.score, c.max_score, c.feedback) for c in body.grade.criteria)
        grade = (body.grade.max_score, body.grade.feedback, body.grade.graded_at, criteria)
    return SessionInput(session_id, body.user_id, body.case_study_id, values, transcript, grade)


# The upsert -----------------------------------------------------------------------------


def sessions_ingest(*, items):
    """Upsert `items` (SessionInputs) and return one Outcome per item, in order.

    One item's problem never stops the others: unknown references and moves are
    rejected up front; the rest is written in one savepoint, and if that fails, item by
    item, each in its own savepoint. Repeated session_ids are applied in order."""
    outcomes: list[Outcome | None] = [None] * len(items)
    with transaction.atomic():
        for indices in _rounds(items):
            for index, outcome in zip(indices, _ingest_distinct([items[i] for i in indices]), strict=True):
                outcomes[index] = outcome
    return outcomes


def session_ingest(*, item):
    """One report (the PUT endpoint): the Outcome, or the rejection raised as an AppError."""
    outcome = sessions_ingest(items=[item])[0]
    if outcome.error is not None:
        raise outcome.error
    return outcome


def _rounds(items):
    """Index lists in which every session_id appears once, in the order given."""
    rounds: list[list[int]] = []
    seen: defaultdict[str, int] = defaultdict(int)
    for index, item in enumerate(items):
        n = seen[item.session_id]
        seen[item.session_id] += 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(index)
    return rounds


def _ingest_distinct(items, *, retried=False):
    outcomes: list[Outcome | None] = [None] * len(items)
    ids = [item.session_id for item in items]
    students = set(
        Student.objects.filter(pk__in={i.student_id for i in items}, deleted_at__isnull=True).values_list("pk", flat=True)
    )
    case_studies = set(CaseStudy.objects.filter(pk__in={i.case_study_id for i in items}).values_list("pk", flat=True))
    # Locked in primary-key order, so two batches touching the same sessions cannot deadlock.
    existing = {s.pk: s for s in Session.objects.select_for_update().filter(pk__in=ids).order_by("pk")}

    accepted = []
    for index, item in enumerate(items):
        error = _reference_error(item, existing.get(item.session_id), students, case_studies)
        if error is not None:
            outcomes[index] = Outcome(item.session_id, REJECTED, error)
        else:
            accepted.append(index)
    if not accepted:
        return outcomes

    try:
        with transaction.atomic():
            results = _write([items[i] for i in accepted], existing)
    except DatabaseError as exc:
        if len(accepted) > 1:
            # Find the culprit: every item on its own, in its own savepoint.
            for index in accepted:
                outcomes[index] = _ingest_distinct([items[index]])[0]
            return outcomes
        if not retried:
            # Most likely a concurrent insert of the same session_id: now it exists, update it.
            return _ingest_distinct(items, retried=True)
        item = items[accepted[0]]
        outcomes[accepted[0]] = Outcome(
            item.session_id, REJECTED, AppError.validation({"session_id": MSG_STORE_FAILED.format(error=_first_line(exc))})
        )
        return outcomes
    for index, result in zip(accepted, results, strict=True):
        outcomes[index] = Outcome(items[index].session_id, result)
    return outcomes


def _first_line(exc):
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]


def _reference_error(item, session, students, case_studies):
    if session is not None:
        # Checked first: a moved session is a conflict even if the new references exist.
        if session.student_id != item.student_id:
            message = MSG_SESSION_MOVED.format(what="student")
            return AppError.conflict(message, errors={"user_id": [message]})
        if session.case_study_id != item.case_study_id:
            message = MSG_SESSION_MOVED.format(what="case study")
            return AppError.conflict(message, errors={"case_study_id": [message]})
    if item.student_id not in students:
        return AppError.validation({"user_id": MSG_UNKNOWN_STUDENT})
    if item.case_study_id not in case_studies:
        return AppError.validation({"case_study_id": MSG_UNKNOWN_CASE_STUDY})
    return None


def _stored_transcripts(session_ids):
    stored = defaultdict(list)
    if session_ids:
        rows = (
            TranscriptMessage.objects.filter(session_id__in=session_ids)
            .order_by("session_id", "position")
            .values_list("session_id", "role", "content", "timestamp")
        )
        for session_id, *message in rows:
            stored[session_id].append(tuple(message))
    return {session_id: tuple(messages) for session_id, messages in stored.items()}


def _stored_grades(session_ids):
    if not session_ids:
        return {}
    criteria = defaultdict(list)
    rows = (
        GradeCriterion.objects.filter(report_id__in=session_ids)
        .order_by("report_id", "position")
        .values_list("report_id", "name", "score", "max_score", "feedback")
    )
    for report_id, *criterion in rows:
        criteria[report_id].append(tuple(criterion))
    reports = GradeReport.objects.filter(session_id__in=session_ids).values_list(
        "session_id", "max_score", "feedback", "graded_at"
    )
    return {sid: (max_score, feedback, graded_at, tuple(criteria[sid])) for sid, max_score, feedback, graded_at in reports}


def _without_text(item):
    """The report with its transcript's and grade's texts emptied (an erased student's)."""
    transcript = item.transcript and tuple((role, "", timestamp) for role, _, timestamp in item.transcript)
    grade = item.grade
    if grade is not None:
        max_score, _, graded_at, criteria = grade
        grade = (max_score, "", graded_at, tuple((name, score, most, "") for name, score, most, _ in criteria))
    return replace(item, transcript=transcript, grade=grade)


def _write(items, existing):
    """Write distinct, reference-checked items; returns CREATED/UPDATED/UNCHANGED per item.
    Queries: stored transcripts and grades of existing sessions (only when the items carry
    them), then one bulk statement (COPY for new rows) per kind of change, and one
    last_seen refresh."""
    now = timezone.now()
    # The students first, in key order (as students_refresh_last_seen locks them below), so the
    # final scores read here are the ones the last writer of these students committed.
    erased = {
        pk
        for pk, erased_at in Student.objects.select_for_update(no_key=True)
        .filter(pk__in={i.student_id for i in items})
        .order_by("pk")
        .values_list("pk", "erased_at")
        if erased_at is not None
    }
    items = [_without_text(item) if item.student_id in erased else item for item in items]
    case_studies = CaseStudy.objects.in_bulk({i.case_study_id for i in items})
    scores_before = final_scores(pairs={(i.student_id, i.case_study_id) for i in items}, case_studies=case_studies)
    known = [i for i in items if i.session_id in existing]
    stored_transcripts = _stored_transcripts([i.session_id for i in known if i.transcript is not None])
    stored_grades = _stored_grades([i.session_id for i in known if i.grade is not None])

    results, creates, updates = [], [], []
    new_transcripts, new_grades = {}, {}
    replaced_transcripts, replaced_grades = [], []
    touched_students = set()
    for item in items:
        session = existing.get(item.session_id)
        if session is None:
            creates.append(
                Session(session_id=item.session_id, student_id=item.student_id, case_study_id=item.case_study_id, **item.values)
            )
            if item.transcript:
                new_transcripts[item.session_id] = item.transcript
            if item.grade is not None:
                new_grades[item.session_id] = item.grade
            touched_students.add(item.student_id)
            results.append(CREATED)
            continue

        fields_differ = any(getattr(session, name) != value for name, value in item.values.items())
        transcript_differs = item.transcript is not None and stored_transcripts.get(item.session_id, ()) != item.transcript
        grade_differs = item.grade is not None and stored_grades.get(item.session_id) != item.grade
        if not (fields_differ or transcript_differs or grade_differs):
            results.append(UNCHANGED)
            continue
        for name, value in item.values.items():
            setattr(session, name, value)
        session.updated_at = now
        updates.append(session)
        if transcript_differs:
            replaced_transcripts.append(item.session_id)
            if item.transcript:
                new_transcripts[item.session_id] = item.transcript
        if grade_differs:
            replaced_grades.append(item.session_id)
            new_grades[item.session_id] = item.grade
        touched_students.add(item.student_id)
        results.append(UPDATED)

    if creates:
        copy_rows(Session, ["session_id", "student", "case_study", *SESSION_FIELDS, "created_at", "updated_at"], (
            (s.session_id, s.student_id, s.case_study_id, *(getattr(s, name) for name in SESSION_FIELDS), now, now)
            for s in creates
        ))
    if updates:
        Session.objects.bulk_update(updates, [*SESSION_FIELDS, "updated_at"], batch_size=500)
    if replaced_transcripts:
        TranscriptMessage.objects.filter(session_id__in=replaced_transcripts).delete()
    if new_transcripts:
        copy_rows(TranscriptMessage, ["session", "position", "role", "content", "timestamp"], (
            (sid, position, role, content, timestamp)
            for sid, messages in new_transcripts.items()
            for position, (role, content, timestamp) in enumerate(messages)
        ))
    if replaced_grades:
        GradeCriterion.objects.filter(report_id__in=replaced_grades).delete()
        GradeReport.objects.filter(session_id__in=replaced_grades).delete()
    if new_grades:
        copy_rows(GradeReport, ["session", "max_score", "feedback", "graded_at"], (
            (sid, max_score, feedback, graded_at) for sid, (max_score, feedback, graded_at, _) in new_grades.items()
        ))
        copy_rows(GradeCriterion, ["report", "position", "name", "score", "max_score", "feedback"], (
            (sid, position, name, score, max_score, feedback)
            for sid, (_, _, _, criteria) in new_grades.items()
            for position, (name, score, max_score, feedback) in enumerate(criteria)
        ))
    if touched_students:
        students_refresh_last_seen(student_ids=sorted(touched_students))
    _record_events(items, results, case_studies, scores_before)
    return results


def _record_events(items, results, case_studies, scores_before):
    """session.completed for each finished session written, then final_score.changed for each
    pair whose final score is not what it was (one INSERT each)."""
    written = [(item, result) for item, result in zip(items, results, strict=True) if result in (CREATED, UPDATED)]
    events_record_many(
        type=event_types.SESSION_COMPLETED,
        subject_type="session",
        items=[
            (item.session_id, item.student_id, {"case_study_id": item.case_study_id, "result": result, **item.values})
            for item, result in written
            if item.values["status"] in FINISHED
        ],
    )
    scores_after = final_scores(
        pairs={(item.student_id, item.case_study_id) for item, _ in written}, case_studies=case_studies
    )
    events_record_many(
        type=event_types.FINAL_SCORE_CHANGED,
        subject_type="case_study",
        items=[
            (
                case_study_id,
                student_id,
                {
                    "case_study_id": case_study_id,
                    "grading_method": case_studies[case_study_id].grading_method,
                    "final_score": [scores_before[(student_id, case_study_id)], score],
                },
            )
            for (student_id, case_study_id), score in sorted(scores_after.items())
            if score != scores_before[(student_id, case_study_id)]
        ],
    )
