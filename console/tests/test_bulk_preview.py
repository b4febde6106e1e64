"""The students list's bulk actions show their scope and consequence before they run: the
case-study chooser offers the case studies of the matching students' programmes, the first post
previews (who changes, who is refused and why) and changes nothing, only the confirm runs it,
all or nothing, and refusals are worded for the scope they came from."""
import re

import pytest

from accounts.models import AuditEvent
from attempts.grants.services import REASON_NOT_ASSIGNED, REASON_STUDENT_ARCHIVED
from attempts.models import AttemptGrant
from console.bulk import views
from console.bulk.forms import MSG_NO_STUDENTS
from console.pages import MSG_FIX_ERRORS
from students.models import Student
from testing.factories import CaseStudyFactory, ProgrammeFactory, StudentFactory

REASON = "Platform outage on 3 June"


@pytest.fixture
def school():
    """MBA students, two of them also in the EMBA; an LLM student outside both."""
    mba = ProgrammeFactory(code="MBA", name="Master of Business Administration")
    emba = ProgrammeFactory(code="EMBA", name="Executive MBA")
    llm = ProgrammeFactory(code="LLM", name="Master of Laws")
    strategy = CaseStudyFactory(title="Fuel Subsidy removal in Nigeria", programmes=[mba])
    leadership = CaseStudyFactory(title="Leading a turnaround", programmes=[emba])
    law = CaseStudyFactory(title="Contract disputes", programmes=[llm])
    CaseStudyFactory(title="Retired EMBA case", programmes=[emba], is_active=False)
    both = [StudentFactory(first_name=n, last_name="Okafọr", programmes=[mba, emba]) for n in ("Ada", "Bisi")]
    only_mba = [StudentFactory(first_name=n, last_name="Brontë", programmes=[mba]) for n in ("Zoë", "Anne", "Emily")]
    StudentFactory(first_name="Lex", last_name="Adeyemi", programmes=[llm])
    return {"mba": mba, "emba": emba, "strategy": strategy, "leadership": leadership, "law": law,
            "both": both, "only_mba": only_mba}


def _grant(case_study, **more):
    return {"case_study": case_study.pk, "attempts": "1", "reason": REASON, **more}


def _writes():
    return AttemptGrant.objects.count(), AuditEvent.objects.count()


def _confirm_fields(preview):
    """The fields the preview's confirm button posts."""
    confirm: dict[str, list] = {}
    for name, value in preview.context["confirm_fields"]:
        confirm.setdefault(name, []).append(value)
    return confirm


def _options(response):
    return [(programme.code, [title for _, title in choices]) for programme, choices in response.context["case_study_options"]]


def test_the_case_study_chooser_offers_the_case_studies_of_the_matching_students_programmes(
    console_as, operator_user, school
):
    client = console_as(operator_user)
    response = client.get("/students/", {"programme": "MBA"})
    # The MBA's students are in the MBA and (two of them) the EMBA: the LLM's case study is not
    # offered, nor an inactive one.
    assert _options(response) == [("EMBA", ["Leading a turnaround"]), ("MBA", ["Fuel Subsidy removal in Nigeria"])]
    html = response.content.decode()
    assert '<optgroup label="Executive MBA (EMBA)" data-programme="EMBA">' in html
    assert "Contract disputes" not in html and "Retired EMBA case" not in html
    # Each row carries its programmes, so the chooser can narrow to the ticked students'.
    assert f'id="sel-{school["both"][0].pk}" data-programmes="EMBA MBA "' in html
    assert f'id="sel-{school["only_mba"][0].pk}" data-programmes="MBA "' in html
    # Any filter narrows them, not only the programme: a search for the LLM student.
    assert _options(client.get("/students/", {"search": "Adeyemi"})) == [("LLM", ["Contract disputes"])]
    assert [code for code, _ in _options(client.get("/students/"))] == ["EMBA", "LLM", "MBA"]


def test_a_case_study_outside_the_offered_ones_is_still_refused_by_the_service(console_as, operator_user, school):
    # Without JavaScript (or with a tampered post) the server refuses cleanly: nobody can take it.
    data = _grant(school["law"], scope="matching")
    response = console_as(operator_user).post("/students/?programme=MBA", data)
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["user_ids"][0].endswith(REASON_NOT_ASSIGNED)
    assert _writes() == (0, 0)


