"""The cyclic garbage collector paused around bulk work in memory.

Reference counting frees nearly everything such work makes; the cyclic collector, left on,
runs a full pass over every object of the process each time the objects it tracks grow by a
quarter, and a step that builds hundreds of thousands of lists and dicts (a 50,000-row student
import: its cells, values and plan) pays for several such passes over the whole process
(measured: 1.6-3 s of the dry run's 3.6-4.6 s, bench/student_import.py). Nested and concurrent
pauses share one: the collector comes back on when the last of them ends, if it was on before
the first began, and collects what accumulated at its next turn.
"""
import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_on = False


@contextmanager
def collection_paused():
    global _pauses, _was_on
    with _lock:
        if _pauses == 0:
            _was_on = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_on:
                gc.enable()
