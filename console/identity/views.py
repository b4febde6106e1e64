"""The Sign-in pages, for IDENTITY.can_manage (admins).

/sign-in/ lists the identity providers with the addresses to give each one's administrator,
and holds the sign-in policy (SSO only, break-glass accounts, a second factor for passwords)
and the SCIM tokens (a new one shown once; revoke). /sign-in/providers/new/?kind=oidc|saml adds
a provider; /sign-in/providers/<id>/ shows its addresses and changes it (field `action`): its
settings, enable or disable, check an OpenID Connect issuer, delete.

Through accounts.identity.services (and accounts.scim.services), the services behind
/v1/identity-providers, /v1/sign-in-policy and /v1/scim-tokens, so the rules, refusals and audit
events are the same."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.identity import selectors, services
from accounts.identity.formats import role_rules_as_lines
from accounts.identity.models import IdentityProvider
from accounts.identity.policy import policy_get
from accounts.permissions import IDENTITY_MANAGE
from accounts.scim import selectors as scim_selectors
from accounts.scim import services as scim_services
from accounts.scim.endpoints import base_url as scim_base_url
from config.errors import AppError
from console.auth.oidc import ProviderError, discovery
from console.identity.forms import ProviderForm, ScimTokenForm, SignInPolicyForm
from console.pages import (
    apply_service_errors,
    confirmation_page,
    console_page,
    form_refused,
    not_found,
    record_action_confirmation,
)

MSG_PROVIDER_ADDED = "Added {name}. Give its administrator the addresses below, then add role rules if you have none."
MSG_PROVIDER_SAVED = "Saved {name}."
MSG_PROVIDER_ENABLED = "Enabled {name}: its button is on the sign-in page."
MSG_PROVIDER_DISABLED = "Disabled {name}: its button is gone from the sign-in page and its sign-ins are refused."
MSG_PROVIDER_DELETED = "Deleted the identity provider {name}."
MSG_PROVIDER_REACHED = "Reached {issuer}: its discovery document names this issuer and its endpoints."
MSG_PROVIDER_UNREACHED = "Could not use {issuer}: {error}."
MSG_POLICY_SAVED = "Saved the sign-in policy."
MSG_SCIM_TOKEN_CREATED = "Created the SCIM token. Copy it now: it is not shown again."
MSG_SCIM_TOKEN_REVOKED = "Revoked the SCIM token {prefix}…: the identity provider’s next request with it is refused."
MSG_CONFIRM_PROVIDER_DELETE = "Delete the identity provider {name}?"
PROVIDER_DELETE_CONSEQUENCES = (
    "Its button leaves the sign-in page and its sign-ins are refused; staff it made keep their accounts.",
    "Its settings, secret and role rules go with it; adding it again means giving its administrator new addresses.",
)
MSG_CONFIRM_SCIM_REVOKE = "Revoke the SCIM token {prefix}… ({description})?"
SCIM_REVOKE_CONSEQUENCES = (
    "The identity provider’s next request with it is refused: it no longer creates or changes staff accounts.",
    "A revoked token cannot be used again; create a new one for the provider.",
)
PAGE_ACTIONS = ("policy", "scim_create", "scim_revoke")
PROVIDER_ACTIONS = ("update", "enable", "disable", "check", "delete")
KINDS = dict(IdentityProvider.KINDS)


def _addresses(request, provider):
    return selectors.provider_addresses(provider, base=selectors.public_base(request))


# The Sign-in page ----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@console_page(IDENTITY_MANAGE)
def identity_page(request):
    """Queries: the providers, the policy, the SCIM tokens (and, on POST, the change's). GET
    `?revoke=<token id>`: the confirmation of revoking that SCIM token; only its POST revokes."""
    if request.method != "POST":
        return _confirm_scim_revoke(request, request.GET["revoke"]) if "revoke" in request.GET else _page(request)
    action = request.POST.get("action")
    if action not in PAGE_ACTIONS:
        action = "policy"
    return _PAGE_ACTIONS[action](request)


def _policy(request):
    form = SignInPolicyForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.sign_in_policy_update(**form.cleaned_data)
        except AppError as error:
            apply_service_errors(form, error, {"__all__": "sso_only"})
            status = error.status_code
        else:
            messages.success(request, MSG_POLICY_SAVED)
            return redirect("console:identity")
    form_refused(request)
    return _page(request, policy_form=form, status=status)


def _scim_create(request):
    form = ScimTokenForm(request.POST)
    if not form.is_valid():
        form_refused(request)
        return _page(request, scim_form=form, status=400)
    token, raw = scim_services.scim_token_create(description=form.cleaned_data["description"])
    messages.success(request, MSG_SCIM_TOKEN_CREATED)
    return _page(request, scim_created=(token, raw), status=201)


def _confirm_scim_revoke(request, token_id):
    try:
        token = scim_selectors.access_scim_token(token_id=token_id)
    except AppError as error:
        return not_found(request, error.message)
    if token.revoked_at is not None:  # nothing to confirm
        return redirect("console:identity")
    return confirmation_page(
        request,
        title="Revoke a SCIM token",
        crumbs=(("Sign-in", reverse("console:identity")),),
        question=MSG_CONFIRM_SCIM_REVOKE.format(prefix=token.prefix, description=token.description or "no description"),
        consequences=SCIM_REVOKE_CONSEQUENCES,
        action=reverse("console:identity"),
        fields=(("action", "scim_revoke"), ("token", token.pk)),
        button="Revoke the token",
        cancel=reverse("console:identity"),
    )


def _scim_revoke(request):
    try:
        token = scim_services.scim_token_revoke(token_id=request.POST.get("token", ""))
    except AppError as error:
        return not_found(request, error.message)
    messages.success(request, MSG_SCIM_TOKEN_REVOKED.format(prefix=token.prefix))
    return redirect("console:identity")


_PAGE_ACTIONS = {"policy": _policy, "scim_create": _scim_create, "scim_revoke": _scim_revoke}


def _page(request, *, policy_form=None, scim_form=None, scim_created=None, status=200):
    providers = [(provider, _addresses(request, provider)) for provider in selectors.provider_list()]
    policy = policy_get()
    initial = {
        "sso_only": policy.sso_only,
        "break_glass_emails": "\n".join(policy.break_glass_emails),
        "require_two_factor": policy.require_two_factor,
    }
    context = {
        "providers": providers,
        "kinds": IdentityProvider.KINDS,
        "policy": policy,
        "policy_form": policy_form or SignInPolicyForm(initial=initial),
        "scim_tokens": list(scim_selectors.scim_token_list()),
        "scim_form": scim_form or ScimTokenForm(),
        "scim_created": scim_created,
        "scim_url": scim_base_url(request),
    }
    return render(request, "console/identity/list.html", context, status=status)


# A provider --------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_post_parameters("client_secret")  # kept out of error reports
@console_page(IDENTITY_MANAGE)
def provider_new_page(request):
    """?kind=oidc|saml: the form of that kind (without one, the choice). Queries: on POST, the
    creation's."""
    kind = request.POST.get("kind") if request.method == "POST" else request.GET.get("kind")
    if kind not in KINDS:
        status = 400 if request.method == "POST" else 200
        return render(request, "console/identity/choose_kind.html", {"kinds": IdentityProvider.KINDS}, status=status)
    if request.method != "POST":
        return _form_page(request, ProviderForm(kind=kind, creating=True))
    form = ProviderForm(request.POST, kind=kind, creating=True)
    status = 400
    if form.is_valid():
        try:
            provider = services.provider_create(kind=kind, **form.service_fields())
        except AppError as error:
            apply_service_errors(form, error, {"__all__": "slug"})
            status = error.status_code
        else:
            messages.success(request, MSG_PROVIDER_ADDED.format(name=provider.name))
            return redirect("console:identity_provider", provider_id=provider.pk)
    form_refused(request)
    return _form_page(request, form, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_post_parameters("client_secret")
@console_page(IDENTITY_MANAGE)
def provider_page(request, provider_id):
    """Queries: the provider (and, on POST, the change's). GET `?delete`: the confirmation of
    deleting it; only its POST deletes."""
    try:
        provider = selectors.provider_get(provider_id=provider_id)
    except AppError as error:
        return not_found(request, error.message)
    if request.method != "POST":
        if "delete" in request.GET:
            return _confirm_provider_delete(request, provider)
        return _form_page(request, _edit_form(provider), provider=provider)
    action = request.POST.get("action")
    if action not in PROVIDER_ACTIONS:
        action = "update"
    return _PROVIDER_ACTIONS[action](request, provider)


def _edit_form(provider, data=None):
    initial = {name: getattr(provider, name) for name in ProviderForm.base_fields if hasattr(provider, name)}
    initial["role_rules"] = role_rules_as_lines(provider.role_rules)
    initial.pop("client_secret", None)  # never sent to the browser
    return ProviderForm(data, initial=initial, kind=provider.kind, creating=False)


def _update(request, provider):
    form = _edit_form(provider, request.POST)
    status = 400
    if form.is_valid():
        try:
            provider = services.provider_update(provider_id=provider.pk, **form.service_fields())
        except AppError as error:
            if error.status_code == 404:
                return not_found(request, error.message)
            apply_service_errors(form, error, {"__all__": "slug"})
            status = error.status_code
        else:
            messages.success(request, MSG_PROVIDER_SAVED.format(name=provider.name))
            return redirect("console:identity_provider", provider_id=provider.pk)
    form_refused(request)
    return _form_page(request, form, provider=provider, status=status)


def _switch(enabled, message):
    def act(request, provider):
        try:
            provider = services.provider_update(provider_id=provider.pk, enabled=enabled)
        except AppError as error:
            if error.status_code == 404:
                return not_found(request, error.message)
            messages.error(request, error.message)
        else:
            messages.success(request, message.format(name=provider.name))
        return redirect("console:identity_provider", provider_id=provider.pk)

    return act


def _check(request, provider):
    """Fetch an OpenID Connect provider's discovery document now (not from the cache)."""
    if provider.kind == IdentityProvider.OIDC:
        try:
            discovery(provider, fresh=True)
        except ProviderError as error:
            messages.error(request, MSG_PROVIDER_UNREACHED.format(issuer=provider.issuer, error=error))
        else:
            messages.success(request, MSG_PROVIDER_REACHED.format(issuer=provider.issuer))
    return redirect("console:identity_provider", provider_id=provider.pk)


def _confirm_provider_delete(request, provider):
    return record_action_confirmation(
        request,
        record_url=reverse("console:identity_provider", args=[provider.pk]),
        record_name=provider.name,
        parent=("Sign-in", reverse("console:identity")),
        action="delete",
        title="Delete the identity provider",
        question=MSG_CONFIRM_PROVIDER_DELETE.format(name=provider.name),
        consequences=PROVIDER_DELETE_CONSEQUENCES,
        button="Delete the provider",
    )


def _delete(request, provider):
    try:
        services.provider_delete(provider_id=provider.pk)
    except AppError as error:
        if error.status_code == 404:
            return not_found(request, error.message)
        messages.error(request, error.message)
        return redirect("console:identity_provider", provider_id=provider.pk)
    messages.success(request, MSG_PROVIDER_DELETED.format(name=provider.name))
    return redirect("console:identity")


_PROVIDER_ACTIONS = {
    "update": _update,
    "enable": _switch(True, MSG_PROVIDER_ENABLED),
    "disable": _switch(False, MSG_PROVIDER_DISABLED),
    "check": _check,
    "delete": _delete,
}


def _form_page(request, form, *, provider=None, status=200):
    context = {
        "form": form,
        "kind": form.kind,
        "kind_label": KINDS[form.kind],
        "provider": provider,
        "addresses": _addresses(request, provider) if provider is not None else None,
        "secret_hint": selectors.secret_hint(provider.client_secret) if provider is not None else None,
        "certificates": selectors.certificate_facts(provider.idp_certificate) if provider is not None else [],
    }
    return render(request, "console/identity/provider.html", context, status=status)
