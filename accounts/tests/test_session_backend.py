"""The session sign-in's backend (accounts.backends): the signed-in user and their permission
strings in one statement; sessions ModelBackend signed in keep working; refused credentials are
checked, and the password hashed, once."""
import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate, get_user, user_login_failed
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.backends import STAFF_BACKEND, StaffBackend
from accounts.models import StaffUser
from accounts.permissions import ATTEMPTS_MANAGE, USER_MANAGEMENT_VIEW
from testing.clients import TenantAPIClient
from testing.factories import StaffUserFactory

PASSWORD = "correct horse battery"


def test_the_user_comes_with_their_permission_strings_in_one_statement():
    user = StaffUserFactory(roles=["operator", "viewer"])
    with CaptureQueriesContext(connection) as queries:
        found = StaffBackend().get_user(user.pk)
        permissions = found.permission_strings
    assert len(queries) == 1
    assert found == user and permissions == StaffUser.objects.get(pk=user.pk).permission_strings
    assert {USER_MANAGEMENT_VIEW, ATTEMPTS_MANAGE} <= permissions


def test_a_user_without_roles_holds_nothing_and_an_inactive_or_missing_one_is_nobody():
    user = StaffUserFactory()
    assert StaffBackend().get_user(user.pk).permission_strings == frozenset()
    StaffUser.objects.filter(pk=user.pk).update(is_active=False)
    assert StaffBackend().get_user(user.pk) is None
    assert StaffBackend().get_user(user.pk + 1000) is None


@pytest.mark.parametrize("backend", [STAFF_BACKEND, "django.contrib.auth.backends.ModelBackend"])
def test_a_session_signed_in_by_either_backend_is_signed_in(host, operator_user, backend):
    client = TenantAPIClient(host)
    client.force_login(operator_user, backend=backend)
    assert client.session[BACKEND_SESSION_KEY] == backend
    response = client.get("/students/")
    assert response.status_code == 200 and response.context["user"] == operator_user


def test_a_new_session_is_signed_in_by_the_staff_backend(host, operator_user):
    client = TenantAPIClient(host)
    client.force_login(operator_user)
    assert client.session[BACKEND_SESSION_KEY] == STAFF_BACKEND
    request = RequestFactory().get("/")
    request.session = client.session
    assert get_user(request) == operator_user


@pytest.mark.parametrize("email", ["known", "unknown@uni.example"])
def test_refused_credentials_are_hashed_once_and_signalled_once(monkeypatch, email):
    user = StaffUserFactory()
    hashed, failed = [], []
    check, set_ = StaffUser.check_password, StaffUser.set_password
    monkeypatch.setattr(StaffUser, "check_password", lambda self, raw: hashed.append(raw) or check(self, raw))
    monkeypatch.setattr(StaffUser, "set_password", lambda self, raw: hashed.append(raw) or set_(self, raw))
    user_login_failed.connect(receiver := lambda **kwargs: failed.append(kwargs["credentials"]["username"]))
    try:
        username = user.email if email == "known" else email
        assert authenticate(RequestFactory().post("/"), username=username, password="wrong") is None
    finally:
        user_login_failed.disconnect(receiver)
    assert hashed == ["wrong"] and failed == [username]


def test_good_credentials_sign_in_through_the_staff_backend():
    user = StaffUserFactory()
    found = authenticate(RequestFactory().post("/"), username=user.email, password=PASSWORD)
    assert found == user and found.backend == STAFF_BACKEND
