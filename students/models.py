import os

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import connection, models
from django.db.models import F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Collate, Concat, Lower

from catalogue.models import Programme
from config.ids import new_object_id

LISTED = Q(archived=False, deleted_at__isnull=True)
ARCHIVED = Q(archived=True, deleted_at__isnull=True)

# Names sort linguistically ("Aïcha" before "Amara", "Ọlájídé" among the O's), not by bytes:
# an ICU root collation created in each tenant schema by migration 0003.
NAME_COLLATION = "name_order"


def name_order(expression):
    return Collate(expression, NAME_COLLATION)


class Cohort(models.Model):
    """A year group."""

    id = models.CharField(primary_key=True, max_length=64, default=new_object_id, editable=False)
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


def avatar_upload_to(instance, filename):
    ext = os.path.splitext(filename)[1].lower() or ".img"
    return f"avatars/{connection.schema_name}/{instance.user_id}/{new_object_id()}{ext}"


class Student(models.Model):
    # The avatar's storage name holds the schema's name: renamed, and the file archived, by a
    # tenant backup and its restore under another name (tenants.backups).
    SCHEMA_COLUMNS = {"avatar": "file"}

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    class EnrollmentStatus(models.TextChoices):
        ENROLLED = "enrolled"
        WITHDRAWN = "withdrawn"
        GRADUATED = "graduated"

    user_id = models.CharField(primary_key=True, max_length=64, default=new_object_id)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    full_name = models.GeneratedField(
        expression=Concat("first_name", Value(" "), "last_name"),
        output_field=models.CharField(max_length=301),
        db_persist=True,
    )
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    enrollment_status = models.CharField(
        max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ENROLLED
    )
    archived = models.BooleanField(default=False)
    # Active case studies sharing a programme with the student (SPEC §4), maintained: by
    # students.maintained with programme_ids, and by triggers when a case study is activated,
    # deactivated or given other programmes (migration 0012). The list sorts by it.
    overall_case_studies = models.IntegerField(default=0, db_default=0, editable=False)
    withdrawn_on = models.DateField(null=True, blank=True)
    graduated_on = models.DateField(null=True, blank=True)
    student_number = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL: none, unique when given
    cohort = models.ForeignKey(Cohort, null=True, blank=True, on_delete=models.SET_NULL, related_name="students")
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="advisees"
    )
    avatar = models.FileField(upload_to=avatar_upload_to, blank=True, max_length=300)
    programmes = models.ManyToManyField(Programme, through="Enrolment", related_name="students", blank=True)
    # The student's data must be kept (a dispute, an investigation): erasure is refused while set.
    legal_hold = models.BooleanField(default=False, db_default=False)
    # When the student's personal data was erased (attempts.data_rights); the record stays,
    # under a pseudonym, so aggregates keep counting it.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Maintained columns (the list sorts and filters on them), written in the same
    # transaction as their source: see students.maintained and attempts.maintained.
    programme_label = models.TextField(default="", blank=True, editable=False)
    # The ids of the student's programmes, in code order: maintained with programme_label, so
    # a whole export counts overall_case_studies without a subquery per row.
    programme_ids = ArrayField(models.BigIntegerField(), default=list, db_default=[], blank=True, editable=False)
    last_seen = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=Q(deleted_at__isnull=True), name="student_email_ci_unique"
            ),
            models.UniqueConstraint(
                "student_number",
                condition=Q(deleted_at__isnull=True, student_number__isnull=False),
                name="student_number_unique",
            ),
        ]
        indexes = [
            # Console list: one index per (sort key, direction); ties break on user_id ascending.
            models.Index(F("last_seen").desc(nulls_last=True), "user_id", condition=LISTED, name="stu_seen_desc"),
            models.Index(F("last_seen").asc(nulls_last=True), "user_id", condition=LISTED, name="stu_seen_asc"),
            models.Index(name_order(Lower("full_name")).desc(), "user_id", condition=LISTED, name="stu_name_desc"),
            models.Index(name_order(Lower("full_name")), "user_id", condition=LISTED, name="stu_name_asc"),
            models.Index(name_order(Lower("programme_label")).desc(), "user_id", condition=LISTED, name="stu_prog_desc"),
            models.Index(name_order(Lower("programme_label")), "user_id", condition=LISTED, name="stu_prog_asc"),
            models.Index(F("status").desc(), "user_id", condition=LISTED, name="stu_status_desc"),
            models.Index("status", "user_id", condition=LISTED, name="stu_status_asc"),
            models.Index(F("overall_case_studies").desc(), "user_id", condition=LISTED, name="stu_cases_desc"),
            models.Index("overall_case_studies", "user_id", condition=LISTED, name="stu_cases_asc"),
            # Substring search (ILIKE '%term%') gets trigram indexes where the server has
            # pg_trgm: see migration 0002 (the embedded server does not ship it).
            # Sync clients.
            models.Index("updated_at", name="stu_updated"),
            # The students of a case study's programmes, when it changes (migration 0012).
            GinIndex("programme_ids", name="stu_programme_ids", fastupdate=False),
            # The console's archived students (a few among many): found without a scan.
            models.Index("user_id", condition=ARCHIVED, name="stu_archived"),
            models.Index("deleted_at", condition=Q(deleted_at__isnull=False), name="stu_deleted"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name} <{self.email}>"

    @property
    def student_name(self):
        return f"{self.first_name} {self.last_name}"


class ListedCount(models.Model):
    """How many listed students (not archived, not deleted) have each status. Triggers on the
    student table keep it exact in the same transaction as every write, whatever makes it
    (ORM, bulk insert, raw SQL; migration 0007), so the console list's total is a read of
    two rows instead of a count over every student."""

    status = models.CharField(max_length=16, primary_key=True)
    listed = models.BigIntegerField(default=0)

    class Meta:
        db_table = "students_listedcount"

    def __str__(self):
        return f"{self.status}: {self.listed}"

    @classmethod
    def total(cls, status=None):
        rows = cls.objects.filter(status=status) if status else cls.objects.all()
        return rows.aggregate(total=models.Sum("listed"))["total"] or 0

    @classmethod
    def total_expression(cls, status=None):
        """`total` as a scalar subquery, to read it in the same statement as a page's rows."""
        where, params = ("WHERE status = %s", [status]) if status else ("", [])
        return RawSQL(
            f"SELECT coalesce(sum(listed), 0) FROM {cls._meta.db_table} {where}", params, output_field=models.BigIntegerField()
        )


class Enrolment(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrolments")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="enrolments")
    enrolled_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("student", "programme", name="enrolment_unique")]
        indexes = [models.Index("programme", "student", name="enrol_prog_student")]

    def __str__(self):
        return f"{self.student_id} in programme {self.programme_id}"


class StudentCluster(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_object_id, editable=False)
    name = models.CharField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class StudentGroup(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_object_id, editable=False)
    name = models.CharField(max_length=254)
    cluster = models.ForeignKey(
        StudentCluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="groups"
    )
    members = models.ManyToManyField(Student, through="GroupMembership", related_name="student_groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class GroupMembership(models.Model):
    group = models.ForeignKey(StudentGroup, on_delete=models.CASCADE, related_name="memberships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="group_memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("group", "student", name="membership_unique")]
        indexes = [models.Index("student", "group", name="membership_student")]

    def __str__(self):
        return f"{self.student_id} in group {self.group_id}"


class ArchivedMembership(models.Model):
    """A group membership removed by archiving, remembered so unarchive can restore it."""

    group = models.ForeignKey(StudentGroup, on_delete=models.CASCADE, related_name="archived_memberships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="archived_memberships")
    archived_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("group", "student", name="archived_membership_unique")]

    def __str__(self):
        return f"{self.student_id} was in group {self.group_id}"


# Features' models, so Django finds them with the app's.
from students.imports.models import ImportedStudent, StudentImport  # noqa: E402, F401
