"""Who may open which console page: signed-out people go to the sign-in page, signed-in staff
without the permission get the 403 page, and nothing of another tenant is reachable."""
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from console.auth.views import MSG_SIGNED_IN, MSG_SIGNED_OUT
from testing.clients import TenantAPIClient
from testing.factories import CaseStudyFactory, SessionFactory, StaffUserFactory, StudentFactory


@pytest.fixture
def world():
    student = StudentFactory(first_name="Zoë", last_name="Brontë")
    session = SessionFactory(student=student, case_study=CaseStudyFactory())
    return {"student": student, "session": session}


def _pages(world):
    return {
        "students": "/students/",
        "student": f"/students/{world['student'].pk}/",
        "attempt": f"/attempts/{world['session'].pk}/",
        "dashboard": "/dashboard/",
        "student-new": "/students/new/",
        "student-edit": f"/students/{world['student'].pk}/edit/",
        "cohorts": "/cohorts/",
    }


@pytest.mark.parametrize("page", ["students", "student", "attempt", "dashboard", "student-new", "student-edit", "cohorts"])
def test_signed_out_visitors_are_sent_to_sign_in_with_the_page_to_return_to(console_as, world, page):
    url = _pages(world)[page]
    response = console_as().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_root_sends_signed_out_visitors_to_sign_in_and_staff_to_the_students_list(console_as, viewer_user):
    assert console_as().get("/")["Location"] == "/login/"
    assert console_as(viewer_user).get("/")["Location"] == "/students/"


@pytest.mark.parametrize(
    "role, page, allowed",
    [
        ("viewer", "students", True),
        ("viewer", "student", True),
        ("viewer", "dashboard", True),
        ("viewer", "attempt", False),  # STUDENT_PERFORMANCE.can_view
        ("operator", "attempt", True),
        ("ingest", "students", False),
        ("ingest", "student", False),
        ("ingest", "dashboard", False),
        ("ingest", "attempt", False),
        ("viewer", "cohorts", True),
        ("ingest", "cohorts", False),
        ("admin", "student-new", True),
        ("admin", "student-edit", True),
        ("operator", "student-new", False),  # USER_MANAGEMENT.can_edit
        ("operator", "student-edit", False),
        ("viewer", "student-edit", False),
    ],
)
def test_each_page_needs_its_permission_and_shows_a_403_page_without_it(console_as, world, role, page, allowed):
    user = StaffUserFactory(roles=[role])
    response = console_as(user).get(_pages(world)[page])
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.templates[0].name == "console/403.html"
        assert "You don’t have access to this" in response.content.decode()
        assert ".can_" not in response.content.decode()  # words, not permission codes
        # The 403 page still has the navigation and a way to sign out.
        assert "Sign out" in response.content.decode()


def test_nav_shows_the_tenant_name_the_staff_member_and_only_permitted_menus(console_as, viewer_user, ingest_user):
    html = console_as(viewer_user).get("/students/").content.decode()
    assert "Test University" in html
    assert "Vera Viewer" in html
    assert 'href="/students/"' in html and 'href="/dashboard/"' in html
    html = console_as(ingest_user).get("/students/").content.decode()
    assert 'href="/dashboard/"' not in html


def test_sign_in_with_email_and_password_lands_on_the_students_list_with_a_flash(console_as, operator_user):
    client = console_as()
    page = client.get("/login/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<label for="id_username">Email</label>' in html and 'name="csrfmiddlewaretoken"' in html
    response = client.post(
        "/login/", {"username": "operator@uni.example", "password": "correct horse battery"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/students/"
    assert MSG_SIGNED_IN.format(name="Obi Operator") in response.content.decode()


def test_sign_in_returns_to_the_page_asked_for(console_as, operator_user, world):
    url = f"/students/{world['student'].pk}/"
    response = console_as().post(
        f"/login/?next={url}", {"username": "operator@uni.example", "password": "correct horse battery", "next": url}
    )
    assert response["Location"] == url


def test_wrong_password_shows_an_error_and_signs_nobody_in(console_as, operator_user):
    client = console_as()
    response = client.post("/login/", {"username": "operator@uni.example", "password": "nope"})
    assert response.status_code == 200
    assert "That email and password do not match" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert client.get("/students/").status_code == 302


def test_sign_out_is_a_post_and_says_so(console_as, operator_user):
    client = console_as(operator_user)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/login/"
    assert MSG_SIGNED_OUT in response.content.decode()
    assert client.get("/students/").status_code == 302


def test_posts_without_a_csrf_token_are_refused(host, operator_user, world):
    client = TenantAPIClient(host, enforce_csrf_checks=True)
    client.force_login(operator_user)
    response = client.post(f"/students/{world['student'].pk}/attempts/", {"action": "grant", "reason": "x"})
    assert response.status_code == 403
    login = TenantAPIClient(host, enforce_csrf_checks=True)
    assert login.post("/login/", {"username": "operator@uni.example", "password": "correct horse battery"}).status_code == 403


def test_a_session_from_another_tenant_signs_nobody_in_here(console_as, other_host, other_tenant, other_tenant_user, tenant):
    with schema_context(other_tenant.schema_name):
        theirs = TenantAPIClient(other_host)
        theirs.force_login(other_tenant_user)
    connection.set_tenant(tenant)
    ours = console_as()
    ours.cookies = theirs.cookies
    response = ours.get("/students/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_other_tenants_students_and_attempts_are_not_found_here(console_as, admin_user, other_tenant, tenant):
    with schema_context(other_tenant.schema_name):
        theirs = StudentFactory(first_name="Otto", last_name="Elsewhere", email="otto@other.example")
        their_session = SessionFactory(student=theirs, case_study=CaseStudyFactory())
    connection.set_tenant(tenant)
    client = console_as(admin_user)
    assert "Elsewhere" not in client.get("/students/").content.decode()
    response = client.get(f"/students/{theirs.pk}/")
    assert response.status_code == 404 and response.templates[0].name == "console/404.html"
    assert client.get(f"/attempts/{their_session.pk}/").status_code == 404


def test_an_unknown_host_gets_a_plain_404_page(operator_user):
    response = TenantAPIClient("nowhere.localhost").get("/students/")
    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


def test_static_assets_are_local_files_no_cdn(console_as, viewer_user):
    html = console_as(viewer_user).get("/students/").content.decode()
    assert "/static/console/console.css" in html and "/static/console/console.js" in html
    assert "https://" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_the_403_page_says_in_words_what_is_missing_and_who_has_it(console_as, viewer_user, world):
    html = console_as(viewer_user).get(_pages(world)["student-edit"]).content.decode()
    assert "This page is for staff who may add, change and archive student records: admins." in html


def test_every_permission_has_words():
    from accounts.permissions import ALL_PERMISSIONS, PERMISSION_WORDS

    assert set(PERMISSION_WORDS) == set(ALL_PERMISSIONS)
