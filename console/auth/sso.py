"""Sign-in through the tenant's identity providers: the login page's buttons, the start of a
sign-in (`/sso/<slug>/start/`), and what both protocols do once the provider has answered:
provision the user (accounts.identity.provisioning), log them in, audit it, and go back to
where they were going, on this host only (no open redirect).

Each protocol's own steps are in console.auth.oidc and console.auth.saml."""
from importlib import import_module
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.db import DatabaseError, connection
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET
from django_tenants.utils import get_public_schema_name

from accounts.backends import STAFF_BACKEND
from accounts.identity.models import IdentityProvider
from accounts.identity.policy import policy_get
from accounts.identity.provisioning import SsoRefused, audit_sign_in, provision
from config.errors import database_unavailable

MSG_SIGNED_IN_WITH = "Signed in as {name} with {provider}."
NEXT_KEY = "sso_next"


def login_options(request):
    """What the login page offers: a button for each enabled provider of the host's tenant and,
    under SSO only, the password form folded away for break-glass accounts. With the database
    out of reach the page still shows, as a plain password form (whose sign-in then answers
    503 like every page): `identity_providers` empty, `sso_only` off."""
    try:
        providers = list(IdentityProvider.objects.filter(enabled=True).only("slug", "name", "kind"))
        sso_only = policy_get().sso_only
    except DatabaseError as exc:
        if not database_unavailable(exc):
            raise
        connection.close_if_unusable_or_obsolete()
        return {"identity_providers": [], "sso_only": False}
    return {"identity_providers": providers, "sso_only": sso_only}


def safe_next(request, target):
    """`target` if it stays on this host (a path, or this host's own URL), else None."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def provider_or_404(slug):
    return IdentityProvider.objects.filter(slug=slug, enabled=True).first()


@require_GET
def sso_start(request, slug):
    """Send the browser to the provider (OIDC authorization request or SAML AuthnRequest)."""
    provider = provider_or_404(slug)
    if provider is None:
        return refused_page(request, SsoRefused("disabled"), status=404)
    request.session[NEXT_KEY] = safe_next(request, request.GET.get("next")) or ""
    protocol = import_module(f"console.auth.{provider.kind}")  # console.auth.oidc or console.auth.saml
    try:
        return protocol.start(request, provider)
    except SsoRefused as refused:
        return refused_page(request, refused)


def finish_sign_in(request, provider, *, subject, claims):
    """The provider has vouched for `subject` with these claims: provision, log in, audit,
    and redirect (to the page asked for before, on this host, else the students list).
    SsoRefused becomes the refusal page."""
    try:
        user = provision(provider=provider, subject=subject, claims=claims)
    except SsoRefused as refused:
        return refused_page(request, refused)
    target = safe_next(request, request.session.pop(NEXT_KEY, ""))
    login(request, user, backend=STAFF_BACKEND)  # a new session key: no fixation
    audit_sign_in(user, method=provider.kind, provider=provider)
    messages.success(request, MSG_SIGNED_IN_WITH.format(name=user.full_name or user.email, provider=provider.name))
    return redirect(target or "console:students")


def refused_page(request, refused, *, status=403):
    """The clear page of a refused sign-in: what happened and what to do."""
    return render(
        request, "console/auth/sso_refused.html",
        {"message": refused.message, "reason": refused.reason, "provider": refused.provider},
        status=status,
    )


def admin_login(django_login):
    """The Django admin's login view: on a tenant's host, the console's sign-in (its limits,
    the SSO-only policy, the second factor), then back to the admin; on the public host (the
    platform's own staff), Django's `django_login`."""

    def login_view(request, extra_context=None):
        if connection.schema_name == get_public_schema_name():
            return django_login(request, extra_context)
        target = request.GET.get("next") or "/admin/"
        return redirect(f"{reverse('console:login')}?{urlencode({'next': target})}")

    return login_view
