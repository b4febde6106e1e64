"""The identity providers API and the sign-in policy API, for IDENTITY.can_manage (admins):
GET/POST /v1/identity-providers, GET/PATCH/DELETE /v1/identity-providers/{provider_id},
GET/PATCH /v1/sign-in-policy. Through accounts.identity.services, as the console's Sign-in page
and the identity_provider and sign_in_policy commands, so rules, refusals and audit events are
the same everywhere."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from accounts.identity import selectors, services
from accounts.identity.policy import policy_get
from accounts.identity.serializers import (
    CREATE_SERIALIZERS,
    IdentityProviderKindSerializer,
    IdentityProviderSerializer,
    IdentityProviderUpdateSerializer,
    ProviderCreateRequest,
    ProviderEnvelope,
    ProviderPageEnvelope,
    ProvidersPageQuery,
    SignInPolicyEnvelope,
    SignInPolicySerializer,
    SignInPolicyUpdateSerializer,
)
from accounts.permissions import IDENTITY_MANAGE, HasPermission
from config.api import ok, page_of, paged, validated
from config.ids import check_id
from config.openapi import error_responses

PROVIDERS_TAG = "Identity providers"
POLICY_TAG = "Sign-in policy"
ADDRESSES = (
    "Each provider is answered with the addresses its identity provider's administrator registers, on the host the "
    "request came to: `sign_in_url`; for OpenID Connect `redirect_uri`; for SAML `sp_entity_id` (= `metadata_url`) "
    "and `acs_url`. The client secret is never answered: `client_secret_hint` tells secrets apart."
)


def _provider_id(value):
    return check_id(value, field="provider_id")


def _responses(success, *, not_found=True, conflict=None):
    return {**success, **error_responses(not_found=selectors.MSG_IDP_NOT_FOUND if not_found else None,
                                         conflict=conflict)}


def _answer(request, provider, **kwargs):
    return ok(IdentityProviderSerializer(provider, context={"request": request}).data, **kwargs)


class _IdentityApi(APIView):
    permission_classes = [HasPermission.of(IDENTITY_MANAGE)]


class IdentityProviderListApi(_IdentityApi):
    @extend_schema(tags=[PROVIDERS_TAG], summary="List identity providers", operation_id="identity_providers_list",
                   description="Requires IDENTITY.can_manage (admins). By name. " + ADDRESSES,
                   parameters=[ProvidersPageQuery], responses=_responses({200: ProviderPageEnvelope}, not_found=False))
    def get(self, request):
        params = validated(ProvidersPageQuery, request.query_params)
        rows, paging = page_of(selectors.provider_list(), page=params["page"], per_page=params["per_page"])
        return paged(IdentityProviderSerializer(rows, many=True, context={"request": request}).data, **paging)

    @extend_schema(tags=[PROVIDERS_TAG], summary="Add an identity provider", operation_id="identity_providers_create",
                   description=(
                       "Requires IDENTITY.can_manage. `kind` chooses the body: `oidc` (issuer, client_id and "
                       "client_secret required) or `saml` (idp_entity_id, idp_sso_url and idp_certificate required). "
                       "409 when the slug is taken. Audited (identity_provider.create; of the secret, only that one "
                       "was set). " + ADDRESSES
                   ),
                   request=ProviderCreateRequest,
                   responses=_responses({201: ProviderEnvelope}, not_found=False,
                                        conflict=services.MSG_IDP_SLUG_TAKEN))
    def post(self, request):
        kind = validated(IdentityProviderKindSerializer, request.data)["kind"]
        body = validated(CREATE_SERIALIZERS[kind], request.data)
        provider = services.provider_create(**body)
        return _answer(request, provider, status=201, headers={"Location": f"/v1/identity-providers/{provider.pk}"})


class IdentityProviderDetailApi(_IdentityApi):
    @extend_schema(tags=[PROVIDERS_TAG], summary="Retrieve an identity provider",
                   operation_id="identity_providers_retrieve",
                   description="Requires IDENTITY.can_manage. " + ADDRESSES,
                   responses=_responses({200: ProviderEnvelope}))
    def get(self, request, provider_id):
        return _answer(request, selectors.provider_get(provider_id=provider_id))

    @extend_schema(tags=[PROVIDERS_TAG], summary="Change an identity provider",
                   operation_id="identity_providers_partial_update",
                   description=(
                       "Requires IDENTITY.can_manage. Only the fields sent change; the kind never does, and a field "
                       "of the other kind is a 400 naming it. 409 when the slug is taken, or when `enabled: false` "
                       "would disable the last enabled provider while SSO only is on (GET /v1/sign-in-policy). "
                       "Audited (identity_provider.update; of the secret, only that it changed)."
                   ),
                   request=IdentityProviderUpdateSerializer,
                   responses=_responses({200: ProviderEnvelope},
                                        conflict=f"{services.MSG_IDP_SLUG_TAKEN} Or: {services.MSG_IDP_LAST_ENABLED}"))
    def patch(self, request, provider_id):
        provider_id = _provider_id(provider_id)
        body = validated(IdentityProviderUpdateSerializer, request.data)
        return _answer(request, services.provider_update(provider_id=provider_id, **body))

    @extend_schema(tags=[PROVIDERS_TAG], summary="Delete an identity provider",
                   operation_id="identity_providers_destroy",
                   description=(
                       "Requires IDENTITY.can_manage. Its links to staff users go with it; the users stay (a later "
                       "sign-in through another provider finds them by email). 409 for the last enabled provider "
                       "while SSO only is on. Audited (identity_provider.delete)."
                   ),
                   responses=_responses({200: OpenApiResponse(description="Deleted; data is null.")},
                                        conflict=services.MSG_IDP_LAST_ENABLED))
    def delete(self, request, provider_id):
        services.provider_delete(provider_id=_provider_id(provider_id))
        return ok(None, message="Deleted.")


class SignInPolicyApi(_IdentityApi):
    @extend_schema(tags=[POLICY_TAG], summary="The sign-in policy", operation_id="sign_in_policy_retrieve",
                   description="Requires IDENTITY.can_manage. The defaults until an admin changes it.",
                   responses=_responses({200: SignInPolicyEnvelope}, not_found=False))
    def get(self, request):
        return ok(SignInPolicySerializer(policy_get()).data)

    @extend_schema(tags=[POLICY_TAG], summary="Change the sign-in policy", operation_id="sign_in_policy_partial_update",
                   description=(
                       "Requires IDENTITY.can_manage. PATCH: only the fields sent change (a list sent replaces the "
                       "list). `sso_only: true` while no identity provider is enabled is a 409 naming sso_only: "
                       "nobody but the break-glass accounts could sign in. Audited (sign_in_policy.update) when "
                       "something changes."
                   ),
                   request=SignInPolicyUpdateSerializer,
                   responses=_responses({200: SignInPolicyEnvelope}, not_found=False,
                                        conflict=services.MSG_IDP_SSO_ONLY_WITHOUT_PROVIDER))
    def patch(self, request):
        body = validated(SignInPolicyUpdateSerializer, request.data)
        return ok(SignInPolicySerializer(services.sign_in_policy_update(**body)).data)
