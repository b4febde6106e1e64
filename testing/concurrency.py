"""Work raced on several connections at once, for tests of what concurrent writers do."""
import threading
import time

from django.db import connection, transaction


def race(tenant, works, *, timeout=120):
    """Run each of `works` (callables) in its own thread with its own connection to the
    tenant's schema, connected first and released together by a barrier, so they meet on
    locks rather than on connecting. Returns each one's result, or the exception it raised,
    in the order given; fails the test if a thread is stuck."""
    barrier = threading.Barrier(len(works))
    results = [None] * len(works)

    def run(index, work):
        try:
            connection.set_tenant(tenant)
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[index] = work()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def raised(results):
    """The exceptions among race()'s results."""
    return [result for result in results if isinstance(result, Exception)]


def held_then_meanwhile(tenant, first, second, *, hold=1.0):
    """race() two transactions: `first` writes, then its transaction stays open `hold` seconds;
    `second` writes in its own transaction meanwhile, so it meets the first's locks and must
    see its rows once it commits. Returns the exceptions raised."""
    written = threading.Event()

    def first_then_hold():
        with transaction.atomic():
            first()
            written.set()
            time.sleep(hold)

    def second_meanwhile():
        assert written.wait(timeout=30)
        with transaction.atomic():
            second()

    return raised(race(tenant, [first_then_hold, second_meanwhile]))