def test_the_preview_says_who_changes_and_who_is_refused_and_writes_nothing(console_as, operator_user, school):
    before = _writes()
    response = console_as(operator_user).post("/students/?programme=MBA", _grant(school["leadership"], scope="matching"))
    assert response.status_code == 200
    assert _writes() == before == (0, 0)
    assert response.context["count"] == 2
    assert sorted(name for name, _ in response.context["refused"]) == ["Anne Brontë", "Emily Brontë", "Zoë Brontë"]
    assert {reason for _, reason in response.context["refused"]} == {REASON_NOT_ASSIGNED}
    html = response.content.decode()
    assert "<strong data-will-change>2</strong> students will change." in html
    assert "<strong data-refused>3</strong> cannot take it and are left out." in html
    assert "<li>Zoë Brontë: this case study is not assigned" in html
    assert "narrow the filters or choose another case study" in html and "Untick" not in html
    assert "Grant 1 attempt on “Leading a turnaround” to 2 students</button>" in html
    # The confirm carries the previewed students, no others.
    ids = [value for name, value in response.context["confirm_fields"] if name == "user_ids"]
    assert sorted(ids) == sorted(s.pk for s in school["both"])


def test_only_the_confirm_runs_it_on_the_previewed_students(console_as, operator_user, school, preview_then_confirm):
    client = console_as(operator_user)
    url = "/students/?programme=MBA"
    preview, response = preview_then_confirm(client, _grant(school["leadership"], scope="matching"), url=url)
    assert response.redirect_chain == [(url, 302)]
    assert "Granted 1 extra attempt on “Leading a turnaround” to 2 students." in response.content.decode()
    assert sorted(AttemptGrant.objects.values_list("student_id", flat=True)) == sorted(s.pk for s in school["both"])
    assert AuditEvent.objects.filter(action="attempts.grant").count() == 2


def test_a_confirm_reaches_the_previewed_students_not_those_matching_since(console_as, operator_user, school):
    client = console_as(operator_user)
    url = "/students/?programme=MBA"
    preview = client.post(url, _grant(school["strategy"], scope="matching"))
    assert preview.context["count"] == 5
    late = StudentFactory(first_name="Late", last_name="Comer", programmes=[school["mba"]])
    confirm = _confirm_fields(preview)
    assert client.post(url, confirm).status_code == 302
    granted = set(AttemptGrant.objects.values_list("student_id", flat=True))
    assert len(granted) == 5 and late.pk not in granted


def test_a_confirm_after_someone_changed_a_student_does_nothing_and_says_so(console_as, operator_user, school):
    client = console_as(operator_user)
    url = "/students/?programme=MBA"
    preview = client.post(url, _grant(school["strategy"], scope="matching"))
    confirm = _confirm_fields(preview)
    Student.objects.filter(pk=school["only_mba"][0].pk).update(archived=True)  # someone else, meanwhile
    response = client.post(url, confirm)
    assert response.status_code == 409
    assert _writes() == (0, 0)  # all or nothing
    html = response.content.decode()
    assert "Nothing was granted. Someone changed 1 of these students since the preview, so nothing was done" in html
    assert f"<li>Zoë Brontë: {REASON_STUDENT_ARCHIVED}</li>" in html
    # The fresh preview: the others, and a confirm naming them.
    assert response.context["count"] == 4
    assert "Grant 1 attempt on “Fuel Subsidy removal in Nigeria” to 4 students</button>" in html


def test_refused_for_all_matching_says_to_narrow_the_filters_not_to_untick(console_as, operator_user, school):
    response = console_as(operator_user).post("/students/?search=Brontë", _grant(school["leadership"], scope="matching"))
    assert response.status_code == 400
    html = response.content.decode()
    heading = views.MSG_REFUSED_MATCHING.format(nothing_done="Nothing was granted.", instead="choose another case study")
    assert heading in html and "Untick" not in html
    # No field is highlighted, so the page does not say to fix one; it says what is wrong.
    assert MSG_FIX_ERRORS not in html and 'aria-invalid="true"' not in html
    assert views.MSG_NONE_CAN.format(nothing_done="Nothing was granted.", count=3) in html
    assert _writes() == (0, 0)


def test_refused_for_all_ticked_says_to_untick_them(console_as, operator_user, school):
    ticked = [s.pk for s in school["only_mba"]]
    response = console_as(operator_user).post("/students/", _grant(school["leadership"], user_ids=ticked))
    assert response.status_code == 400
    html = response.content.decode()
    assert views.MSG_REFUSED_TICKED.format(nothing_done="Nothing was granted.") in html
    assert "narrow the filters" not in html and MSG_FIX_ERRORS not in html


def test_a_confirm_without_students_is_400_and_changes_nothing(console_as, operator_user, school):
    response = console_as(operator_user).post("/students/", _grant(school["strategy"], scope="matching", confirm="1"))
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["user_ids"] == [MSG_NO_STUDENTS]
    assert views.MSG_NOTHING_CHANGED.format(reason=MSG_NO_STUDENTS) in response.content.decode()
    assert _writes() == (0, 0)


def test_a_viewer_cannot_preview_or_confirm(console_as, viewer_user, school):
    ids = [s.pk for s in school["both"]]
    for extra in ({}, {"confirm": "1"}):
        response = console_as(viewer_user).post("/students/", _grant(school["strategy"], user_ids=ids, **extra))
        assert response.status_code == 403
    assert _writes() == (0, 0)


