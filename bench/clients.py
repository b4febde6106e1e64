"""The whole-stack client the benchmarks call through, and the staff users they sign in as
(import after django.setup())."""
import os

from django.test import Client

from accounts.models import StaffUser
from accounts.staff.services import staff_create
from testing.clients import issue_token

BENCH_EMAIL = "bench@bench.invalid"


def bench_client(tenant):
    """A django.test.Client on the tenant's host with a Bearer token of `bench@bench.invalid`,
    a superuser made once and reused (a token per run). Call in the tenant's schema."""
    user, _ = StaffUser.objects.get_or_create(email=BENCH_EMAIL, defaults={"is_superuser": True, "is_active": True})
    return Client(HTTP_HOST=tenant.get_primary_domain().domain, HTTP_AUTHORIZATION=f"Bearer {issue_token(user)}")


def staff_user(email, **fields):
    """The staff user `email`, found or made with `fields` (a random password: benchmarks sign
    in by a token or a session). Call in the tenant's schema."""
    user = StaffUser.objects.filter(email=email).first()
    if user is None:
        user = staff_create(email=email, password=os.urandom(16).hex(), **fields)
    return user
