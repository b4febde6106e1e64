"""Shapes of the SCIM tokens API (/v1/scim-tokens): a token as listed (masked: its first
characters only) and as just issued (its value, this once)."""
from rest_framework import serializers

from config.serializers import StrictSerializer, enveloped, page_query

DESCRIPTION_MAX_LENGTH = 200
_TIME = serializers.DateTimeField()  # the API's date-time format (None stays None)

ScimTokensPageQuery = page_query(
    per_page_default=50, per_page_max=100, page_help="1-based page number.", per_page_help="Tokens per page (1-100)."
)


class ScimTokenCreateSerializer(StrictSerializer):
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False,
        help_text="Which identity provider or connection uses it; at most 200 characters.",
    )


class ScimTokenSerializer(serializers.Serializer):
    id = serializers.CharField()
    description = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first 8 characters (scim_…), to tell tokens apart.")
    active = serializers.BooleanField(help_text="false once revoked.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="Its last request (to the minute).")
    revoked_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, token):
        return {
            "id": token.pk,
            "description": token.description,
            "prefix": token.prefix,
            "active": token.revoked_at is None,
            "created_at": _TIME.to_representation(token.created_at),
            "last_used_at": _TIME.to_representation(token.last_used_at) if token.last_used_at else None,
            "revoked_at": _TIME.to_representation(token.revoked_at) if token.revoked_at else None,
        }


class ScimTokenWithSecretSerializer(ScimTokenSerializer):
    token = serializers.CharField(
        help_text="The token, shown in this answer only: give it to the identity provider's SCIM connection now, "
        "which sends it as Authorization: Bearer <token> to https://<this host>/scim/v2/."
    )

    def __init__(self, instance=None, *, raw="", **kwargs):
        super().__init__(instance, **kwargs)
        self.raw = raw

    def to_representation(self, token):
        return {**super().to_representation(token), "token": self.raw}


ScimTokenEnvelope = enveloped("ScimTokenEnvelope", ScimTokenSerializer)
ScimTokenWithSecretEnvelope = enveloped("ScimTokenWithSecretEnvelope", ScimTokenWithSecretSerializer)
ScimTokenPageEnvelope = enveloped("ScimTokenPage", ScimTokenSerializer, many=True, paged=True)
