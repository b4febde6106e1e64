"""The tenant's sign-in policy where it is not protocol-specific: the Django admin's own login
cannot go around the console's sign-in (its limits, SSO only, the second factor)."""
from accounts.identity.models import IdentityProvider
from accounts.identity.policy import policy_update


def test_the_admin_login_is_the_console_sign_in(anon_client):
    answer = anon_client.get("/admin/login/?next=/admin/accounts/")
    assert answer.status_code == 302
    assert answer["Location"] == "/login/?next=%2Fadmin%2Faccounts%2F"
    password_post = anon_client.post("/admin/login/", {"username": "admin@uni.example", "password": "x"})
    assert password_post.status_code == 302  # never checked there


def test_sso_only_refuses_a_console_password_before_checking_it(anon_client, admin_user):
    IdentityProvider.objects.create(kind="oidc", slug="uni", name="University Login", issuer="https://idp.example",
                                    client_id="c", client_secret="s", role_rules=[])
    policy_update(sso_only=True, break_glass_emails=[])
    page = anon_client.post("/login/", {"username": admin_user.email, "password": "wrong"})
    assert page.status_code == 200
    assert "through University Login" in page.content.decode()
