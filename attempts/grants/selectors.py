"""Reads of the grant ledger (SPEC §7.2): the ledger itself, and the card numbers a bulk grant
reports for many students at once (the SPEC §4 rules of attempts.selectors)."""
from django.db.models import Count

from attempts.models import AttemptGrant, Session
from attempts.selectors import CONSUMING, extra_attempts


def attempt_grant_list(*, user_id=None, case_study_id=None):
    """The grant ledger, newest first (ties on id, which is time-ordered, newest first).
    Filters are optional; without them, the tenant's whole ledger (an audit trail)."""
    grants = AttemptGrant.objects.select_related("actor")
    if user_id is not None:
        grants = grants.filter(student_id=user_id)
    if case_study_id is not None:
        grants = grants.filter(case_study_id=case_study_id)
    return grants.order_by("-created_at", "-id")


def case_study_numbers_for_students(*, case_study, student_ids):
    """{user_id: (attempts_used, extra_attempts, attempts_allowed)} on one case study for many
    students, with the card's rules. Two queries, whatever the number of students."""
    used = (
        Session.objects.filter(case_study_id=case_study.pk, student_id__in=student_ids)
        .values("student_id")
        .annotate(used=Count("pk", filter=CONSUMING))
        .order_by()
    )
    used = {row["student_id"]: row["used"] for row in used}
    extra = extra_attempts(student_ids=student_ids, case_study_ids=[case_study.pk])
    extra = {student_id: value for (student_id, _), value in extra.items()}
    return {
        s: (used.get(s, 0), extra.get(s, 0), case_study.max_attempts + extra.get(s, 0)) for s in student_ids
    }
