from rest_framework import serializers

from config.serializers import SecretField, StrictSerializer


class TokenRequestSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254)
    password = SecretField(max_length=512, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=64, required=False, allow_blank=True,
        help_text="The second factor, for an account that has one (or must, by the tenant's policy): the 6-digit "
        "code its authenticator app shows now, or one of its unused recovery codes (`abcd-efgh`). Each code is "
        "accepted once; a wrong one counts as a failed sign-in.",
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    token_type = serializers.CharField()
    user = serializers.DictField()
