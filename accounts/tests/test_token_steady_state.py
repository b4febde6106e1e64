"""Bearer authentication reads the token, its user and the user's permissions in one query and
caches nothing: a revoked token, a deactivated user or a changed role counts with the next
request."""
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiToken, Role
from testing.clients import bearer_client

URL = "/v1/console/students"


def test_a_revoked_token_stops_working_at_once(host, viewer_user):
    client = bearer_client(host, viewer_user)
    assert client.get(URL).status_code == 200
    assert client.post("/v1/auth/logout").status_code == 200
    assert client.get(URL).status_code == 401


def test_a_deactivated_user_is_refused_at_once(host, viewer_user):
    client = bearer_client(host, viewer_user)
    assert client.get(URL).status_code == 200
    viewer_user.is_active = False
    viewer_user.save()
    assert client.get(URL).status_code == 401


def test_a_role_losing_a_permission_counts_at_once(host, viewer_user):
    client = bearer_client(host, viewer_user)
    assert client.get(URL).status_code == 200
    for role in Role.objects.filter(users=viewer_user):
        role.permissions = [p for p in role.permissions if p != "USER_MANAGEMENT.can_view"]
        role.save()
    assert client.get(URL).status_code == 403


def test_one_query_reads_the_token_its_user_and_permissions(host, viewer_user):
    client = bearer_client(host, viewer_user)
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    auth = [q["sql"] for q in queries.captured_queries if "accounts_" in q["sql"]]
    assert len(auth) == 1 and "accounts_apitoken" in auth[0] and "unnest" in auth[0]
    assert ApiToken.objects.filter(user=viewer_user).count() == 1