def test_a_confirm_after_every_student_changed_offers_nothing_to_confirm(console_as, operator_user, school):
    client = console_as(operator_user)
    ids = [s.pk for s in school["both"]]
    preview = client.post("/students/", _grant(school["strategy"], user_ids=ids))
    Student.objects.filter(pk__in=ids).update(archived=True)
    response = client.post("/students/", _confirm_fields(preview))
    assert response.status_code == 409
    assert response.context["count"] == 0 and response.context["confirm_label"] is None
    assert "Nothing would change, so there is nothing to confirm." in response.content.decode()
    assert _writes() == (0, 0)


def test_a_confirm_after_the_case_study_was_deleted_says_so_beside_the_chooser(console_as, operator_user, school):
    client = console_as(operator_user)
    ids = [s.pk for s in school["both"]]
    preview = client.post("/students/", _grant(school["strategy"], user_ids=ids))
    school["strategy"].delete()
    response = client.post("/students/", _confirm_fields(preview))
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["case_study"] == ["That case study no longer exists."]
    assert MSG_FIX_ERRORS in response.content.decode()
    assert _writes() == (0, 0)


def test_the_programme_probe_is_a_scalar_subquery_per_programme_not_a_set_of_students(school):
    """PostgreSQL may turn an EXISTS in the select list into a hashed set of every matching
    student's programmes, which grows with the students; a scalar subquery it cannot
    (console.bulk.selectors)."""
    from django.db import connection
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from console.bulk.selectors import programmes_with_students
    from students.listing.selectors import student_file_filterset

    students = student_file_filterset(QueryDict("programme=MBA")).qs
    with CaptureQueriesContext(connection) as queries:
        programmes = programmes_with_students(students)
    assert [p.code for p in programmes if p.has_students] == ["EMBA", "MBA"]
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert re.search(r'^SELECT .*, \(SELECT V0\."user_id" AS "pk" FROM .* LIMIT 1\) AS "first_student" FROM', sql)


@pytest.mark.parametrize("query", ["", "status=active", "status=inactive&sort_by=name", "programme=MBA", "status=active&search=Ok"])
def test_the_listed_programmes_read_the_same_compiled_or_not(school, query):
    """Without a narrowing filter the statement is compiled once per status (console.bulk.selectors);
    it reads what the queryset would, and a change of the students shows in the next read."""
    from django.http import QueryDict

    from console.bulk.selectors import listed_programmes_with_students, programmes_with_students
    from students.listing.selectors import student_file_filterset

    def read(programmes):
        return [(p.code, p.name, p.has_students, p.case_study_rows) for p in programmes]

    filterset = student_file_filterset(QueryDict(query))
    assert read(listed_programmes_with_students(filterset)) == read(programmes_with_students(filterset.qs))
    Student.objects.filter(pk__in=[s.pk for s in school["both"]]).update(status="inactive")
    filterset = student_file_filterset(QueryDict(query))
    assert read(listed_programmes_with_students(filterset)) == read(programmes_with_students(filterset.qs))
    emba = {p.code: p.has_students for p in listed_programmes_with_students(filterset)}["EMBA"]
    assert emba is ("inactive" in query or "status" not in query)


@pytest.mark.parametrize("extra", [0, 9])
def test_the_preview_costs_the_same_queries_whatever_the_students(
    console_as, operator_user, school, django_assert_num_queries, extra
):
    for _ in range(extra):
        StudentFactory(programmes=[school["mba"]])
    client = console_as(operator_user)
    client.get("/students/")  # warm the session
    # Session, staff user with roles (one statement); the case study is active, the matching ids;
    # the rehearsal's transaction (a savepoint here, as the test runs in one): the service on
    # everyone in its savepoint (case study, eligibility; rolled back, SET search_path,
    # released), then on those it did not refuse (savepoint; case study, eligibility, advisory
    # locks, ledger rows, sessions and grant sums of the cards, audit events, change-feed
    # events; released); rolled back, SET search_path, released; the refused students' names;
    # the case study's title for the confirm button.
    with django_assert_num_queries(26):
        response = client.post("/students/?programme=MBA", _grant(school["leadership"], scope="matching"))
    assert response.context["count"] == 2 and len(response.context["refused"]) == 3 + extra


def test_a_rehearsal_ends_even_when_a_service_refuses_ids_it_was_not_given():
    import dataclasses

    from config.errors import BulkRefused
    from console.bulk.actions import BULK_ACTIONS

    calls = []

    def stubborn(*, user_ids, **_):
        calls.append(list(user_ids))
        raise BulkRefused("Nothing.", {"someone-else": "no."}, {"someone-else": 0})

    action = dataclasses.replace(BULK_ACTIONS["unarchive"], service=stubborn)
    ids, answer, refused = action.rehearse({"user_ids": ["a", "b"]}, actor=None)
    assert (ids, answer, refused) == ([], None, {"a": "no.", "b": "no."})
    assert calls == [["a", "b"]]
