"""What an applied import wrote: the run (when, by whom, its counts) and the students it created
or updated, so the console lists exactly them (students.listing's `imported` filter) by an
index, whatever the size of the audit trail."""
from django.conf import settings
from django.db import models

from config.ids import new_object_id


class StudentImport(models.Model):
    """One applied import. Its id is the subject of its `students.import_applied` event."""

    id = models.CharField(primary_key=True, max_length=64, default=new_object_id, editable=False)
    applied_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True)  # as the audit trail names them, kept if the account goes
    file_format = models.CharField(max_length=8)
    rows = models.IntegerField()
    created = models.IntegerField()
    updated = models.IntegerField()
    unchanged = models.IntegerField()

    def __str__(self):
        return f"import {self.pk} of {self.applied_at:%Y-%m-%d %H:%M}"

    @property
    def written(self):
        """The students it created or updated."""
        return self.created + self.updated


class ImportedStudent(models.Model):
    """A student an import created or updated (written by COPY, one per student)."""

    student_import = models.ForeignKey(StudentImport, on_delete=models.CASCADE, related_name="+", db_index=False)
    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="+")
    created = models.BooleanField()

    class Meta:
        # The import's students by one index range: the list's filter, a semi-join on it.
        constraints = [models.UniqueConstraint("student_import", "student", name="imported_student_unique")]

    def __str__(self):
        return f"{self.student_id} in import {self.student_import_id}"
