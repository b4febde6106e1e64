"""Writing events: in the caller's transaction, so an event is kept exactly when its change is.

- `event_record` writes one event, `events_record_many` several in one INSERT, and
  `events_record_copy` many in one COPY (an import's tens of thousands). Each takes the type,
  its subject and, when the event concerns a student, the student's id; the actor is the one
  the audit trail names (the signed-in user or the Bearer token's, or "system" for a command).
- `events_from_audit` is the audit trail's hook (accounts.audit.services): every staff write
  is audited in its transaction, and the audited actions that are events of interest
  (AUDITED) become events there, from the same snapshots.

Positions are given at commit (migration 0006): a deferred trigger takes the tenant's counter
row (EventCounter), numbers the transaction's events after the last given and holds the row's
lock until the commit, so positions follow commit order without gaps. The same trigger wakes
the webhook dispatcher: it queues a `webhooks.dispatch` job for the tenant under the tenant's
queueing lock unless one is already waiting, in the committing transaction. The cost: transactions
that write events in one tenant commit one after the other (each waits, at its commit, for the
one ahead to finish committing); tenants never wait for each other. A transaction writes its
events after its other rows, so no deferred check of its own runs while it holds the counter.

Events older than EVENTS_RETENTION_DAYS are deleted by `events_prune`.
"""
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from accounts.events import types
from accounts.events.models import Event, EventCounter
from accounts.events.selectors import events_pruned_through
from config.bulk_copy import copy_rows
from config.ids import new_object_id

WEBHOOKS_DISPATCH = "webhooks.dispatch"  # queued at the commit by the numbering trigger (migration 0006)

_TABLE = Event._meta.db_table
_INSERT_SQL = f"""
INSERT INTO {_TABLE} (id, type, occurred_at, actor, subject_type, subject_id, student_id, data)
SELECT id, type, occurred_at, actor::jsonb, subject_type, subject_id, student_id, data::jsonb
FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
    AS e(id, type, occurred_at, actor, subject_type, subject_id, student_id, data)
"""
_COPY_FIELDS = ("id", "type", "occurred_at", "actor", "subject_type", "subject_id", "student_id", "data")


def _json(value):
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def event_actor():
    """{"id", "email", "via"} of the request being served, as the audit trail names its actor."""
    # Imported here: the audit trail records its events through this module.
    from accounts.audit.services import audit_actor

    actor_id, email, via, _, _ = audit_actor()
    return {"id": actor_id, "email": email, "via": via}


def _checked(type, subject_type, student_id):
    declared = types.EVENT_TYPES.get(type)
    if declared is None:
        raise ValueError(f"{type!r} is not an event type (accounts.events.types)")
    if subject_type != declared.subject_type:
        raise ValueError(f"{type} events are about a {declared.subject_type}, not a {subject_type}")
    if (student_id is not None) != declared.about_a_student:
        raise ValueError(f"{type} events {'need' if declared.about_a_student else 'have no'} student_id")


def _row(type, subject_type, subject_id, student_id, data, *, actor, now):
    """An event's row; `actor` as its JSON text (the same for every event of a write)."""
    _checked(type, subject_type, student_id)
    return (
        new_object_id(), type, now, actor, subject_type, str(subject_id)[:64],
        None if student_id is None else str(student_id), _json(data or {}),
    )


def _insert(rows):
    """One INSERT of `rows` (tuples in _COPY_FIELDS order)."""
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, [list(column) for column in zip(*rows, strict=True)])
        return cursor.rowcount


def event_record(*, type, subject_type, subject_id, student_id=None, data=None):
    """Write one event of `type` (accounts.events.types) about the subject, in the caller's
    transaction. `data`: the changed fields {field: [before, after]} or the values that say what
    happened (plain JSON values, dates and times included)."""
    events_record_many(type=type, subject_type=subject_type, items=[(subject_id, student_id, data)])


def events_record_many(*, type, subject_type, items, actor=None):
    """One event of `type` per (subject_id, student_id, data) of `items`, in one INSERT.
    Returns how many were written."""
    actor = _json(event_actor() if actor is None else actor)
    now = timezone.now()
    return _insert([_row(type, subject_type, s, student, d, actor=actor, now=now) for s, student, d in items])


def events_record_copy(*, type, subject_type, items, actor=None):
    """events_record_many by COPY: for tens of thousands of events (an import)."""
    actor = _json(event_actor() if actor is None else actor)
    now = timezone.now()
    written = 0

    def rows():
        nonlocal written
        for subject_id, student_id, data in items:
            written += 1
            yield _row(type, subject_type, subject_id, student_id, data, actor=actor, now=now)

    copy_rows(Event, _COPY_FIELDS, rows())
    return written


# The audit trail's hook -----------------------------------------------------------------


def _student_event(type):
    def build(target_id, changes, detail):
        if type == types.STUDENT_UPDATED and not changes:
            return None  # saved as it was: nothing for a subscriber
        return type, "student", target_id, target_id, changes

    return build


def _erased_event(target_id, changes, detail):
    return types.STUDENT_ERASED, "student", target_id, target_id, {"erased_at": detail["erased_at"], **detail["pseudonym"]}


