"""overall_case_studies is a maintained column (migration 0012): right after every kind of write
that changes it, and the console list sorts by it from its index."""
import pytest

from catalogue.case_studies.services import case_study_create, case_study_deactivate, case_study_update
from catalogue.models import CaseStudy
from students.listing.selectors import student_file_filterset, student_list_page
from students.models import Student
from students.records.services import student_update
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory


def _from_scratch(student):
    """The SPEC §4 rule, computed from the enrolments and the catalogue."""
    return CaseStudy.objects.filter(is_active=True, programmes__enrolments__student=student).distinct().count()


def _assert_all_right():
    for student in Student.objects.all():
        stored = Student.objects.values_list("overall_case_studies", flat=True).get(pk=student.pk)
        assert stored == _from_scratch(student), student


@pytest.fixture
def world():
    mba, eco, law = (ProgrammeFactory(code=c) for c in ("MBA", "ECO", "LAW"))
    fuel = CaseStudyFactory(programmes=[mba, eco])
    audit = CaseStudyFactory(programmes=[eco])
    both = StudentFactory(programmes=[mba, eco])
    lawyer = StudentFactory(programmes=[law])
    return {"mba": mba, "eco": eco, "law": law, "fuel": fuel, "audit": audit, "both": both, "lawyer": lawyer}


def _count(student):
    return Student.objects.values_list("overall_case_studies", flat=True).get(pk=student.pk)


def test_students_get_their_count_when_enrolled(world):
    assert (_count(world["both"]), _count(world["lawyer"])) == (2, 0)  # fuel counted once
    _assert_all_right()


def test_enrolments_changed_through_the_records_service(world):
    student_update(user_id=world["lawyer"].pk, programme_codes=["ECO", "LAW"])
    assert _count(world["lawyer"]) == 2
    student_update(user_id=world["both"].pk, programme_codes=["MBA"])
    assert _count(world["both"]) == 1
    _assert_all_right()


def test_a_new_case_study_counts_for_its_programmes_students(world):
    case_study_create(title="Moot court", programme_codes=["LAW", "MBA"])
    assert (_count(world["both"]), _count(world["lawyer"])) == (3, 1)
    case_study_create(title="Draft", programme_codes=["LAW"], is_active=False)
    assert _count(world["lawyer"]) == 1
    _assert_all_right()


def test_deactivating_and_reactivating_a_case_study(world):
    case_study_deactivate(case_study_id=world["fuel"].pk)
    assert _count(world["both"]) == 1
    case_study_update(case_study_id=world["fuel"].pk, is_active=True)
    assert _count(world["both"]) == 2
    _assert_all_right()


def test_programmes_added_to_or_removed_from_a_case_study(world):
    case_study_update(case_study_id=world["audit"].pk, programme_codes=["LAW"])
    assert (_count(world["both"]), _count(world["lawyer"])) == (1, 1)
    world["fuel"].programmes.add(world["law"])
    assert _count(world["lawyer"]) == 2
    world["fuel"].programmes.clear()
    assert (_count(world["both"]), _count(world["lawyer"])) == (0, 1)
    _assert_all_right()


def test_a_deleted_case_study_stops_counting(world):
    world["audit"].delete()
    assert _count(world["both"]) == 1
    _assert_all_right()


def test_the_console_sorts_by_it_both_ways_with_ties_on_user_id(world):
    extra = [StudentFactory(programmes=[world["eco"]]) for _ in range(2)]
    expected = sorted(Student.objects.all(), key=lambda s: (_count(s), s.pk))
    for order, wanted in (("asc", expected), ("desc", sorted(expected, key=lambda s: (-_count(s), s.pk)))):
        filterset = student_file_filterset({"sort_by": "case_studies", "sort_order": order})
        rows, total = student_list_page(filterset, skip=0, limit=10)
        assert [r.pk for r in rows] == [s.pk for s in wanted] and total == len(wanted) == 2 + len(extra)


def test_the_json_list_keeps_the_seeds_sort_keys(viewer_client):
    response = viewer_client.get("/v1/console/students", {"sort_by": "case_studies"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"sort_by": ["Choose one of: name, last_seen, programme, status."]}


def test_the_sort_walks_its_index(world):
    filterset = student_file_filterset({"sort_by": "case_studies", "sort_order": "desc"})
    from django.db import connection

    with connection.cursor() as cursor:
        # With a handful of rows any plan costs about the same: rule out the scans and sorts that
        # would win on a tiny table, so the plan shows whether an index gives this order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        plan = filterset.qs.order_by("-overall_case_studies", "user_id").values("pk")[:10].explain()
    assert "stu_cases_desc" in plan, plan
