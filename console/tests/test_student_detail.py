"""The student page: header, one card per attempted case study, grant and revoke forms, and
the grant history."""
import datetime as dt

import pytest

from attempts.grants.services import MSG_ATTEMPTS_RANGE
from attempts.models import AttemptGrant
from console.attempts.forms import MSG_FORM_ATTEMPTS_NOT_A_NUMBER, MSG_FORM_REASON_REQUIRED
from console.pages import MSG_FIX_ERRORS
from testing.factories import (
    AttemptGrantFactory,
    CaseStudyFactory,
    CohortFactory,
    ProgrammeFactory,
    SessionFactory,
    StaffUserFactory,
    StudentFactory,
)

T0 = dt.datetime(2025, 4, 3, 15, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def seed():
    """The seed's example: one case study, a missing-transcript attempt and a graded one."""
    mba = ProgrammeFactory(code="MBA1234", name="Masters in Business Administration")
    student = StudentFactory(
        first_name="Abdulwahab", last_name="Umar", email="abdulwahabumar@miva.university", programmes=[mba],
        cohort=CohortFactory(name="Class of 2026"), student_number="MIVA/2024/0042",
    )
    fuel = CaseStudyFactory(title="Fuel Subsidy removal in Nigeria: Economic impact and social impact", programmes=[mba])
    CaseStudyFactory(programmes=[mba])  # assigned, not attempted
    first = SessionFactory(student=student, case_study=fuel, started_at=T0, transcript_status="missing",
                           grading_status="pending", session_id="6650d3e4f5a6b7c8d9e0f1a2")
    second = SessionFactory(student=student, case_study=fuel, started_at=T0, score=75.0, grading_status="complete",
                            session_id="6650d4e5f6a7b8c9d0e1f2a3")
    return {
        "student": student, "fuel": fuel, "first": first, "second": second, "url": f"/students/{student.pk}/",
        # Where the page's grant and revoke forms post (console.attempts.views).
        "change_url": f"/students/{student.pk}/attempts/",
    }


def test_header_shows_identity_programmes_cohort_last_seen_and_counts(console_as, viewer_user, seed):
    response = console_as(viewer_user).get(seed["url"])
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Abdulwahab Umar", "abdulwahabumar@miva.university", "MIVA/2024/0042", "MBA1234",
                 "Masters in Business Administration", "Class of 2026", "Active"):
        assert text in html
    assert response.context["student"].overall_case_studies == 2
    totals = response.context["totals"]
    assert (totals.case_studies_attempted, totals.total_sessions, totals.total_attempts) == (1, 2, 1)
    assert '<div class="stat-value">2</div><div class="stat-label">Case studies</div>' in html
    assert '<div class="stat-value">1</div><div class="stat-label">Attempts used</div>' in html


def test_card_shows_used_over_allowed_best_score_and_the_attempts_newest_first(console_as, operator_user, seed):
    response = console_as(operator_user).get(seed["url"])
    html = response.content.decode()
    [panel] = response.context["panels"]
    card = panel["card"]
    assert (card.attempts_used, card.attempts_allowed, card.best_score) == (1, 2, 75.0)
    assert 'title="1 of 2 attempts used">1/2</span>' in html
    # Newest first, each linking to its attempt page; the graded one counts for the final score.
    second, first = html.index("/attempts/6650d4e5f6a7b8c9d0e1f2a3/"), html.index("/attempts/6650d3e4f5a6b7c8d9e0f1a2/")
    assert second < first
    assert "✓ <span>Used</span>" in html
    assert "Transcript missing" in html and "Grading pending" in html and "not counted" in html
    assert "3 Apr 2025, 16:00" in html  # started, in Lagos time
    assert "9 min" in html


def test_viewer_sees_no_grant_forms_and_no_attempt_links(console_as, viewer_user, seed):
    html = console_as(viewer_user).get(seed["url"]).content.decode()
    assert "Grant or revoke attempts" not in html
    assert "/attempts/" not in html
    assert "Attempt 2" in html


def test_grant_with_a_reason_adds_a_ledger_row_and_flashes_the_new_allowance(console_as, operator_user, seed):
    client = console_as(operator_user)
    response = client.post(
        seed["change_url"], {"action": "grant", "case_study": seed["fuel"].pk, "attempts": "2", "reason": "Dropped connection"},
        follow=True,
    )
    assert response.redirect_chain == [(f"{seed['url']}#cs-{seed['fuel'].pk}", 302)]
    html = response.content.decode()
    assert "Granted 2 extra attempts on “Fuel Subsidy removal in Nigeria: Economic impact and social impact”. Allowed now: 4." in html
    grant = AttemptGrant.objects.get()
    assert (grant.delta, grant.reason, grant.actor, grant.student_id) == (2, "Dropped connection", operator_user, seed["student"].pk)
    # The history lists it with who and why.
    assert "Dropped connection" in html and "Obi Operator" in html and "+2" in html


