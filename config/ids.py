"""Opaque ids: 24 lowercase hex characters, ObjectId-style and time-ordered.

4 bytes of seconds since the epoch, 5 random bytes fixed per process, and a 3-byte
counter, exactly like a MongoDB ObjectId, so ids sort by creation time and records
imported from such a system look the same as ours.

"Per process" means per process, forks included: the production server loads the app (and
so this module) once and then forks its workers, which would otherwise all start from the
same random bytes and counter and make the same ids in the same second. A child drawing
new random bytes and a new counter start at fork (the MongoDB drivers do the same) is what
keeps ids unique across workers, threads and machines: within a process the counter under
the lock separates ids, across processes the 40 random bits do.
"""
import itertools
import os
import re
import threading
import time


def _reseed():
    """New random bytes, counter start and lock for this process (at import, and in every
    child after a fork: a lock held by another thread at the fork would never be released)."""
    global _PROCESS_RANDOM, _counter, _lock
    _PROCESS_RANDOM = os.urandom(5)
    _counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
    _lock = threading.Lock()


_reseed()
os.register_at_fork(after_in_child=_reseed)

OPAQUE_ID = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"
OPAQUE_ID_RE = re.compile(rf"^{OPAQUE_ID}\Z")


# Path parameter name -> the pattern its value must have. The OpenAPI schema shows it
# (config.openapi); the URL takes any segment, so a malformed id reaches the view and is a
# 400 naming it (SPEC §6), while a well-formed id that names nothing is a 404.
PATH_PARAMETER_PATTERNS = {}


def id_in_path(name, pattern=OPAQUE_ID):
    """The URL group for an id (or another key, such as a programme code) named `name`."""
    PATH_PARAMETER_PATTERNS[name] = pattern
    return rf"(?P<{name}>[^/]+)"


def new_object_id(at=None):
    seconds = int(time.time() if at is None else at) & 0xFFFFFFFF
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return (seconds.to_bytes(4, "big") + _PROCESS_RANDOM + count.to_bytes(3, "big")).hex()


def is_valid_opaque_id(value):
    """Ids from other systems are kept, but only in a safe shape: 1-64 of [A-Za-z0-9_.:-]."""
    return isinstance(value, str) and bool(OPAQUE_ID_RE.match(value))
