"""Reading the audit trail: newest first, narrowed by who, what and when."""
from accounts.models import AuditEvent


def audit_event_list(*, actor=None, action=None, target_type=None, target_id=None, since=None, until=None):
    """Events newest first (ties: the later-written first). `actor` is a staff user's id or
    email; `action` a whole action (student.update) or its family (student); `since` and
    `until` bound occurred_at (both included). Each filter has an index to walk."""
    events = AuditEvent.objects.all()
    if actor:
        by_id = actor.isdigit() and len(actor) <= 18  # a bigint; longer digit strings match no id
        events = events.filter(actor_id=int(actor)) if by_id else events.filter(actor_email=actor.lower())
    if action:
        events = events.filter(action__startswith=f"{action}.") if "." not in action else events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if since:
        events = events.filter(occurred_at__gte=since)
    if until:
        events = events.filter(occurred_at__lte=until)
    return events.order_by("-occurred_at", "-id")
