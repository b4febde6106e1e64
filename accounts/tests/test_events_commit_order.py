"""Positions follow commit order, with real commits on several connections: a reader following
`after` sees every event exactly once even when a transaction that started first commits last
(a position given at insert would have put its event behind the reader's cursor for good).
These tests commit; `committed_tenant` empties the tenant afterwards, and the dispatcher's
wake-up jobs they queue are removed here."""
import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction

from accounts.events import types
from accounts.events.models import Event
from accounts.events.selectors import events_after
from accounts.events.services import WEBHOOKS_DISPATCH, event_record, events_record_many


def _forget_wake_ups(tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM public.procrastinate_jobs WHERE queueing_lock = %s",
            [f"{WEBHOOKS_DISPATCH}:{tenant.schema_name}"],
        )


@pytest.fixture
def tenant_committing(committed_tenant):
    _forget_wake_ups(committed_tenant)
    yield committed_tenant
    connection.set_schema_to_public()
    _forget_wake_ups(committed_tenant)


def _export(name):
    event_record(type=types.EXPORT_DONE, subject_type="export_job", subject_id=name)


def _in_thread(tenant, work):
    """Run `work` on a connection of its own (a thread), to the tenant's schema."""
    outcome = {}

    def run():
        try:
            connection.set_tenant(tenant)
            outcome["result"] = work()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _read(after):
    events = events_after(after, limit=1000)
    return [e.subject_id for e in events], (events[-1].position if events else after)


def test_a_transaction_started_first_and_committed_last_is_read_after_the_other_once(tenant_committing):
    tenant = tenant_committing
    with transaction.atomic():
        _export("earlier")  # its commit leaves the dispatcher's job waiting: the next wake-ups find it
    seen, cursor = _read(0)
    assert seen == ["earlier"]

    first_written, second_committed, first_may_commit = threading.Event(), threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            _export("first")
            first_written.set()
            assert first_may_commit.wait(30)
        return Event.objects.get(subject_id="first").id

    def second():
        assert first_written.wait(30)
        with transaction.atomic():
            _export("second")
        second_committed.set()
        return Event.objects.get(subject_id="second").id

    first_thread, first_outcome = _in_thread(tenant, first)
    second_thread, second_outcome = _in_thread(tenant, second)
    try:
        assert second_committed.wait(30), second_outcome
        page, cursor = _read(cursor)
        assert page == ["second"]  # the first is not committed: nothing of it is visible yet
    finally:
        first_may_commit.set()
        first_thread.join(30)
        second_thread.join(30)
    assert "error" not in first_outcome and "error" not in second_outcome, (first_outcome, second_outcome)
    page, cursor = _read(cursor)
    assert page == ["first"]  # read after the second, once
    assert _read(cursor) == ([], cursor)
    positions = dict(Event.objects.values_list("subject_id", "position"))
    assert positions == {"earlier": 1, "second": 2, "first": 3}
    assert first_outcome["result"] < second_outcome["result"]  # made first, numbered last


def test_two_committing_writers_queue_one_wake_up_at_their_commits_and_neither_waits_before(tenant_committing):
    """The dispatcher's wake-up is queued at the commit (migration 0006), one waiting job per
    tenant: a transaction that wrote events later but commits first is not held up by the
    other's uncommitted events, and the second commit finds the first one's wake-up waiting."""
    tenant = tenant_committing
    first_written, first_may_commit = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            _export("first")
            first_written.set()
            assert first_may_commit.wait(30)

    def second():
        assert first_written.wait(30)
        with transaction.atomic():
            _export("second")

    first_thread, first_outcome = _in_thread(tenant, first)
    second_thread, second_outcome = _in_thread(tenant, second)
    second_thread.join(30)
    assert "error" not in second_outcome, second_outcome
    assert _read(0) == (["second"], 1)  # committed while the first is still open
    first_may_commit.set()
    first_thread.join(30)
    assert "error" not in first_outcome, first_outcome
    assert _read(0) == (["second", "first"], 2)  # commit order
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM public.procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo'",
            [f"{WEBHOOKS_DISPATCH}:{tenant.schema_name}"],
        )
        assert cursor.fetchone()[0] == 1


WRITERS = 8
TRANSACTIONS_PER_WRITER = 25


def test_eight_writers_at_once_and_a_follower_see_every_event_once_in_commit_order(tenant_committing):
    """Writers commit 1 to 3 events a transaction, pausing inside it so that they overlap and
    commit in another order than they began; a follower polls the feed's read all along."""
    tenant = tenant_committing
    done = threading.Event()
    written = Counter()
    lock = threading.Lock()

    def writer(index):
        chance = random.Random(index)
        for n in range(TRANSACTIONS_PER_WRITER):
            count = chance.randint(1, 3)
            with transaction.atomic():
                events_record_many(
                    type=types.EXPORT_DONE, subject_type="export_job",
                    items=[(f"w{index}-t{n}-e{k}", None, {"rows": k}) for k in range(count)],
                )
                time.sleep(chance.random() / 100)
            with lock:
                written[index] += count

    followed = []

    def follower():
        cursor = 0
        while True:
            finished = done.is_set()  # read before the page: a page read after it holds everything
            events = events_after(cursor, limit=50)
            followed.extend((e.position, e.subject_id, e.id) for e in events)
            if events:
                cursor = events[-1].position
            elif finished:
                return
            else:
                time.sleep(0.005)

    threads = [_in_thread(tenant, lambda i=i: writer(i)) for i in range(WRITERS)]
    follower_thread, follower_outcome = _in_thread(tenant, follower)
    for thread, _ in threads:
        thread.join(120)
    done.set()
    follower_thread.join(60)
    assert not follower_thread.is_alive()
    assert all("error" not in outcome for _, outcome in threads), [o for _, o in threads if "error" in o]
    assert "error" not in follower_outcome, follower_outcome

    total = sum(written.values())
    assert total >= WRITERS * TRANSACTIONS_PER_WRITER  # at least one event per transaction
    assert len(followed) == total
    assert [position for position, _, _ in followed] == list(range(1, total + 1))  # gapless, each once, in order
    assert len({event_id for _, _, event_id in followed}) == total
    # A transaction's events are consecutive, in the order they were made.
    by_transaction = {}
    for position, subject_id, _ in followed:
        by_transaction.setdefault(subject_id.rsplit("-", 1)[0], []).append((position, subject_id))
    for rows in by_transaction.values():
        positions = [p for p, _ in rows]
        assert positions == list(range(positions[0], positions[0] + len(rows)))
        assert [s for _, s in rows] == sorted(s for _, s in rows)
    assert len(by_transaction) == WRITERS * TRANSACTIONS_PER_WRITER
    # And the run did what it is for: transactions committed in another order than they wrote.
    ids_in_commit_order = [event_id for _, _, event_id in followed]
    assert ids_in_commit_order != sorted(ids_in_commit_order)
