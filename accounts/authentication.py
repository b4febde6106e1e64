from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.expressions import RawSQL
from rest_framework import authentication, exceptions

from accounts.models import ApiToken, Role, StaffUser, hash_token
from config.compiled import Slot, compiled_once


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`. Tokens live in the tenant's schema, so they never cross tenants."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header.")
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        # One query: the token, its user and the user's permissions. Only the SQL is kept
        # (config.compiled), never a result, so a revoked token or a deactivated user stops
        # working with the next request.
        found = _token_lookup()(key_hash=hash_token(raw))
        token = found[0] if found else None
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token.user.set_permission_strings(token.user_permissions)
        request.api_token = token
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


@compiled_once(maxsize=1)
def _token_lookup():
    """The live token with this hash, its user and the user's permission strings."""
    return (
        ApiToken.objects.select_related("user")
        .annotate(user_permissions=role_permissions(f"{ApiToken._meta.db_table}.user_id"))
        .filter(key_hash=Slot("key_hash"), revoked_at__isnull=True)[:1]
    )


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session login with CSRF enforced, for the browsable API."""


def role_permissions(user_id_column):
    """Every permission string the user whose id is `user_id_column` (a column of the query's
    table, as SQL) holds through roles, as one array column."""
    memberships = StaffUser.roles.through._meta.db_table
    roles = Role._meta.db_table
    return RawSQL(
        f"SELECT coalesce(array_agg(DISTINCT p), '{{}}') FROM {memberships} m "
        f"JOIN {roles} r ON r.id = m.role_id CROSS JOIN LATERAL unnest(r.permissions) AS p "
        f"WHERE m.staffuser_id = {user_id_column}",
        [],
        output_field=ArrayField(models.CharField()),
    )
