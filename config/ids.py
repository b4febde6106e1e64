"""Opaque ids: 24 lowercase hex characters, ObjectId-style and time-ordered.

4 bytes of seconds since the epoch, 5 random bytes fixed per process, and a 3-byte
counter, exactly like a MongoDB ObjectId, so ids sort by creation time and records
imported from such a system look the same as ours.
"""
import itertools
import os
import re
import threading
import time

_PROCESS_RANDOM = os.urandom(5)
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_lock = threading.Lock()

OPAQUE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def new_object_id(at=None):
    seconds = int(time.time() if at is None else at) & 0xFFFFFFFF
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return (seconds.to_bytes(4, "big") + _PROCESS_RANDOM + count.to_bytes(3, "big")).hex()


def is_valid_opaque_id(value):
    """Ids from other systems are kept, but only in a safe shape: 1-64 of [A-Za-z0-9_.:-]."""
    return isinstance(value, str) and bool(OPAQUE_ID_RE.match(value))
