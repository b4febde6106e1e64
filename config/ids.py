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

from django.core.validators import RegexValidator
from django.urls import register_converter
from django.urls.converters import StringConverter

_PROCESS_RANDOM: bytes
_counter: "itertools.count[int]"
_lock: threading.Lock


def _reseed():
    """New random bytes, counter start and lock for this process (at import, and in every
    child after a fork: a lock held by another thread at the fork would never be released)."""
    global _PROCESS_RANDOM, _counter, _lock
    _PROCESS_RANDOM = os.urandom(5)
    _counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
    _lock = threading.Lock()


_reseed()
os.register_at_fork(after_in_child=_reseed)

# The words that literal routes put where a sibling route has an id (/v1/students/bulk/archive
# beside /v1/students/{user_id}/archive, /v1/students/import, /v1/console/students/export, the
# console's students/new/). An id in a path is never one of them, so a literal route and an id
# route match the same paths whichever comes first; and no record's id may be one, so every
# record can be addressed. config/tests/test_urls.py derives this list from the routes and
# checks it.
RESERVED_PATH_WORDS = ("bulk", "export", "import", "new")
_RESERVED = "(?:" + "|".join(map(re.escape, RESERVED_PATH_WORDS)) + ")"


def _not_reserved(pattern):
    return rf"(?!{_RESERVED}$){pattern}"


OPAQUE_ID = _not_reserved(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
OPAQUE_ID_RE = re.compile(rf"^{OPAQUE_ID}\Z")
# An id's path segment: any segment but a reserved word (followed by "/" or the end).
ID_SEGMENT = rf"(?!{_RESERVED}(?![^/]))[^/]+"

# Path parameter name -> the pattern its value must have. The OpenAPI schema shows it
# (config.openapi), reserved words refused; the URL takes any other segment, so a malformed
# id reaches the view and is a 400 naming it (SPEC §6), while a well-formed id that names
# nothing is a 404.
PATH_PARAMETER_PATTERNS: dict[str, str] = {}


def id_in_path(name, pattern=OPAQUE_ID):
    """The URL group for an id (or another key, such as a programme code) named `name`."""
    PATH_PARAMETER_PATTERNS[name] = pattern if pattern.startswith(_not_reserved("")) else _not_reserved(pattern)
    return rf"(?P<{name}>{ID_SEGMENT})"


class IdConverter(StringConverter):
    """`<id:name>` in a path() route: the segment id_in_path takes."""

    regex = ID_SEGMENT


# Registered here, which the models import (new_object_id), so before any URLconf loads.
register_converter(IdConverter, "id")


def new_object_id(at=None):
    seconds = int(time.time() if at is None else at) & 0xFFFFFFFF
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return (seconds.to_bytes(4, "big") + _PROCESS_RANDOM + count.to_bytes(3, "big")).hex()


def is_valid_opaque_id(value):
    """Ids from other systems are kept, but only in a safe shape: 1-64 of [A-Za-z0-9_.:-]."""
    return isinstance(value, str) and bool(OPAQUE_ID_RE.match(value))


# The shape of every id, said once. Serializer fields and FilterSets take ID_VALIDATOR (the
# schema shows its pattern), views, selectors and services call check_id, and a validator
# that raises its own kind of error (pydantic's) asks id_error.
MSG_BAD_ID = (
    "Use 1-64 letters, digits or _ . : - (starting with a letter or digit), "
    "other than the words bulk, export, import and new."
)
ID_VALIDATOR = RegexValidator(OPAQUE_ID_RE, MSG_BAD_ID)


def id_error(value):
    """None when `value` is an id in the shape above, else the message saying what one is."""
    return None if is_valid_opaque_id(value) else MSG_BAD_ID


def check_id(value, *, field):
    """`value` when it is an id in the shape above; else a 400 naming `field`."""
    error = id_error(value)
    if error:
        from config.errors import AppError  # DRF, which the models importing this module must not load

        raise AppError.validation({field: error})
    return value
