"""overall_case_studies stays exact when its writers race (students.maintained, migration 0013):
case studies added to one programme at once, and students enrolled in a programme while case
studies are added to it. Each thread has its own connection and really commits
(`committed_tenant`); a barrier releases them together."""

import pytest

from catalogue.case_studies.services import case_study_create
from catalogue.models import CaseStudy
from students.models import Student
from students.records.services import student_create, student_update
from testing.concurrency import race, raised
from testing.factories import ProgrammeFactory, StudentFactory

THREADS = 12


def _race(tenant, works):
    """The exceptions of `works` raced on their own connections (testing.concurrency)."""
    return raised(race(tenant, works))


def _wrong_counts():
    """[(student, stored, right)] for every student whose stored count is not the SPEC §4 one."""
    wrong = []
    for student in Student.objects.all():
        right = CaseStudy.objects.filter(is_active=True, programmes__enrolments__student=student).distinct().count()
        if student.overall_case_studies != right:
            wrong.append((student.pk, student.overall_case_studies, right))
    return wrong


@pytest.fixture
def programme(committed_tenant):
    return ProgrammeFactory(code="MBA1234")


def test_case_studies_added_to_one_programme_at_once_are_all_counted(committed_tenant, programme):
    StudentFactory.create_batch(30, programmes=[programme])
    works = [
        (lambda i=i: case_study_create(title=f"Case {i}", programme_codes=[programme.code])) for i in range(THREADS)
    ]
    assert _race(committed_tenant, works) == []
    assert set(Student.objects.values_list("overall_case_studies", flat=True)) == {THREADS}


def test_students_enrolled_while_case_studies_are_added_get_every_one(committed_tenant, programme):
    other = ProgrammeFactory(code="ACC2001")
    moving = StudentFactory.create_batch(THREADS // 2, programmes=[other])
    works = [
        (lambda i=i: case_study_create(title=f"Case {i}", programme_codes=[programme.code])) for i in range(THREADS // 2)
    ]
    works += [
        (lambda i=i: student_create(
            first_name="New", last_name=str(i), email=f"new{i}@uni.example", programme_codes=[programme.code]
        ))
        for i in range(THREADS // 2)
    ]
    works += [
        (lambda s=s: student_update(user_id=s.pk, programme_codes=[programme.code, other.code])) for s in moving
    ]
    assert _race(committed_tenant, works) == []
    assert _wrong_counts() == []
    assert Student.objects.filter(overall_case_studies=THREADS // 2).count() == THREADS
