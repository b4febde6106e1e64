"""The SCIM tokens API, for IDENTITY.can_manage (admins): GET/POST /v1/scim-tokens and
DELETE /v1/scim-tokens/{scim_token_id} (revoke)."""
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from accounts.permissions import IDENTITY_MANAGE, HasPermission
from accounts.scim import selectors, services
from accounts.scim.serializers import (
    ScimTokenCreateSerializer,
    ScimTokenEnvelope,
    ScimTokenPageEnvelope,
    ScimTokenSerializer,
    ScimTokensPageQuery,
    ScimTokenWithSecretEnvelope,
    ScimTokenWithSecretSerializer,
)
from config.api import ok, page_of, paged, validated
from config.openapi import error_responses

TAG = "SCIM tokens"
SCIM_DESCRIPTION = (
    "An identity provider (Entra ID, Okta …) provisions and deprovisions staff through SCIM 2.0 at "
    "`/scim/v2/` on this tenant's host (Users; ServiceProviderConfig, ResourceTypes and Schemas), sending "
    "`Authorization: Bearer <token>` with a token of this tenant. Setting a user's `active` to false, or deleting "
    "it, ends their console sessions and revokes their API tokens at once. Users created through SCIM have no "
    "role until they first sign in through the identity provider, whose groups claim gives it."
)


class _ScimTokensApi(APIView):
    permission_classes = [HasPermission.of(IDENTITY_MANAGE)]


class ScimTokenListApi(_ScimTokensApi):
    @extend_schema(tags=[TAG], summary="List SCIM tokens", operation_id="scim_tokens_list",
                   description="Requires IDENTITY.can_manage (admins). Newest first, revoked ones included; "
                   "each shows its first characters only. " + SCIM_DESCRIPTION,
                   parameters=[ScimTokensPageQuery], responses={200: ScimTokenPageEnvelope, **error_responses()})
    def get(self, request):
        params = validated(ScimTokensPageQuery, request.query_params)
        rows, paging = page_of(selectors.scim_token_list(), page=params["page"], per_page=params["per_page"])
        return paged(ScimTokenSerializer(rows, many=True).data, **paging)

    @extend_schema(tags=[TAG], summary="Issue a SCIM token", operation_id="scim_tokens_create",
                   description="Requires IDENTITY.can_manage. The answer holds the `token`, in full this once; only "
                   "its hash is kept. " + SCIM_DESCRIPTION,
                   request=ScimTokenCreateSerializer,
                   responses={201: ScimTokenWithSecretEnvelope, **error_responses()})
    def post(self, request):
        body = validated(ScimTokenCreateSerializer, request.data)
        token, raw = services.scim_token_create(description=body.get("description", ""))
        return ok(ScimTokenWithSecretSerializer(token, raw=raw).data, status=201,
                  headers={"Location": f"/v1/scim-tokens/{token.pk}"})


class ScimTokenDetailApi(_ScimTokensApi):
    @extend_schema(tags=[TAG], summary="Revoke a SCIM token", operation_id="scim_tokens_revoke",
                   description="Requires IDENTITY.can_manage. The token's next request is refused (401). Revoking "
                   "a revoked token changes nothing. The answer is the token as it is now.",
                   responses={200: ScimTokenEnvelope, **error_responses(not_found=selectors.MSG_SCIM_TOKEN_NOT_FOUND)})
    def delete(self, request, scim_token_id):
        return ok(ScimTokenSerializer(services.scim_token_revoke(token_id=scim_token_id)).data)
