"""factory_boy factories with realistic (non-ASCII and hostile) names."""
import datetime as dt
import itertools

import factory
from django.utils import timezone

from accounts.models import Role, StaffUser
from attempts.models import AttemptGrant, GradeCriterion, GradeReport, Session, TranscriptMessage
from catalogue.models import CaseStudy, Programme
from config.ids import new_object_id
from students.models import Cohort, Enrolment, Student, StudentCluster, StudentGroup

FIRST_NAMES = ["Chidinma", "Zoë", "Abdulwahab", "Ngozi", "Søren", "Amara", "José", "Łukasz", "Aïcha", "Tunde"]
LAST_NAMES = ["Okafọr", "Brontë", "Umar", "Adébáyọ̀", "Kierkegård", "Nwosu", "García", "Wałęsa", "Diallo", "Bello"]
HOSTILE_NAME = '=HYPERLINK("http://evil.example","x")'

_seq = itertools.count(1)


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffUser
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@uni.example")
    full_name = factory.Sequence(lambda n: f"Staff Member {n}")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.roles.set(Role.objects.filter(name__in=extracted))
        if create:
            self.save()


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"PRG{n:04d}")
    name = factory.Sequence(lambda n: f"Programme {n}")
    is_active = True


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Class of {2020 + n}")


class StudentFactory(factory.django.DjangoModelFactory):
    """Student; pass programmes=[...] to enrol."""

    class Meta:
        model = Student
        skip_postgeneration_save = True

    first_name = factory.Iterator(FIRST_NAMES)
    last_name = factory.Iterator(LAST_NAMES)
    email = factory.Sequence(lambda n: f"student{n}@uni.example")
    status = Student.Status.ACTIVE

    @factory.post_generation
    def programmes(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        from students.maintained import student_refresh_programme_labels

        for programme in extracted:
            Enrolment.objects.create(student=self, programme=programme, enrolled_on=dt.date(2025, 9, 1))
        student_refresh_programme_labels(student_ids=[self.user_id])
        self.refresh_from_db()


class CaseStudyFactory(factory.django.DjangoModelFactory):
    """Case study; pass programmes=[...] to assign."""

    class Meta:
        model = CaseStudy
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Case study {n}: Market entry in Lagos")
    is_active = True
    max_attempts = 2
    grading_method = CaseStudy.GradingMethod.HIGHEST

    @factory.post_generation
    def programmes(self, create, extracted, **kwargs):
        if create and extracted:
            self.programmes.set(extracted)


class SessionFactory(factory.django.DjangoModelFactory):
    """A session; last_seen of its student is refreshed (as ingestion does)."""

    class Meta:
        model = Session
        skip_postgeneration_save = True

    session_id = factory.LazyFunction(new_object_id)
    student = factory.SubFactory(StudentFactory)
    case_study = factory.SubFactory(CaseStudyFactory)
    status = Session.Status.ENDED
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    ended_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(minutes=9) if o.status == "ended" else None)
    last_activity_at = factory.LazyAttribute(lambda o: o.ended_at or o.started_at)
    score = None
    transcript_status = Session.TranscriptStatus.AVAILABLE
    grading_status = Session.GradingStatus.PENDING

    @factory.post_generation
    def refresh_last_seen(self, create, extracted, **kwargs):
        if create:
            from attempts.maintained import students_refresh_last_seen

            students_refresh_last_seen(student_ids=[self.student_id])


class TranscriptMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TranscriptMessage

    session = factory.SubFactory(SessionFactory)
    position = factory.Sequence(lambda n: n)
    role = TranscriptMessage.Role.STUDENT
    content = "I would start by looking at the fuel price elasticity."
    timestamp = factory.LazyFunction(timezone.now)


class GradeReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GradeReport

    session = factory.SubFactory(SessionFactory)
    max_score = 100
    feedback = "Clear structure; quantify the second-order effects."
    graded_at = factory.LazyFunction(timezone.now)


class GradeCriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GradeCriterion

    report = factory.SubFactory(GradeReportFactory)
    position = factory.Sequence(lambda n: n)
    name = "Problem framing"
    score = 20
    max_score = 25
    feedback = "Good framing."


class AttemptGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttemptGrant

    student = factory.SubFactory(StudentFactory)
    case_study = factory.SubFactory(CaseStudyFactory)
    delta = 1
    reason = "Technical issue during the session"


class StudentClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudentCluster

    name = factory.Sequence(lambda n: f"Cluster {n}")


class StudentGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudentGroup

    name = factory.Sequence(lambda n: f"2nd year associates {n}")
    cluster = factory.SubFactory(StudentClusterFactory)
