"""Reads of attempts: the per-case-study cards of a student (SPEC §4 derived values).

The rules live here and nowhere else: attempt numbering, which sessions consume an attempt,
extra and allowed attempts, best score, and which attempts count for the final score.
"""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import CharField, Count, F, Func, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from attempts.models import AttemptGrant, CaseStudyStanding, Session
from catalogue.models import CaseStudy, Programme
from config.compiled import InArray, Slot, compiled_once

COMPLETE = Session.GradingStatus.COMPLETE
CONSUMING = ~Q(transcript_status__in=Session.NON_CONSUMING_TRANSCRIPT)


class UtcText(Func):
    """A timestamp as the API writes it (SPEC §6, DRF's DATETIME_FORMAT "%Y-%m-%dT%H:%M:%SZ":
    UTC, whole seconds, truncated), formatted by PostgreSQL: Python's isoformat costs about
    2 µs a value, and a busy student's attempts carry 600 of them."""

    template = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
    output_field = CharField()


class _SessionFields(NamedTuple):
    session_id: str
    student_id: str
    case_study_id: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    last_activity_at: dt.datetime
    score: float | None
    transcript_status: str
    grading_status: str
    started_at_text: str
    ended_at_text: str | None


class SessionRow(_SessionFields):
    """A session as the cards read it: Session's fields that they show, in a tuple, with its
    two timestamps also as the API's text. A busy student has hundreds of sessions, and a model
    instance each would double the detail's time. `consumes_attempt` is Session's own rule
    (a subclass: a NamedTuple's own body may declare only fields and methods)."""

    __slots__ = ()
    NON_CONSUMING_TRANSCRIPT = Session.NON_CONSUMING_TRANSCRIPT
    consumes_attempt = Session.consumes_attempt

    @property
    def pk(self):
        return self.session_id


def _session_rows(sessions):
    """SessionRow tuples of a Session queryset, in its order."""
    rows = sessions.annotate(started_at_text=UtcText("started_at"), ended_at_text=UtcText("ended_at"))
    return map(SessionRow._make, rows.values_list(*SessionRow._fields))


@dataclass
class Attempt:
    session: SessionRow
    number: int
    used_for_final_score: bool = False

    @property
    def label(self):
        return f"Attempt {self.number}"


@dataclass
class CaseStudyCard:
    case_study: CaseStudy
    attempts: list = field(default_factory=list)  # newest attempt first
    extra_attempts: int = 0
    programme_codes: list = field(default_factory=list)  # the case study's programmes, by code
    programme_names: list = field(default_factory=list)  # in the same order

    @property
    def attempts_used(self):
        return sum(1 for a in self.attempts if a.session.consumes_attempt)

    @property
    def attempts_allowed(self):
        return self.case_study.max_attempts + self.extra_attempts

    @property
    def best_score(self):
        scores = [a.session.score for a in self.attempts if _graded(a.session)]
        return max(scores) if scores else None

    @property
    def final_score(self):
        """The score the grading method makes of the attempts used for it (SPEC §4): one
        attempt's score, or the mean of all graded ones under `average`; null when none."""
        scores = [a.session.score for a in self.attempts if a.used_for_final_score]
        return sum(scores) / len(scores) if scores else None

    @property
    def last_started_at(self):
        return self.attempts[0].session.started_at if self.attempts else None

    @property
    def programme_label(self):
        return ", ".join(self.programme_names)


def _graded(session):
    return session.grading_status == COMPLETE and session.score is not None


def mark_final_score(attempts_oldest_first, grading_method):
    """Set used_for_final_score on the attempts that make the final score (SPEC §4)."""
    graded = [a for a in attempts_oldest_first if _graded(a.session)]
    if not graded:
        return
    method = grading_method
    if method == CaseStudy.GradingMethod.AVERAGE:
        chosen = graded
    elif method == CaseStudy.GradingMethod.LATEST:
        chosen = [graded[-1]]
    elif method == CaseStudy.GradingMethod.FIRST:
        chosen = [graded[0]]
    else:  # highest; a tie goes to the earliest attempt
        best = max(a.session.score for a in graded)
        chosen = [next(a for a in graded if a.session.score == best)]
    for attempt in chosen:
        attempt.used_for_final_score = True


