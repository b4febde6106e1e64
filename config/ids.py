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
