from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from catalogue.models import CaseStudy
from config.ids import new_object_id


class Session(models.Model):
    """One attempt of one student at one case study."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        ENDED = "ended"
        ABANDONED = "abandoned"

    class TranscriptStatus(models.TextChoices):
        AVAILABLE = "available"
        PARTIAL = "partial"
        PROCESSING = "processing"
        MISSING = "missing"
        FAILED = "failed"

    class GradingStatus(models.TextChoices):
        PENDING = "pending"
        COMPLETE = "complete"
        FAILED = "failed"

    # A technical failure does not cost the student an attempt (SPEC §4).
    NON_CONSUMING_TRANSCRIPT = (TranscriptStatus.MISSING, TranscriptStatus.FAILED)

    session_id = models.CharField(primary_key=True, max_length=64, default=new_object_id)
    # Both foreign keys are covered by the composite indexes below, which lead with them.
    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="sessions", db_index=False)
    case_study = models.ForeignKey(CaseStudy, on_delete=models.PROTECT, related_name="sessions", db_index=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField()
    score = models.FloatField(null=True, blank=True)
    transcript_status = models.CharField(
        max_length=16, choices=TranscriptStatus.choices, default=TranscriptStatus.PROCESSING
    )
    grading_status = models.CharField(max_length=16, choices=GradingStatus.choices, default=GradingStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100), name="session_score_range"
            ),
        ]
        indexes = [
            models.Index("student", "case_study", "started_at", "session_id", name="sess_student_cs_start"),
            models.Index("case_study", "student", name="sess_cs_student"),
            models.Index("student", "last_activity_at", name="sess_student_activity"),
            models.Index("last_activity_at", name="sess_activity"),
        ]

    def __str__(self):
        return self.session_id

    @property
    def consumes_attempt(self):
        return self.transcript_status not in self.NON_CONSUMING_TRANSCRIPT


class TranscriptMessage(models.Model):
    class Role(models.TextChoices):
        STUDENT = "student"
        ASSISTANT = "assistant"
        SYSTEM = "system"

    # No separate index: the (session, position) unique constraint already leads with session.
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages", db_index=False)
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    timestamp = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [models.UniqueConstraint("session", "position", name="message_position_unique")]

    def __str__(self):
        return f"{self.session_id} #{self.position} ({self.role})"


class GradeReport(models.Model):
    session = models.OneToOneField(Session, on_delete=models.CASCADE, primary_key=True, related_name="grade_report")
    max_score = models.FloatField(default=100)
    feedback = models.TextField(blank=True, default="")
    graded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"grade of {self.session_id}"


class GradeCriterion(models.Model):
    # No separate index: the (report, position) unique constraint already leads with report.
    report = models.ForeignKey(GradeReport, on_delete=models.CASCADE, related_name="criteria", db_index=False)
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField()
    feedback = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["report", "position"]
        constraints = [models.UniqueConstraint("report", "position", name="criterion_position_unique")]

    def __str__(self):
        return f"{self.report_id} #{self.position} {self.name}"


class AttemptGrant(models.Model):
    """One grant (delta > 0) or revoke (delta < 0). Append-only: never updated or deleted."""

    id = models.CharField(primary_key=True, max_length=64, default=new_object_id, editable=False)
    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="attempt_grants")
    case_study = models.ForeignKey(CaseStudy, on_delete=models.PROTECT, related_name="attempt_grants")
    delta = models.SmallIntegerField()
    reason = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempt_grants"
    )
    actor_email = models.EmailField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(delta=0), name="grant_delta_nonzero")]
        indexes = [models.Index("student", "case_study", "created_at", name="grant_pair_created")]

    def __str__(self):
        return f"{self.delta:+d} {self.student_id}/{self.case_study_id}"


class CaseStudyStanding(models.Model):
    """A student's standing on one case study: what their sessions and the grant ledger add up
    to there, one row per (student, case study) with a session or a ledger sum other than 0.
    Kept by PostgreSQL itself, in the transaction of every write of sessions or ledger rows
    (triggers, migrations 0004 and 0005; attempts.standing), so readers of many students at once (the
    gradebook, the participants dashboard) read one row per pair instead of aggregating
    sessions. The SPEC §4 values are derived from it as from the sessions themselves: the
    final score per grading method from `graded_scores`, the extra attempts never below 0."""

    pk = models.CompositePrimaryKey("student_id", "case_study_id")
    student_id = models.CharField(max_length=64)
    case_study_id = models.CharField(max_length=64)
    sessions = models.IntegerField()
    attempts_used = models.IntegerField()  # sessions that consume an attempt
    completed = models.IntegerField()  # sessions whose grading is complete
    # The scores of the sessions graded with a score, oldest attempt first (started_at,
    # session_id); null when none.
    graded_scores = ArrayField(models.FloatField(), null=True)
    best_score = models.FloatField(null=True)
    joined_at = models.DateTimeField(null=True)  # the first session's start
    last_active_at = models.DateTimeField(null=True)
    extra_attempts = models.IntegerField()  # the ledger's sum as it is: readers floor it at 0
    # Whether the student is listed (not archived, not deleted), kept with the student (0007).
    listed = models.BooleanField(db_default=True)

    class Meta:
        db_table = "attempts_standing"
        # A student's pairs are found by the key; a case study's rows (the participants
        # dashboard) by this one, on the case study alone: deduplicated, a fraction of the
        # key's size, and never priced near the key for the gradebook's probe by student
        # (migration 0006).
        indexes = [models.Index(fields=["case_study_id"], name="standing_case_study")]

    def __str__(self):
        return f"{self.student_id}/{self.case_study_id}"


class ParticipantCount(models.Model):
    """How many listed students joined a case study (a session, none graded) and completed it
    (a graded session): the sums of its rows. Kept by PostgreSQL from the rows of
    attempts_standing (migration 0007): each statement that changes a case study's counts adds
    a row holding the change and the rows of that case study no other transaction holds,
    which it deletes; writers never wait for each other here."""

    case_study_id = models.CharField(max_length=64)
    joined = models.BigIntegerField()
    completed = models.BigIntegerField()

    class Meta:
        db_table = "attempts_participantcount"
        indexes = [models.Index(fields=["case_study_id"], name="participantcount_case_study")]

    def __str__(self):
        return f"{self.case_study_id}: {self.joined} joined, {self.completed} completed"
