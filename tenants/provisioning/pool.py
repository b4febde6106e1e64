"""Worker processes for work over many tenants (creating them, migrating them)."""
import multiprocessing
import signal
from contextlib import contextmanager

from django.db import connections


def _worker_start():
    # Killed by the pool only when the parent fails: die at once, without the clean exit that
    # config.database installs for SIGTERM (its cleanup could wait on a lock some thread of
    # the parent held when this process was forked).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def fork_pool(processes):
    """A pool of `processes` workers forked from this process, so they inherit its loaded
    apps; each opens its own database connections. Closed and joined on the way out."""
    for alias in connections:  # a connection must not be shared with the children
        connections[alias].close()
    pool = multiprocessing.get_context("fork").Pool(processes, initializer=_worker_start)
    try:
        yield pool
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
