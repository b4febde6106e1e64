"""The Sign-in pages in a real Chromium, at a desktop width and a phone's: an admin reads the
providers' addresses, adds an OpenID Connect provider (a refusal first, said beside its field),
sets the policy and creates a SCIM token; no sideways scrolling, no serious or critical axe-core
violation. Screenshots go to screenshots/."""
import pytest

from accounts.identity import services
from accounts.identity.models import IdentityProvider
from accounts.identity.policy import policy_get
from accounts.scim.services import scim_token_create
from accounts.tests.test_identity_providers import CERTIFICATE
from console.tests.test_browser import PASSWORD, shot, sign_in
from testing.browser import axe_violations, needs_chromium, sideways_overflow
from testing.factories import StaffUserFactory

pytestmark = [pytest.mark.browser, needs_chromium]


def _checked(page):
    assert sideways_overflow(page) == 0
    assert axe_violations(page) == []


@pytest.mark.parametrize("width", [1366, 390])
def test_an_admin_reads_the_addresses_adds_a_provider_and_sets_the_policy(page, width):
    StaffUserFactory(email="ada@uni.example", full_name="Ada Admin", password=PASSWORD, roles=["admin"])
    services.provider_create(
        kind="saml", slug="shibboleth", name="Università Shibboleth", idp_entity_id="https://idp.uni.example/idp",
        idp_sso_url="https://idp.uni.example/idp/profile/SAML2/Redirect/SSO", idp_certificate=CERTIFICATE,
        role_claim="eduPersonAffiliation", role_rules=[{"value": "cn=ops,ou=groups,dc=uni,dc=example", "role": "viewer"}],
    )
    scim_token_create(description="Entra provisioning")
    page.set_viewport_size({"width": width, "height": 860 if width > 600 else 844})
    sign_in(page, "ada@uni.example")

    page.goto("/sign-in/")
    assert page.get_by_role("heading", name="Sign-in", exact=True).is_visible()
    assert page.locator("code.copy-value", has_text="/sso/shibboleth/saml/acs/").count() == 1
    _checked(page)
    shot(page, f"identity-01-list-{width}")
    page.emulate_media(color_scheme="dark")
    _checked(page)
    shot(page, f"identity-01-list-{width}-dark")
    page.emulate_media(color_scheme="light")

    page.get_by_role("link", name="Add OpenID Connect").click()
    page.get_by_label("Name on the sign-in button").fill("Microsoft Entra ID")
    page.get_by_label("Slug (in its addresses)").fill("Entra ID")
    page.get_by_label("Issuer URL").fill("https://login.microsoftonline.com/0b1c2d3e/v2.0")
    page.get_by_label("Client id").fill("6f1d0c52-console")
    page.get_by_label("Client secret").fill("a-long-client-secret-value-1234")
    page.get_by_label("Role rules").fill("ops-staff = operator\nops-admins = admin")
    page.get_by_role("button", name="Add provider").click()
    assert page.locator("#id_slug-err").inner_text() == services.MSG_IDP_SLUG_SHAPE
    assert page.get_by_label("Client secret").input_value() == ""  # never sent back
    _checked(page)
    shot(page, f"identity-02-refused-{width}")

    page.get_by_label("Slug (in its addresses)").fill("entra")
    page.get_by_label("Client secret").fill("a-long-client-secret-value-1234")
    page.get_by_role("button", name="Add provider").click()
    page.wait_for_url("**/sign-in/providers/*/")
    assert page.locator("code.copy-value", has_text="/sso/entra/oidc/callback/").is_visible()
    assert IdentityProvider.objects.get(slug="entra").role_rules[1] == {"value": "ops-admins", "role": "admin"}
    _checked(page)
    shot(page, f"identity-03-provider-{width}")

    page.goto("/sign-in/")
    page.get_by_label("SSO only").check()
    page.get_by_role("textbox", name="Break-glass accounts").fill("root@uni.example")
    page.get_by_label("Require a second factor").check()
    page.get_by_role("button", name="Save policy").click()
    page.wait_for_url("**/sign-in/")
    assert policy_get().sso_only and policy_get().break_glass_emails == ["root@uni.example"]
    page.get_by_label("What it is for").fill("Okta provisioning")
    page.get_by_role("button", name="Create a token").click()
    assert page.locator("[data-secret]").inner_text().startswith("scim_")
    _checked(page)
    shot(page, f"identity-04-policy-and-token-{width}")
