"""The whole-stack client the benchmarks call through (import after django.setup())."""
from django.test import Client

from accounts.models import StaffUser
from testing.clients import issue_token

BENCH_EMAIL = "bench@bench.invalid"


def bench_client(tenant):
    """A django.test.Client on the tenant's host with a Bearer token of `bench@bench.invalid`,
    a superuser made once and reused (a token per run). Call in the tenant's schema."""
    user, _ = StaffUser.objects.get_or_create(email=BENCH_EMAIL, defaults={"is_superuser": True, "is_active": True})
    return Client(HTTP_HOST=tenant.get_primary_domain().domain, HTTP_AUTHORIZATION=f"Bearer {issue_token(user)}")