def extra_attempts(*, student_ids=None, case_study_ids=None):
    """{(student_id, case_study_id): extra} from the grant ledger, for the pairs that have
    ledger rows among these students and case studies (None: any). Never below 0 (SPEC §4).
    One query."""
    grants = AttemptGrant.objects.all()
    if student_ids is not None:
        grants = grants.filter(student_id__in=student_ids)
    if case_study_ids is not None:
        grants = grants.filter(case_study_id__in=case_study_ids)
    totals = grants.values("student_id", "case_study_id").annotate(total=Sum("delta")).order_by()
    return {(row["student_id"], row["case_study_id"]): max(0, row["total"] or 0) for row in totals}


def _extra_attempts_expression(student_id):
    """The student's extra attempts on the outer CaseStudy row: extra_attempts' rule (the
    ledger's sum, never below 0) as an SQL expression."""
    total = (
        AttemptGrant.objects.filter(student_id=student_id, case_study_id=OuterRef("pk"))
        .order_by()
        .values("case_study_id")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    return Greatest(Coalesce(Subquery(total), 0), 0)


def extra_attempts_by_case_study(*, student_id, case_study_ids=None):
    """{case_study_id: extra} of one student (extra_attempts' rule)."""
    extra = extra_attempts(student_ids=[student_id], case_study_ids=case_study_ids)
    return {case_study_id: value for (_, case_study_id), value in extra.items()}


def student_case_study_cards(*, student_id, case_study_ids=None):
    """Cards for the student's attempted case studies, most recently started first.

    With `case_study_ids`, cards for exactly those case studies (attempted or not), in the same
    order, unattempted ones last. Queries: sessions, then case studies with the student's extra
    attempts and their programmes: two, whatever the number of sessions. A busy student has
    hundreds of sessions: they are read without their case study joined in (one instance per
    case study, not per row) and as SessionRow tuples."""
    if case_study_ids is None:
        sessions = map(SessionRow._make, _student_sessions()(student_id=student_id))
    else:
        sessions = _session_rows(_sessions_in_card_order(Session.objects.filter(
            student_id=student_id, case_study_id__in=case_study_ids
        )))
    by_case_study = defaultdict(list)
    for session in sessions:
        by_case_study[session.case_study_id].append(session)

    wanted = set(by_case_study) | set(case_study_ids or ())
    case_studies = _cards_case_studies()(ids=sorted(wanted), student_id=student_id) if wanted else ()
    cards = [
        case_study_card(
            case_study,
            by_case_study.get(case_study.pk, ()),
            extra_attempts=case_study.student_extra_attempts,
            programme_codes=case_study.programme_codes,
            programme_names=case_study.programme_names,
        )
        for case_study in case_studies
    ]
    return _recent_first(cards)


def _sessions_in_card_order(sessions):
    return sessions.order_by("case_study_id", "started_at", "session_id")


@compiled_once(maxsize=1)
def _student_sessions():
    """A student's sessions as SessionRow values, by case study, oldest first."""
    sessions = _sessions_in_card_order(Session.objects.filter(student_id=Slot("student_id")))
    return sessions.annotate(
        started_at_text=UtcText("started_at"), ended_at_text=UtcText("ended_at")
    ).values_list(*SessionRow._fields)


@compiled_once(maxsize=1)
def _cards_case_studies():
    """The case studies `ids` (an array) with the student's extra attempts and their
    programmes' codes and names, in code order."""
    programmes = Programme.objects.filter(case_studies=OuterRef("pk")).order_by("code")
    return (
        CaseStudy.objects.filter(InArray(F("pk"), Value(Slot("ids"))))
        .defer("created_at", "updated_at")
        .annotate(
            student_extra_attempts=_extra_attempts_expression(Slot("student_id")),
            programme_codes=ArraySubquery(programmes.values("code")),
            programme_names=ArraySubquery(programmes.values("name")),
        )
    )


def case_study_card(case_study, sessions_oldest_first, *, extra_attempts=0, programme_codes=(), programme_names=()):
    """One student's card on one case study from their sessions on it, ordered by
    (started_at, session_id): numbering, final-score marks, newest attempt first. The one
    place the detail and the gradebook turn sessions into SPEC §4 values."""
    ordered = [Attempt(session, number) for number, session in enumerate(sessions_oldest_first, 1)]
    mark_final_score(ordered, case_study.grading_method)
    ordered.reverse()
    return CaseStudyCard(
        case_study=case_study,
        attempts=ordered,
        extra_attempts=extra_attempts,
        programme_codes=list(programme_codes),
        programme_names=list(programme_names),
    )


def students_case_study_cards(*, student_ids, case_studies):
    """{(student_id, case_study_id): card} for every pair of these students and case studies
    (CaseStudy instances), attempted or not, through case_study_card: the detail's rules for
    many students at once. Queries: the students' sessions on those case studies, and their
    ledger totals: two, whatever the number of students or sessions."""
    case_study_ids = [case_study.pk for case_study in case_studies]
    sessions = Session.objects.filter(student_id__in=student_ids, case_study_id__in=case_study_ids).order_by(
        "student_id", "case_study_id", "started_at", "session_id"
    )
    by_pair = defaultdict(list)
    for session in _session_rows(sessions):
        by_pair[(session.student_id, session.case_study_id)].append(session)
    extra = extra_attempts(student_ids=student_ids, case_study_ids=case_study_ids)
    return {
        (student_id, case_study.pk): case_study_card(
            case_study, by_pair.get((student_id, case_study.pk), ()), extra_attempts=extra.get((student_id, case_study.pk), 0)
        )
        for student_id in student_ids
        for case_study in case_studies
    }


# The gradebook's values in SQL, from each pair's maintained totals (CaseStudyStanding,
# attempts.standing). The detail keeps the Python rules above (it also numbers each attempt and
# marks the ones used for the final score, which a table of values does not need); the totals
# follow the same declared rules (Session's NON_CONSUMING_TRANSCRIPT and GradingStatus.COMPLETE:
# attempts/tests/test_standing.py holds the table equal to them), the final score per
# CaseStudy.GradingMethod is taken below from the graded scores, and the ledger's
# never-below-0 in case_study_cells;
# console/tests/test_gradebook_values.py holds the two equal on generated cases. In SQL,
# because building a card per student and case study cost the gradebook 9× the list's CSV.
CARD_VALUES = ("attempts_used", "attempts_allowed", "best_score", "final_score")
# mark_final_score's rule per grading method, on `a.graded_scores`: the graded scores, oldest
# attempt first. `highest` (and any other method) is the best score: a tie goes to the earliest
# attempt, which has the same score. `average` sums newest first, as CaseStudyCard.final_score
# does, so the floating-point sum is the same to the last bit.
_FINAL_SQL = {
    CaseStudy.GradingMethod.LATEST: "a.graded_scores[cardinality(a.graded_scores)]",
    CaseStudy.GradingMethod.FIRST: "a.graded_scores[1]",
    CaseStudy.GradingMethod.AVERAGE: (
        "(SELECT sum(u.score ORDER BY u.n DESC) FROM unnest(a.graded_scores) WITH ORDINALITY AS u(score, n))"
        " / cardinality(a.graded_scores)"
    ),
}


def case_study_values_sql(case_studies, *, students, probe=False):
    """(SQL, params) of two common table expressions, `_cases` and `_values`, for a WITH that
    names earlier the relation `students` (a column `pk`, unique: a join, not a semi-join,
    which would hash its keys once more to drop duplicates). `_values` has one row per student
    with a session or a ledger sum on one of `case_studies` (CaseStudy instances): its
    `student_id`, then for each case study, numbered from 1 in the order given, `attempted_N`
    (has a session there), `used_N`, `extra_N` (the ledger's sum), `best_N` and `final_N`, all
    null where the student has neither. case_study_cells turns them into the CARD_VALUES.
    Set-based: one maintained row per student and case study (CaseStudyStanding), nothing
    aggregated from sessions.

    How they are found: by default joined to `students`, which lets the planner read these
    case studies' rows once and hash them, the cheapest way when `students` are most of the
    tenant's. With `probe` (a part of the tenant's students), through the (student, case
    study) key, walked once over the students' keys (`= ANY(ARRAY(…))`), so the cost follows
    the students asked for, not the tenant's size (bench/README.md)."""
    final_sql = " ".join(f"WHEN '{method!s}' THEN {sql}" for method, sql in _FINAL_SQL.items())
    standing_of = _of_students(CaseStudyStanding, "st", students, probe)
    pairs = f"""SELECT a.student_id, c.ord, a.sessions > 0 AS attempted, a.attempts_used AS used,
         a.extra_attempts AS extra, a.best_score AS best,
         (CASE c.grading_method {final_sql} ELSE a.best_score END)::float8 AS final
  FROM (SELECT st.* FROM {standing_of} st.case_study_id = ANY(%s::text[])) a
  JOIN _cases c USING (case_study_id)"""
    # One row per student: each pair's values in its case study's columns (a student has at
    # most one pair per case study, so each aggregate picks that one value or none).
    pivot = "".join(
        f",\n       bool_or(p.attempted) FILTER (WHERE p.ord = {n}) AS attempted_{n}, "
        + ", ".join(f"min(p.{name}) FILTER (WHERE p.ord = {n}) AS {name}_{n}" for name in ("used", "extra", "best", "final"))
        for n in range(1, len(case_studies) + 1)
    )
    values = f"SELECT p.student_id{pivot}\nFROM ({pairs}) p\nGROUP BY p.student_id"
    cases = """_cases AS (SELECT * FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS c(case_study_id, grading_method, ord))"""
    ids = [case_study.pk for case_study in case_studies]
    params = [ids, [case_study.grading_method for case_study in case_studies], ids]
    return f"{cases},\n_values AS ({values})", params


def _of_students(model, alias, students, probe):
    """`FROM … WHERE` (to be continued by a condition) over `model`'s rows as `alias`, kept to
    those of `students`: joined, or with `probe` looked up by their keys."""
    table = model._meta.db_table
    if probe:
        return f"{table} {alias}\n    WHERE {alias}.student_id = ANY(ARRAY(SELECT pk FROM {students})) AND"
    return f"{table} {alias} JOIN {students} {alias}_st ON {alias}_st.pk = {alias}.student_id\n    WHERE"


def case_study_cells(case_studies, *, values, programme_ids, as_text=False):
    """The SQL of the CARD_VALUES of each of `case_studies` (four per case study, in their
    order) for one student, from case_study_values_sql's `_values` row aliased `values` (null
    when the student has none) and the SQL of the student's programme ids: shown where the
    case study is assigned to the student (a programme in common: (0, max_attempts, null,
    null) when never attempted) or attempted; all four null otherwise (a ledger row alone
    does not show it). Numbers, or with `as_text` the text PostgreSQL writes for them (the
    shortest that reads back the same float), null for none."""
    cells = []
    for n, case_study in enumerate(case_studies, 1):
        assigned = ",".join(str(int(pk)) for pk in case_study.programme_id_list or ())
        shown = f"(coalesce({values}.attempted_{n}, false) OR {programme_ids} && '{{{assigned}}}'::bigint[])"
        four = (
            f"CASE WHEN {shown} THEN coalesce({values}.used_{n}, 0) END",
            f"CASE WHEN {shown} THEN {int(case_study.max_attempts)} + greatest(coalesce({values}.extra_{n}, 0), 0) END",
            f"{values}.best_{n}",  # null unless attempted, hence shown
            f"{values}.final_{n}",
        )
        cells += [f"({cell})::text" if as_text else cell for cell in four]
    return cells


def _recent_first(cards):
    """Most recently started first (ties on case_study_id ascending); unattempted cards last."""
    attempted = [c for c in cards if c.last_started_at is not None]
    unattempted = [c for c in cards if c.last_started_at is None]
    attempted.sort(key=lambda c: c.case_study.pk)
    attempted.sort(key=lambda c: c.last_started_at, reverse=True)
    unattempted.sort(key=lambda c: c.case_study.pk)
    return attempted + unattempted


def student_case_study_card(*, student_id, case_study_id):
    return student_case_study_cards(student_id=student_id, case_study_ids=[case_study_id])[0]


def student_attempt_totals(*, student_id):
    """Header counts without loading sessions: case_studies_attempted, total_sessions,
    total_attempts (consuming sessions). One query."""
    return Session.objects.filter(student_id=student_id).aggregate(
        case_studies_attempted=Count("case_study_id", distinct=True),
        total_sessions=Count("pk"),
        total_attempts=Count("pk", filter=CONSUMING),
    )


def card_attempt_totals(cards):
    """student_attempt_totals counted from all of a student's cards (already loaded)."""
    attempted = [card for card in cards if card.attempts]
    return {
        "case_studies_attempted": len(attempted),
        "total_sessions": sum(len(card.attempts) for card in attempted),
        "total_attempts": sum(card.attempts_used for card in attempted),
    }
