"""Nobody is locked out when admins act at the same moment (accounts.identity.services): with
SSO only on, two providers disabled at once leave one enabled; SSO only switched on while the
last provider is disabled ends with one of the two refused. Each thread has its own connection
and really commits (`committed_tenant`); a barrier releases them together."""
from accounts.identity import services
from accounts.identity.models import IdentityProvider
from accounts.identity.policy import policy_get
from accounts.tests.test_identity_providers import oidc, saml, sso_only
from config.errors import AppError
from testing.concurrency import race, raised


def test_two_providers_disabled_at_once_while_sso_only_leave_one_enabled(committed_tenant):
    providers = [oidc(), saml()]
    sso_only()
    results = race(committed_tenant, [
        (lambda p=p: services.provider_update(provider_id=p.pk, enabled=False)) for p in providers
    ])
    refusals = raised(results)
    assert len(refusals) == 1 and isinstance(refusals[0], AppError) and refusals[0].status_code == 409
    assert IdentityProvider.objects.filter(enabled=True).count() == 1


def test_sso_only_switched_on_while_the_last_provider_is_deleted_is_never_both(committed_tenant):
    for _ in range(5):
        IdentityProvider.objects.all().delete()
        services.sign_in_policy_update(sso_only=False)
        provider = oidc()
        results = race(committed_tenant, [
            lambda: services.sign_in_policy_update(sso_only=True),
            lambda p=provider: services.provider_delete(provider_id=p.pk),
        ])
        assert len(raised(results)) == 1
        assert not (policy_get().sso_only and not IdentityProvider.objects.filter(enabled=True).exists())