def _attempts_event(type):
    def build(target_id, changes, detail):
        data = {
            "case_study_id": detail["case_study_id"],
            "grant_id": detail["grant_id"],
            "attempts": abs(detail["delta"]),
            "reason": detail["reason"],
            **changes,
        }
        return type, "attempt_grant", detail["grant_id"], target_id, data

    return build


def _membership_event(type):
    def build(target_id, changes, detail):
        data = {"group_id": detail["group_id"], "group_name": detail["group_name"]}
        return type, "student_group", detail["group_id"], target_id, data

    return build


# (audit action, audited target type) -> how its event is made from the audited (target_id,
# changes, detail): (type, subject_type, subject_id, student_id, data), or None for no event.
# A membership change is audited on the group and on each student; the students' make events.
AUDITED = {
    ("student.create", "student"): _student_event(types.STUDENT_CREATED),
    ("student.update", "student"): _student_event(types.STUDENT_UPDATED),
    ("student.avatar_set", "student"): _student_event(types.STUDENT_UPDATED),
    ("student.avatar_clear", "student"): _student_event(types.STUDENT_UPDATED),
    ("student.archive", "student"): _student_event(types.STUDENT_ARCHIVED),
    ("student.unarchive", "student"): _student_event(types.STUDENT_UNARCHIVED),
    ("student.delete", "student"): _student_event(types.STUDENT_DELETED),
    ("student.erase", "student"): _erased_event,
    ("attempts.grant", "student"): _attempts_event(types.ATTEMPTS_GRANTED),
    ("attempts.revoke", "student"): _attempts_event(types.ATTEMPTS_REVOKED),
    ("student_group.members_add", "student"): _membership_event(types.GROUP_MEMBERS_ADDED),
    ("student_group.members_remove", "student"): _membership_event(types.GROUP_MEMBERS_REMOVED),
}


def events_from_audit(*, action, target_type, actor, items: Iterable[tuple[Any, dict, dict]], copy=False):
    """The events of audited changes: `items` are (target_id, changes, detail) as the audit
    trail stored them, `actor` its (actor_id, actor_email, via). Nothing for an action that is
    not an event of interest. One INSERT (or COPY, for an import's many) for all of them."""
    build = AUDITED.get((action, target_type))
    if build is None:
        return 0
    actor_id, email, via = actor
    by_type: dict[tuple[str, str], list] = {}
    for target_id, changes, detail in items:
        made = build(target_id, changes or {}, detail or {})
        if made is not None:
            type, subject_type, subject_id, student_id, data = made
            by_type.setdefault((type, subject_type), []).append((subject_id, student_id, data))
    record = events_record_copy if copy else events_record_many
    who = {"id": actor_id, "email": email, "via": via}
    return sum(
        record(type=type, subject_type=subject_type, items=rows, actor=who)
        for (type, subject_type), rows in by_type.items()
    )


# Erasure --------------------------------------------------------------------------------

ERASED = "[erased]"  # in place of a value erased with a student's personal data


def erased_values(data, fields):
    """`data` (an event's `{field: [before, after]}` or its values) with every value of `fields`
    that is not null replaced by ERASED (each of a before/after pair)."""
    if not isinstance(data, dict):
        return data
    erased = {}
    for name, value in data.items():
        if name not in fields or value is None:
            erased[name] = value
        elif isinstance(value, list):
            erased[name] = [None if item is None else ERASED for item in value]
        else:
            erased[name] = ERASED
    return erased


def events_erase_values(*, student_id, fields):
    """The values of `fields` in the events about the student replaced by ERASED (a student's
    erasure). Webhooks delivered before keep what they carried. Returns how many events changed."""
    rewritten = []
    for pk, data in Event.objects.filter(student_id=student_id).values_list("id", "data"):
        new = erased_values(data, fields)
        if new != data:
            rewritten.append((pk, _json(new)))
    if rewritten:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_TABLE} AS e SET data = v.data::jsonb FROM unnest(%s::text[], %s::text[]) AS v(id, data) "
                "WHERE e.id = v.id",
                [list(column) for column in zip(*rewritten, strict=True)],
            )
    return len(rewritten)


# Retention ------------------------------------------------------------------------------


def events_prune(*, days=None, now=None):
    """Delete the events older than `days` (EVENTS_RETENTION_DAYS): every position up to the
    first event kept, so what stays is every position after `pruned_through`, which the counter
    row records for the feed (a cursor below it is answered 410). Returns how many went."""
    days = settings.EVENTS_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    with transaction.atomic():
        first_kept = (
            Event.objects.filter(position__isnull=False, occurred_at__gte=cutoff)
            .order_by("position")
            .values_list("position", flat=True)
            .first()
        )
        if first_kept is None:
            # Nothing recent: every event committed so far goes (numbered ones only; a
            # transaction committing meanwhile numbers its events after this).
            through = EventCounter.objects.filter(pk=1).values_list("last", flat=True).first() or 0
        else:
            through = first_kept - 1
        if through <= events_pruned_through():
            return 0
        deleted, _ = Event.objects.filter(position__lte=through).delete()
        table = EventCounter._meta.db_table
        with connection.cursor() as cursor:
            # The counter row is taken last and briefly: committing writers wait for it.
            cursor.execute(
                f"INSERT INTO {table} AS c (id, last, pruned_through) VALUES (1, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET pruned_through = greatest(c.pruned_through, excluded.pruned_through)",
                [through, through],
            )
        return deleted
