"""The audit trail: every staff write, export and transcript read, recorded in the tenant's
schema in the same transaction as what it records.

A service calls `audit_record` with the action, the target and the fields it changed (a
`audit_snapshot` before and after); who did it comes from the request being served
(accounts.audit.middleware keeps it): the signed-in user or the Bearer token's user, the
client address and the request id. Outside a request (a management command) the actor is
"system". Events are never changed or deleted, but by `audit_events_prune` past the
retention period (AUDIT_RETENTION_DAYS).

The audited changes that are events of interest (a student created, archived …, attempts
granted, group members added) also become the change feed's events (accounts.events), here,
in the same transaction and from the same snapshots.
"""
import contextvars
import datetime as dt
import decimal
import json
import uuid

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from accounts.events.services import erased_values, events_erase_values, events_from_audit
from accounts.models import AuditEvent
from config.bulk_copy import copy_rows
from config.http import client_address
from config.observability import request_id_var

_request = contextvars.ContextVar("audit_request", default=None)

# Never recorded, whatever a snapshot is given.
SECRET_FIELDS = frozenset({"password", "key_hash", "token", "raw"})


def audit_request(request):
    """Context manager: `request` is the one being served (AuditRequestMiddleware)."""
    return _RequestScope(request)


class _RequestScope:
    def __init__(self, request):
        self.request = request

    def __enter__(self):
        self.token = _request.set(self.request)

    def __exit__(self, *exc):
        _request.reset(self.token)


_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


def _plain(value):
    """A value as JSON keeps it."""
    if type(value) in _AS_THEY_ARE:  # most values: settled before the checks below (an import's millions)
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def audit_snapshot(instance, fields):
    """{field: value} of a model instance for audit_record (a foreign key by its id)."""
    snapshot = {}
    for name in fields:
        if name in SECRET_FIELDS:
            continue
        snapshot[name] = _plain(getattr(instance, instance._meta.get_field(name).attname))
    return snapshot


def _changes(before, after):
    before, after = before or {}, after or {}
    changed = {}
    for name in [*before, *(k for k in after if k not in before)]:
        if name in SECRET_FIELDS:
            continue
        old, new = before.get(name), after.get(name)
        # _plain's own first test, here: an import's hundreds of thousands of values
        old = old if type(old) in _AS_THEY_ARE else _plain(old)
        new = new if type(new) in _AS_THEY_ARE else _plain(new)
        if old != new:
            changed[name] = [old, new]
    return changed


def audit_actor():
    """(actor_id, actor_email, via, ip, request_id) of the request being served."""
    return _actor()


def _actor():
    """(actor_id, actor_email, via, ip, request_id) of the request being served."""
    request = _request.get()
    if request is None:
        return None, "", "system", None, request_id_var.get() or ""
    if getattr(request, "scim_token", None) is not None:  # an identity provider's SCIM client
        request_id = getattr(request, "id", "") or request_id_var.get() or ""
        return None, "", "scim", client_address(request) or None, request_id
    user = getattr(request, "user", None)
    signed_in = getattr(user, "is_authenticated", False)
    via = "token" if getattr(request, "auth", None) is not None else "session"
    return (
        user.pk if signed_in else None,
        user.email if signed_in else "",
        via if signed_in else "anon",
        client_address(request) or None,
        getattr(request, "id", "") or request_id_var.get() or "",
    )


def _event(who, *, action, target_type, target_id, changes=None, detail=None):
    actor_id, actor_email, via, ip, request_id = who
    return AuditEvent(
        actor_id=actor_id,
        actor_email=actor_email,
        via=via,
        ip=ip,
        request_id=request_id[:64],
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:64],
        changes=changes or {},
        detail=_plain(detail or {}),
    )


