from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiToken, hash_token


class TenantAPIClient(APIClient):
    """An API client bound to a host name. The tenant middleware switches the shared test
    connection's schema per request; this puts the test's own schema back afterwards."""

    def __init__(self, host, **defaults):
        super().__init__(HTTP_HOST=host, **defaults)

    def request(self, **kwargs):
        tenant = getattr(connection, "tenant", None)
        try:
            return super().request(**kwargs)
        finally:
            if tenant is not None:
                connection.set_tenant(tenant)


def issue_token(user):
    raw = ApiToken.generate_raw()
    ApiToken.objects.create(user=user, key_hash=hash_token(raw), prefix=raw[:8])
    return raw


def bearer_client(host, user):
    client = TenantAPIClient(host)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(user)}")
    return client
