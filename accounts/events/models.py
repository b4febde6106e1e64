from django.db import models
from django.utils import timezone

from config.ids import new_object_id


class Event(models.Model):
    """One change of interest, written in the transaction of the change (accounts.events.services).

    `position` is null until the transaction commits; then a trigger (migration 0006) numbers
    the transaction's events after every event committed before, in commit order and without
    gaps, so a reader following positions never skips an event of a transaction that started
    earlier but committed later. Readers only ever see committed (numbered) events."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id)  # also the webhook-id
    position = models.BigIntegerField(null=True, blank=True, unique=True)
    type = models.CharField(max_length=64)  # accounts.events.types, e.g. student.updated
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.JSONField(default=dict)  # {"id", "email", "via"}, as the audit trail names them
    subject_type = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=64)
    # The student the event concerns: events of one student are delivered in order.
    student_id = models.CharField(max_length=24, null=True, blank=True)  # noqa: DJ001 - NULL: about no one student
    data = models.JSONField(default=dict)  # changed fields {field: [before, after]} or the relevant values

    class Meta:
        indexes = [
            # The commit-time numbering finds its transaction's events by this (they are the
            # only unnumbered rows it can see).
            models.Index(fields=["id"], condition=models.Q(position__isnull=True), name="event_unnumbered"),
        ]

    def __str__(self):
        return f"{self.position or '-'} {self.type} {self.subject_type}:{self.subject_id}"


class EventCounter(models.Model):
    """The tenant's one counter row (id 1): the last position given and the highest position
    pruned. A committing transaction that wrote events holds this row's lock from numbering its
    events to its commit, which is what puts positions in commit order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last = models.BigIntegerField(default=0)
    pruned_through = models.BigIntegerField(default=0)

    def __str__(self):
        return f"last {self.last}, pruned through {self.pruned_through}"