def test_the_success_message_is_on_the_card_that_changed_and_announced(console_as, operator_user, seed):
    response = console_as(operator_user).post(
        seed["change_url"], {"action": "grant", "case_study": seed["fuel"].pk, "attempts": "1", "reason": "Dropped connection"},
        follow=True,
    )
    html = response.content.decode()
    card = html[html.index(f'id="cs-{seed["fuel"].pk}"'):]
    card = card[: card.index("</section>")]
    assert '<div class="card-feedback" role="status" aria-live="polite"><div class="flash flash-success">Granted 1 extra' in card
    assert html.count("Granted 1 extra attempt") == 1  # not repeated at the top of the page
    assert '<div class="flashes" id="messages" role="status" aria-live="polite"></div>' in html


def test_each_card_names_its_final_score_rule(console_as, viewer_user, seed):
    html = console_as(viewer_user).get(seed["url"]).content.decode()
    assert f"<span class=\"k\">Final score</span><span class=\"v\">{_rule(seed['fuel'])}</span>" in html


def _rule(case_study):
    return {"highest": "Highest attempt counts", "latest": "Latest attempt counts", "first": "First attempt counts",
            "average": "Average of the attempts counts"}[case_study.grading_method]


def test_revoke_takes_back_extra_attempts_and_flashes(console_as, operator_user, seed):
    AttemptGrantFactory(student=seed["student"], case_study=seed["fuel"], delta=2)
    response = console_as(operator_user).post(
        seed["change_url"], {"action": "revoke", "case_study": seed["fuel"].pk, "attempts": "1", "reason": "Granted twice"},
        follow=True,
    )
    assert "Revoked 1 extra attempt on" in response.content.decode()
    assert "Allowed now: 3." in response.content.decode()
    assert sorted(AttemptGrant.objects.values_list("delta", flat=True)) == [-1, 2]


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"action": "grant", "attempts": "1", "reason": ""}, "reason", MSG_FORM_REASON_REQUIRED),
        ({"action": "grant", "attempts": "1", "reason": "   "}, "reason", MSG_FORM_REASON_REQUIRED),
        # The form checks a whole number; the range is the grants service's rule, with its one
        # message (the API's too).
        ({"action": "grant", "attempts": "0", "reason": "x"}, "attempts", MSG_ATTEMPTS_RANGE),
        ({"action": "grant", "attempts": "11", "reason": "x"}, "attempts", MSG_ATTEMPTS_RANGE),
        ({"action": "revoke", "attempts": "11", "reason": "x"}, "attempts", MSG_ATTEMPTS_RANGE),
        ({"action": "grant", "attempts": "two", "reason": "x"}, "attempts", MSG_FORM_ATTEMPTS_NOT_A_NUMBER),
        ({"action": "grant", "attempts": "1", "reason": "x" * 501}, "reason",
         "Keep the reason to 500 characters or fewer (this one has 501)."),
        ({"action": "revoke", "attempts": "1", "reason": "Oops"}, "attempts",
         "Cannot revoke 1 extra attempt(s): this student has 0 extra attempt(s) on this case study."),
    ],
)
def test_bad_grant_or_revoke_shows_the_error_on_that_form_and_changes_nothing(console_as, operator_user, seed, data, field, message):
    response = console_as(operator_user).post(seed["change_url"], {**data, "case_study": seed["fuel"].pk})
    assert response.status_code == 400
    panel = response.context["panels"][0]
    form = panel[data["action"]]
    assert form.errors[field] == [message]
    html = response.content.decode()
    assert MSG_FIX_ERRORS in html
    # The error sits with its field, the field is marked invalid, and the form stays open.
    cs = seed["fuel"].pk
    assert f'id="{data["action"]}-{cs}-{field}-err"' in html
    assert f'aria-describedby="{data["action"]}-{cs}-{field}-err"' in html
    assert "<details class=\"adjust\" open>" in html
    assert AttemptGrant.objects.count() == 0


def test_grant_on_a_case_study_not_assigned_nor_attempted_is_refused(console_as, operator_user, seed):
    elsewhere = CaseStudyFactory(programmes=[ProgrammeFactory()])
    response = console_as(operator_user).post(
        seed["change_url"], {"action": "grant", "case_study": elsewhere.pk, "attempts": "1", "reason": "x"}
    )
    assert response.status_code == 400
    assert "This case study is not assigned" in response.content.decode()
    assert AttemptGrant.objects.count() == 0