def audit_record(*, action, target_type, target_id, before=None, after=None, detail=None):
    """Append one event (in the caller's transaction, so it is kept only if the change is).
    `before`/`after`: snapshots of the target; only the fields that differ are stored."""
    event = _event(
        _actor(), action=action, target_type=target_type, target_id=target_id,
        changes=_changes(before, after), detail=detail,
    )
    event.save(force_insert=True)
    _events_of([event])
    return event


def _events_of(audited):
    """The change feed's events of these audit events (accounts.events), in the same transaction."""
    if audited:
        first = audited[0]
        events_from_audit(
            action=first.action, target_type=first.target_type, actor=(first.actor_id, first.actor_email, first.via),
            items=[(e.target_id, e.changes, e.detail) for e in audited],
        )


def audit_events_prune(*, days=None, now=None):
    """Delete the events older than `days` (AUDIT_RETENTION_DAYS). Returns how many went."""
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL audit.prune = 'on'")
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE occurred_at < %s", [cutoff])
        return cursor.rowcount


def audit_events_erase_values(*, target_type, target_id, fields, student_id):
    """Replace the recorded values of `fields` (in `changes` and `detail`) of the events about
    one record with accounts.events.services.ERASED, and the same in the change feed's events of
    `student_id`: a student's erasure, which must not leave their personal data in the trail.
    What was done, by whom and when stays. The one UPDATE the append-only trigger lets through
    (migration 0009), and only inside this transaction. Returns (audit events, feed events)
    changed. Queries: the events about the record (an index), one UPDATE, and the feed's."""
    fields = frozenset(fields)
    events = AuditEvent.objects.filter(target_type=target_type, target_id=str(target_id)).values_list("id", "changes", "detail")
    rewritten = []
    for pk, changes, detail in events:
        new_changes, new_detail = erased_values(changes, fields), erased_values(detail, fields)
        if (new_changes, new_detail) != (changes, detail):
            rewritten.append((pk, json.dumps(new_changes), json.dumps(new_detail)))
    if rewritten:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL audit.erase = 'on'")
            cursor.execute(
                f"UPDATE {AuditEvent._meta.db_table} AS a SET changes = v.changes::jsonb, detail = v.detail::jsonb "
                "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, changes, detail) WHERE a.id = v.id",
                [list(column) for column in zip(*rewritten, strict=True)],
            )
            cursor.execute("SET LOCAL audit.erase = 'off'")
    return len(rewritten), events_erase_values(student_id=student_id, fields=fields)


def audit_record_many(*, action, target_type, targets):
    """One event per (target_id, detail) or (target_id, detail, before, after) of `targets`,
    in one INSERT (a bulk action); `before`/`after` as for audit_record."""
    who = _actor()
    events = AuditEvent.objects.bulk_create(
        [
            _event(who, action=action, target_type=target_type, target_id=t, detail=d,
                   changes=_changes(*snapshots) if snapshots else None)
            for t, d, *snapshots in targets
        ]
    )
    _events_of(events)
    return events


_COPY_COLUMNS = (
    "occurred_at", "actor_id", "actor_email", "via", "ip", "request_id", "action", "target_type", "target_id",
    "changes", "detail",
)


def audit_record_changes_many(*, action, target_type, items):
    """One event per (target_id, before, after, detail) of `items`, as audit_record would
    write each, in one COPY (an import of tens of thousands of records: several times faster
    than INSERTs). In the caller's transaction, like every event."""
    actor_id, actor_email, via, ip, request_id = _actor()
    now = timezone.now()
    audited = [
        (str(target_id)[:64], _changes(before, after), _plain(detail or {})) for target_id, before, after, detail in items
    ]
    copy_rows(AuditEvent, _COPY_COLUMNS, (
        (
            now, actor_id, actor_email, via, ip, request_id[:64], action, target_type, target_id,
            json.dumps(changes), json.dumps(detail),
        )
        for target_id, changes, detail in audited
    ))
    # The change feed's events of the same changes (accounts.events), by COPY too.
    events_from_audit(action=action, target_type=target_type, actor=(actor_id, actor_email, via), items=audited, copy=True)
