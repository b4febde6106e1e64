"""Background export jobs: one row per export a staff member asked for, in the tenant's own
schema, so the job, its requester, its audit events and its file go with the tenant. The
table is the queue: workers claim rows with SELECT … FOR UPDATE SKIP LOCKED."""
from django.conf import settings
from django.db import models

from config.ids import new_object_id


def kind_choices():
    """The kinds of file of the list (console.list_files.kinds). Read when first asked for, not
    as models load: the registry imports the features' rows and writers."""
    from console.list_files import kinds

    return kinds.kind_choices()


class ExportJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        EXPIRED = "expired"

    # Columns holding the schema's name, renamed when a backup is restored as another tenant
    # (tenants.backups); the files are archived only when asked for.
    SCHEMA_COLUMNS = {"tenant_schema": "name", "file_name": "optional file"}

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id)
    tenant_schema = models.CharField(max_length=63)  # where it was queued: the worker checks it runs there
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=kind_choices)
    file_format = models.CharField(max_length=8)
    params = models.JSONField(default=dict)  # the filters, as the query string gives them: {name: [values]}
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True, default="")  # in the default storage, not public
    download_name = models.CharField(max_length=255, blank=True, default="")
    file_size = models.BigIntegerField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True, default="")  # the worker run holding it
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], name="exportjob_waiting", condition=models.Q(state__in=("queued", "running"))
            ),
            models.Index(fields=["expires_at"], name="exportjob_expiring", condition=models.Q(state="done")),
            models.Index(fields=["requested_by", "-created_at"], name="exportjob_owner"),
        ]

    def __str__(self):
        return f"{self.kind} {self.file_format} export {self.pk} ({self.state})"

    @property
    def progress(self):
        if self.state == self.State.DONE:
            return 1.0
        if not self.rows_total:
            return 0.0
        return min(1.0, self.rows_done / self.rows_total)
