"""Reads of attempts: the per-case-study cards of a student (SPEC §4 derived values).

The rules live here and nowhere else: attempt numbering, which sessions consume an attempt,
extra and allowed attempts, best score, and which attempts count for the final score.
"""
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, Sum, prefetch_related_objects

from attempts.models import AttemptGrant, Session
from catalogue.models import CaseStudy

COMPLETE = Session.GradingStatus.COMPLETE
CONSUMING = ~Q(transcript_status__in=Session.NON_CONSUMING_TRANSCRIPT)


@dataclass
class Attempt:
    session: Session
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
    def last_started_at(self):
        return self.attempts[0].session.started_at if self.attempts else None

    @property
    def programmes(self):
        return sorted(self.case_study.programmes.all(), key=lambda p: p.code)

    @property
    def programme_codes(self):
        return [p.code for p in self.programmes]

    @property
    def programme_label(self):
        return ", ".join(p.name for p in self.programmes)


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


def extra_attempts_by_case_study(*, student_id, case_study_ids=None):
    """{case_study_id: extra} of one student (extra_attempts' rule)."""
    extra = extra_attempts(student_ids=[student_id], case_study_ids=case_study_ids)
    return {case_study_id: value for (_, case_study_id), value in extra.items()}


def student_case_study_cards(*, student_id, case_study_ids=None):
    """Cards for the student's attempted case studies, most recently started first.

    With `case_study_ids`, cards for exactly those case studies (attempted or not), in the same
    order, unattempted ones last. Queries: sessions (with case studies), case-study programmes,
    grant totals — three, whatever the number of sessions."""
    # Bookkeeping timestamps are not read here; a busy student's hundreds of rows skip them.
    sessions = (
        Session.objects.filter(student_id=student_id)
        .select_related("case_study")
        .defer("created_at", "updated_at", "case_study__created_at", "case_study__updated_at")
    )
    if case_study_ids is not None:
        sessions = sessions.filter(case_study_id__in=case_study_ids)
    sessions = sessions.order_by("case_study_id", "started_at", "session_id")

    by_case_study = defaultdict(list)
    case_studies = {}
    for session in sessions:
        by_case_study[session.case_study_id].append(session)
        case_studies[session.case_study_id] = session.case_study
    if case_study_ids is not None:
        missing = set(case_study_ids) - set(case_studies)
        if missing:
            case_studies.update({cs.pk: cs for cs in CaseStudy.objects.filter(pk__in=missing)})

    prefetch_related_objects(list(case_studies.values()), "programmes")
    extra = extra_attempts_by_case_study(student_id=student_id, case_study_ids=list(case_studies))

    cards = []
    for case_study_id, case_study in case_studies.items():
        ordered = [Attempt(session=s, number=i) for i, s in enumerate(by_case_study.get(case_study_id, []), 1)]
        mark_final_score(ordered, case_study.grading_method)
        cards.append(
            CaseStudyCard(
                case_study=case_study, attempts=list(reversed(ordered)), extra_attempts=extra.get(case_study_id, 0)
            )
        )
    return _recent_first(cards)


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
        last_seen=Max("last_activity_at"),
    )
