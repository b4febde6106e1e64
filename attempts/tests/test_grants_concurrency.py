"""Concurrent grants and revokes on one (student, case study) pair (SPEC §7.2): no lost update,
never below zero. Each thread has its own database connection and really commits
(`committed_tenant`), and a barrier releases them together so they race."""
from collections import Counter

import pytest
from django.db.models import Sum

from attempts.grants import services
from attempts.models import AttemptGrant
from attempts.selectors import student_case_study_card
from config.errors import AppError
from testing.clients import bearer_client
from testing.concurrency import race
from testing.factories import CaseStudyFactory, ProgrammeFactory, StaffUserFactory, StudentFactory
from testing.tenancy import TEST_TENANT

THREADS = 24


def _race(tenant, n, work):
    """work(i) in n threads on their own connections, started together (testing.concurrency)."""
    return race(tenant, [lambda i=i: work(i) for i in range(n)])


@pytest.fixture
def pair(committed_tenant):
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    student = StudentFactory(first_name="Zoë", last_name="Brontë", programmes=[mba])
    case_study = CaseStudyFactory(title="Fuel Subsidy removal in Nigeria", programmes=[mba])
    actor = StaffUserFactory(email="operator@uni.example", full_name="Obi Operator", roles=["operator"])
    return student, case_study, actor


def _ledger_sum(student, case_study):
    return AttemptGrant.objects.filter(student=student, case_study=case_study).aggregate(s=Sum("delta"))["s"] or 0


def _outcome(call):
    try:
        call()
        return "ok"
    except AppError as exc:
        return exc.code


def test_concurrent_revokes_take_exactly_the_extra_attempts_and_no_more(committed_tenant, pair):
    student, case_study, actor = pair
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=5, reason="Outage", actor=actor)

    def revoke(i):
        return _outcome(
            lambda: services.attempts_revoke(
                user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=f"Revoke {i}", actor=actor
            ).grant
        )

    results = _race(committed_tenant, THREADS, revoke)
    assert Counter(results) == {"ok": 5, "CONFLICT": THREADS - 5}
    assert _ledger_sum(student, case_study) == 0
    assert AttemptGrant.objects.filter(delta=-1).count() == 5
    assert student_case_study_card(student_id=student.pk, case_study_id=case_study.pk).extra_attempts == 0


def test_concurrent_grants_lose_no_update(committed_tenant, pair):
    student, case_study, actor = pair

    def grant(i):
        return _outcome(
            lambda: services.attempts_grant(
                user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=f"Grant {i}", actor=actor
            ).grant
        )

    results = _race(committed_tenant, THREADS, grant)
    assert results == ["ok"] * THREADS
    assert _ledger_sum(student, case_study) == THREADS
    assert student_case_study_card(student_id=student.pk, case_study_id=case_study.pk).extra_attempts == THREADS


def test_concurrent_revoke_requests_over_http_answer_201_five_times_and_409_otherwise(committed_tenant, pair):
    student, case_study, actor = pair
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=5, reason="Outage", actor=actor)
    clients = [bearer_client(TEST_TENANT["domain"], actor) for _ in range(THREADS)]
    body = {"user_id": student.pk, "case_study_id": case_study.pk, "attempts": 1, "reason": "Granted twice"}

    def revoke(i):
        response = clients[i].post("/v1/console/attempts/revoke", body, format="json")
        return response.status_code, response.json()

    results = _race(committed_tenant, THREADS, revoke)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 5, 409: THREADS - 5}
    # Each success reports the card as it stood right after that revoke: 4, 3, 2, 1, 0.
    assert sorted(body["data"]["extra_attempts"] for status, body in results if status == 201) == [0, 1, 2, 3, 4]
    conflicts = [body for status, body in results if status == 409]
    assert all(b["code"] == "CONFLICT" and "has 0 extra attempt(s)" in b["message"] for b in conflicts)
    assert _ledger_sum(student, case_study) == 0


def test_mixed_concurrent_grants_and_revokes_never_go_below_zero(committed_tenant, pair):
    student, case_study, actor = pair
    services.attempts_grant(user_id=student.pk, case_study_id=case_study.pk, attempts=2, reason="Outage", actor=actor)

    def change(i):
        service = services.attempts_grant if i % 2 else services.attempts_revoke
        return i % 2, _outcome(
            lambda: service(user_id=student.pk, case_study_id=case_study.pk, attempts=1, reason=f"Change {i}", actor=actor)
        )

    results = _race(committed_tenant, THREADS, change)
    granted = sum(1 for is_grant, outcome in results if is_grant and outcome == "ok")
    revoked = sum(1 for is_grant, outcome in results if not is_grant and outcome == "ok")
    assert granted == THREADS // 2
    assert _ledger_sum(student, case_study) == 2 + granted - revoked >= 0
    # Replaying the ledger in commit order never dips below zero.
    running = 0
    for delta in AttemptGrant.objects.filter(student=student, case_study=case_study).order_by("created_at", "id").values_list(
        "delta", flat=True
    ):
        running += delta
        assert running >= 0


def test_overlapping_bulk_grants_in_opposite_orders_do_not_deadlock(committed_tenant, pair):
    _, case_study, actor = pair
    programme = case_study.programmes.get()
    students = [StudentFactory(programmes=[programme]) for _ in range(30)]
    ids = [s.pk for s in students]

    def bulk(i):
        order = ids if i % 2 else list(reversed(ids))
        return _outcome(
            lambda: [g.grant for g in services.attempts_grant_bulk(
                user_ids=order, case_study_id=case_study.pk, attempts=1, reason=f"Bulk {i}", actor=actor
            )]
        )

    results = _race(committed_tenant, 8, bulk)
    assert results == ["ok"] * 8
    totals = (
        AttemptGrant.objects.filter(case_study=case_study).values("student_id").annotate(s=Sum("delta")).order_by()
    )
    assert {row["student_id"]: row["s"] for row in totals} == {user_id: 8 for user_id in ids}