def test_grant_and_revoke_are_refused_without_attempts_permission(console_as, viewer_user, seed):
    response = console_as(viewer_user).post(
        seed["change_url"], {"action": "grant", "case_study": seed["fuel"].pk, "attempts": "1", "reason": "x"}
    )
    assert response.status_code == 403
    assert AttemptGrant.objects.count() == 0


def test_the_grant_and_revoke_forms_post_to_the_students_attempts_address(console_as, operator_user, seed):
    html = console_as(operator_user).get(seed["url"]).content.decode()
    cs = seed["fuel"].pk
    assert html.count(f'<form method="post" action="{seed["change_url"]}#cs-{cs}" class="adjust-form"') == 2
    # The input's bounds are the grants service's.
    assert html.count(f'id="grant-{cs}-attempts" name="attempts" min="1" max="10"') == 1


def test_the_attempts_address_reloaded_is_the_students_page_and_the_page_takes_no_post(console_as, operator_user, seed):
    client = console_as(operator_user)
    grant = {"action": "grant", "case_study": seed["fuel"].pk, "attempts": "1", "reason": "x"}
    # A refused form is drawn at the attempts address; reloading it is not a blank 405.
    response = client.get(seed["change_url"])
    assert response.status_code == 302 and response["Location"] == seed["url"]
    assert client.post(seed["url"], grant).status_code == 405
    assert not AttemptGrant.objects.exists()


def test_a_grant_for_an_unknown_student_is_the_404_page(console_as, operator_user, seed):
    response = console_as(operator_user).post(
        "/students/ffffffffffffffffffffffff/attempts/",
        {"action": "grant", "case_study": seed["fuel"].pk, "attempts": "1", "reason": "x"},
    )
    assert response.status_code == 404
    assert "No student with this id exists here." in response.content.decode()
    assert not AttemptGrant.objects.exists()


def test_a_case_study_with_grants_but_no_attempts_gets_a_card_so_it_can_be_revoked(console_as, operator_user, seed):
    untouched = CaseStudyFactory(title="Market entry in Lagos", programmes=list(seed["student"].programmes.all()))
    AttemptGrantFactory(student=seed["student"], case_study=untouched, delta=1, actor=operator_user)
    response = console_as(operator_user).get(seed["url"])
    cards = [p["card"] for p in response.context["panels"]]
    assert [c.case_study.title for c in cards][-1] == "Market entry in Lagos"
    assert (cards[-1].attempts_used, cards[-1].attempts_allowed) == (0, 3)


def test_archived_student_cannot_be_granted_from_the_page(console_as, operator_user, seed):
    student = seed["student"]
    student.archived = True
    student.save(update_fields=["archived"])
    html = console_as(operator_user).get(seed["url"]).content.decode()
    assert "Archived students cannot be granted attempts" in html
    assert f'id="grant-{seed["fuel"].pk}-reason"' not in html
    assert f'id="revoke-{seed["fuel"].pk}-reason"' in html


def test_unknown_student_is_a_404_page(console_as, viewer_user):
    response = console_as(viewer_user).get("/students/6650a1b2c3d4e5f6a7b8c9d0/")
    assert response.status_code == 404
    assert "No student with this id exists here." in response.content.decode()


def test_grant_history_is_newest_first_with_actor_and_reason(console_as, operator_user, seed):
    admin = StaffUserFactory(full_name="Ada Admin", roles=["admin"])
    AttemptGrantFactory(student=seed["student"], case_study=seed["fuel"], delta=2, reason="First", actor=admin)
    AttemptGrantFactory(student=seed["student"], case_study=seed["fuel"], delta=-1, reason="Second", actor=None,
                        actor_email="gone@uni.example")
    response = console_as(operator_user).get(seed["url"])
    assert [g.reason for g in response.context["history"]] == ["Second", "First"]
    html = response.content.decode()
    assert "gone@uni.example" in html and "Ada Admin" in html and "\u22121" in html


@pytest.mark.parametrize("sessions", [1, 8])
def test_detail_query_count_does_not_grow_with_sessions_or_grants(console_as, operator_user, django_assert_num_queries, sessions):
    mba = ProgrammeFactory()
    student = StudentFactory(programmes=[mba])
    for i in range(sessions):
        case_study = CaseStudyFactory(programmes=[mba])
        SessionFactory(student=student, case_study=case_study, started_at=T0 + dt.timedelta(hours=i))
        AttemptGrantFactory(student=student, case_study=case_study, actor=operator_user)
    client = console_as(operator_user)
    client.get("/students/")
    # Session, staff user with roles (one statement); student with its programmes, sessions (and from them the
    # totals), their case studies with extra attempts and programmes, grant history with actors
    # and case studies.
    with django_assert_num_queries(6):
        response = client.get(f"/students/{student.pk}/")
    assert len(response.context["panels"]) == sessions
