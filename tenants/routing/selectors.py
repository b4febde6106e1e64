"""Which tenant a host names: read from the platform cache in the steady state, so a request
spends no query on it.

Entries are keyed by a generation number that every change to a tenant or a domain bumps
(tenants.routing.signals), at once and again when the change commits, so no process sharing
the cache (every app server, with REDIS_URL) uses a stale mapping. Processes that do not
share one (the local-memory cache, several workers) forget entries after
TENANT_CACHE_SECONDS. An unknown host is never cached: each such request looks again.
"""
import time

from django.conf import settings
from django.core.cache import caches

from tenants.models import Domain

GENERATION_KEY = "tenants:generation"


def _cache():
    return caches["platform"]


def _generation():
    cache = _cache()
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, time.time_ns(), None)  # unique across restarts of the cache
        generation = cache.get(GENERATION_KEY)
    return generation


def tenant_for_host(host):
    """The tenant of this host name (Domain.DoesNotExist when none)."""
    key = f"tenants:host:{_generation()}:{host}"
    tenant = _cache().get(key)
    if tenant is None:
        tenant = Domain.objects.select_related("tenant").get(domain=host).tenant
        _cache().set(key, tenant, settings.TENANT_CACHE_SECONDS)
    return tenant


def forget_tenants():
    """Stop using every cached host → tenant mapping."""
    cache = _cache()
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet, or it was evicted
        cache.set(GENERATION_KEY, time.time_ns(), None)
