"""The platform team's commands: identity_provider (list, create, update, delete) and
sign_in_policy, in the tenant named by --tenant, through the API's services (same rules,
audited as "system"); the client secret read from a file, standard input or an option, and
never printed."""
import io
import logging

import pytest
from django.core.management import CommandError, call_command

from accounts.identity import services
from accounts.identity.models import IdentityProvider
from accounts.identity.policy import policy_get
from accounts.models import AuditEvent
from accounts.tests.test_identity_providers import CERTIFICATE, SECRET
from testing.tenancy import TEST_TENANT

TENANT = TEST_TENANT["slug"]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def create_oidc(tmp_path, *extra):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    return run("identity_provider", "create", "--tenant", TENANT, "--kind", "oidc", "--slug", "entra",
               "--name", "Entra ID", "--issuer", "https://login.uni.example/v2.0", "--client-id", "console",
               "--client-secret-file", str(secret_file), "--role-rule", "ops-staff = operator",
               "--role-rule", "cn=admins,ou=groups,dc=uni=admin", *extra)


def test_create_reads_the_secret_from_a_file_never_prints_it_and_is_audited_as_system(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    output = create_oidc(tmp_path)
    provider = IdentityProvider.objects.get()
    assert provider.client_secret == SECRET and provider.kind == "oidc" and provider.enabled
    assert provider.role_rules == [{"value": "ops-staff", "role": "operator"},
                                   {"value": "cn=admins,ou=groups,dc=uni", "role": "admin"}]
    assert "Created OpenID Connect provider entra" in output
    assert "https://test.localhost/sso/entra/oidc/callback/" in output
    assert SECRET not in output and SECRET not in caplog.text
    event = AuditEvent.objects.get(action="identity_provider.create")
    assert event.via == "system" and event.detail == {"client_secret_set": True}


def test_the_secret_may_come_from_standard_input(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin-secret-abcd\n"))
    run("identity_provider", "create", "--tenant", TENANT, "--kind", "oidc", "--slug", "okta", "--name", "Okta",
        "--issuer", "https://uni.okta.example", "--client-id", "c", "--client-secret-file", "-")
    assert IdentityProvider.objects.get().client_secret == "from-stdin-secret-abcd"


def test_a_saml_provider_from_a_certificate_file_and_its_addresses_listed(tmp_path):
    pem = tmp_path / "idp.pem"
    pem.write_text(CERTIFICATE)
    run("identity_provider", "create", "--tenant", TENANT, "--kind", "saml", "--slug", "shibboleth",
        "--name", "Shibboleth", "--idp-entity-id", "https://idp.uni.example/idp",
        "--idp-sso-url", "https://idp.uni.example/sso", "--idp-certificate-file", str(pem), "--disabled")
    provider = IdentityProvider.objects.get()
    assert provider.idp_certificate == CERTIFICATE.strip() and not provider.enabled
    output = run("identity_provider", "list", "--tenant", TENANT)
    assert "shibboleth  SAML 2.0  disabled  Shibboleth" in output
    assert "https://test.localhost/sso/shibboleth/saml/acs/" in output
    assert "https://test.localhost/sso/shibboleth/saml/metadata/" in output


def test_update_changes_only_what_is_given_and_delete_removes(tmp_path):
    create_oidc(tmp_path)
    output = run("identity_provider", "update", "--tenant", TENANT, "--slug", "entra", "--name", "Entra",
                 "--disable", "--client-secret", "a-new-secret-value-wxyz")
    provider = IdentityProvider.objects.get()
    assert (provider.name, provider.enabled, provider.client_secret) == ("Entra", False, "a-new-secret-value-wxyz")
    assert provider.issuer == "https://login.uni.example/v2.0" and len(provider.role_rules) == 2
    assert "a-new-secret-value-wxyz" not in output
    assert "…wxyz" in run("identity_provider", "list", "--tenant", TENANT)
    event = AuditEvent.objects.get(action="identity_provider.update")
    assert event.detail == {"client_secret_changed": True} and event.changes["enabled"] == [True, False]
    run("identity_provider", "delete", "--tenant", TENANT, "--slug", "entra")
    assert not IdentityProvider.objects.exists()


def test_refusals_are_errors_naming_the_fields(tmp_path):
    with pytest.raises(CommandError) as refused:
        run("identity_provider", "create", "--tenant", TENANT, "--kind", "oidc", "--slug", "entra", "--name", "E")
    assert "issuer: " + services.MSG_IDP_REQUIRED.format(kind="OpenID Connect") in str(refused.value)
    assert "client_secret:" in str(refused.value)
    create_oidc(tmp_path)
    with pytest.raises(CommandError, match=services.MSG_IDP_SLUG_TAKEN):
        create_oidc(tmp_path)
    with pytest.raises(CommandError, match="--role-rule 1"):
        run("identity_provider", "update", "--tenant", TENANT, "--slug", "entra", "--role-rule", "no role here")
    with pytest.raises(CommandError, match="No identity provider with slug 'nope'"):
        run("identity_provider", "delete", "--tenant", TENANT, "--slug", "nope")
    with pytest.raises(CommandError, match="No tenant with slug 'nowhere'"):
        run("identity_provider", "list", "--tenant", "nowhere")


def test_sign_in_policy_shows_and_changes_the_policy(tmp_path):
    output = run("sign_in_policy", "--tenant", TENANT)
    assert "SSO only: off" in output and "Break-glass accounts: none" in output
    with pytest.raises(CommandError, match="Enable an identity provider"):
        run("sign_in_policy", "--tenant", TENANT, "--sso-only", "on")
    create_oidc(tmp_path)
    output = run("sign_in_policy", "--tenant", TENANT, "--sso-only", "on", "--break-glass", "Root@Uni.example",
                 "--break-glass", "ops@uni.example", "--require-two-factor", "on")
    policy = policy_get()
    assert policy.sso_only and policy.require_two_factor
    assert policy.break_glass_emails == ["ops@uni.example", "root@uni.example"]
    assert "Break-glass accounts: ops@uni.example, root@uni.example" in output
    event = AuditEvent.objects.get(action="sign_in_policy.update")
    assert event.via == "system"
    # The last enabled provider stays while SSO only is on.
    with pytest.raises(CommandError, match="last enabled"):
        run("identity_provider", "delete", "--tenant", TENANT, "--slug", "entra")
    output = run("sign_in_policy", "--tenant", TENANT, "--no-break-glass")
    assert policy_get().break_glass_emails == [] and "nobody signs in" in output
    with pytest.raises(CommandError):
        run("sign_in_policy", "--tenant", TENANT, "--sso-only", "maybe")
