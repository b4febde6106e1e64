"""The Cohorts page: list with student counts; add, rename, delete-when-empty for record editors,
through the cohort services (audited), refusals beside the cohort."""
import pytest
from django.utils.html import escape

from accounts.models import AuditEvent
from console.cohorts import views
from console.cohorts.forms import MSG_COHORT_NAME_REQUIRED
from students.cohorts.services import MSG_COHORT_NAME_TAKEN
from students.models import Cohort
from testing.factories import CohortFactory, StudentFactory


def test_lists_cohorts_with_their_students_for_viewers_without_forms(console_as, viewer_user):
    cohort = CohortFactory(name="Class of 2027")
    StudentFactory.create_batch(2, cohort=cohort)
    html = console_as(viewer_user).get("/cohorts/").content.decode()
    assert f'?cohort={cohort.pk}">Class of 2027</a>' in html and '<td class="num" data-label="Students">2</td>' in html
    assert "Add cohort" not in html and "Rename" not in html


def test_add_rename_and_delete_a_cohort_each_audited(console_as, admin_user):
    client = console_as(admin_user)
    response = client.post("/cohorts/", {"action": "create", "name": "Class of 2028"}, follow=True)
    assert "Added the cohort “Class of 2028”." in response.content.decode()
    cohort = Cohort.objects.get(name="Class of 2028")
    response = client.post("/cohorts/", {"action": "rename", "cohort": cohort.pk, "name": "Class of 2029"}, follow=True)
    assert "Renamed the cohort to “Class of 2029”." in response.content.decode()
    response = client.post("/cohorts/", {"action": "delete", "cohort": cohort.pk}, follow=True)
    assert "Deleted the cohort “Class of 2029”." in response.content.decode()
    assert not Cohort.objects.exists()
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["cohort.create", "cohort.update", "cohort.delete"]


def test_a_cohort_with_students_is_not_deleted_and_the_page_says_why(console_as, admin_user):
    cohort = CohortFactory(name="Class of 2027")
    StudentFactory(cohort=cohort)
    response = console_as(admin_user).post("/cohorts/", {"action": "delete", "cohort": cohort.pk})
    assert response.status_code == 409
    html = response.content.decode()
    assert "“Class of 2027” still has 1 student" in html and f'id="cohort-{cohort.pk}-err"' in html
    assert Cohort.objects.filter(pk=cohort.pk).exists()


def test_delete_is_offered_only_for_a_cohort_no_record_names(console_as, admin_user):
    used, archived_only, empty = (CohortFactory(name=n) for n in ("Used", "Archived only", "Empty"))
    StudentFactory(cohort=used)
    StudentFactory(cohort=archived_only, archived=True)
    html = console_as(admin_user).get("/cohorts/").content.decode()
    assert f'href="?delete={empty.pk}"' in html
    assert f'href="?delete={used.pk}"' not in html and f'href="?delete={archived_only.pk}"' not in html
    assert html.count("Delete once no record names it") == 2


def test_delete_confirms_first_naming_the_cohort_and_a_get_changes_nothing(console_as, admin_user, viewer_user):
    cohort = CohortFactory(name="Class of 2029")
    client = console_as(admin_user)
    response = client.get("/cohorts/", {"delete": cohort.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert views.MSG_CONFIRM_COHORT_DELETE.format(name="Class of 2029") in html
    assert all(escape(line) in html for line in views.COHORT_DELETE_CONSEQUENCES)
    assert '<input type="hidden" name="action" value="delete">' in html
    assert f'<input type="hidden" name="cohort" value="{cohort.pk}">' in html and 'action="/cohorts/"' in html
    assert Cohort.objects.filter(pk=cohort.pk).exists() and not AuditEvent.objects.exists()
    # Unknown or hostile ids: the page says so; others may not ask.
    assert client.get("/cohorts/", {"delete": "abcdef0123456789abcdef01"}).status_code == 404
    assert client.get("/cohorts/", {"delete": "'\"<>"}).status_code == 404
    assert console_as(viewer_user).get("/cohorts/", {"delete": cohort.pk}).status_code == 403
    # The confirmation's POST deletes, then leads back to the page.
    response = client.post("/cohorts/", {"action": "delete", "cohort": cohort.pk})
    assert response.status_code == 302 and response["Location"] == "/cohorts/"
    assert not Cohort.objects.filter(pk=cohort.pk).exists()


def test_a_taken_or_empty_name_is_said_beside_the_field_and_kept(console_as, admin_user):
    CohortFactory(name="Class of 2027")
    other = CohortFactory(name="Class of 2030")
    client = console_as(admin_user)
    response = client.post("/cohorts/", {"action": "create", "name": "Class of 2027"})
    assert response.status_code == 409 and MSG_COHORT_NAME_TAKEN in response.content.decode()
    assert 'aria-describedby="cohort-new-err"' in response.content.decode()
    response = client.post("/cohorts/", {"action": "rename", "cohort": other.pk, "name": ""})
    assert response.status_code == 400 and MSG_COHORT_NAME_REQUIRED in response.content.decode()
    assert Cohort.objects.count() == 2 and not AuditEvent.objects.exists()


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_changes_are_refused_to_roles_that_cannot_edit(console_as, operator_user, viewer_user, role):
    cohort = CohortFactory()
    client = console_as(operator_user if role == "operator" else viewer_user)
    assert client.post("/cohorts/", {"action": "create", "name": "New"}).status_code == 403
    assert client.post("/cohorts/", {"action": "delete", "cohort": cohort.pk}).status_code == 403
    assert Cohort.objects.count() == 1 and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{"action": "create", "name": "a\x00b"}, {"action": "create", "name": "x" * 10_000},
     {"action": "rename", "cohort": "\x00", "name": "x"}, {"action": "delete", "cohort": "'\"<>"},
     {"action": "delete", "cohort": "abcdef0123456789abcdef01"}, {"action": "\x00", "name": ""}],
)
def test_hostile_values_are_refused_not_500(console_as, admin_user, data):
    response = console_as(admin_user).post("/cohorts/", data)
    assert response.status_code in (400, 404)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("cohorts", [1, 8])
def test_cohorts_page_query_count_does_not_grow_with_cohorts(console_as, admin_user, django_assert_num_queries, cohorts):
    for n in range(cohorts):
        StudentFactory(cohort=CohortFactory(name=f"Class of {2020 + n}"))
    client = console_as(admin_user)
    client.get("/cohorts/")  # warm the session
    # Session, staff user with roles (one statement); the cohorts with their student counts.
    with django_assert_num_queries(3):
        response = client.get("/cohorts/")
    assert len(response.context["rows"]) == cohorts
