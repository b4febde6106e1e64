from rest_framework import serializers

from config.serializers import SecretField, StrictSerializer


class TokenRequestSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254)
    password = SecretField(max_length=512, trim_whitespace=False)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    token_type = serializers.CharField()
    user = serializers.DictField()
