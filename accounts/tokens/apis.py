from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

from accounts.tokens import services
from accounts.tokens.serializers import TokenRequestSerializer, TokenResponseSerializer
from config.api import ok, validated
from config.errors import AppError
from config.openapi import error_response


class TokenApi(APIView):
    """Exchange a staff email and password for a Bearer token on this tenant."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_scope = "auth"

    @extend_schema(
        request=TokenRequestSerializer,
        examples=[
            OpenApiExample("Login", value={"email": "ops@demo.edu", "password": "secret"}, request_only=True),
            OpenApiExample(
                "Login with a second factor",
                value={"email": "ops@demo.edu", "password": "secret", "otp": "492039"},
                request_only=True,
            ),
        ],
        auth=[],
        responses={
            201: TokenResponseSerializer,
            401: error_response(
                "Wrong email or password, or (`errors.otp`) the account's second factor missing or wrong "
                "(UNAUTHENTICATED)."
            ),
            403: error_response(
                "Password sign-in not allowed by the tenant's policy, or (`errors.otp`) the tenant requires a "
                "second factor this account has not set up yet (PERMISSION_DENIED)."
            ),
            429: error_response(
                "Too many failed sign-ins (wrong passwords and codes together) or requests, or too many wrong "
                "codes in a row (RATE_LIMITED); retry after `Retry-After` seconds."
            ),
        },
    )
    def post(self, request):
        body = validated(TokenRequestSerializer, request.data)
        token, raw = services.token_issue(
            request=request, email=body["email"], password=body["password"], otp=body.get("otp")
        )
        user = token.user
        return ok(
            {
                "token": raw,
                "token_type": "Bearer",
                "user": {
                    "email": user.email,
                    "full_name": user.full_name,
                    "roles": sorted(r.name for r in user.roles.all()),
                    "permissions": sorted(user.permission_strings),
                },
            },
            status=201,
        )


class LogoutApi(APIView):
    """Revoke the Bearer token this request was made with."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: None})
    def post(self, request):
        token = getattr(request, "api_token", None)
        if token is None:
            raise AppError.validation({"authorization": "Log out revokes a Bearer token; none was sent."})
        services.token_revoke(token=token)
        return ok(None, message="Token revoked.")
