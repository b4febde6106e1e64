"""Reads that tolerate lag go to a read replica; everything else to the primary (SPEC §10).

`DATABASE_REPLICA_URL` names one or more streaming replicas (aliases `replica_1`, `replica_2`,
…). Nothing is sent to them unless a view says its reads may lag: the console list and its
export, the dashboard, group results and the participants dashboard wrap their work in
`lag_tolerant_reads(request)` (or use `LagTolerantReadsMixin` / `@lag_tolerant`), after
authentication, so a token, a session or a permission is always read on the primary and a
revoked token stops working at once. Inside that block the ORM is routed by `ReplicaRouter`,
and raw SQL asks `reads_connection()`; one replica is chosen per request, so a page and its
count come from one server.

Read-your-writes: a staff member whose request wrote something (any unsafe method answered
below 400) is remembered in the shared cache for `READ_YOUR_WRITES_SECONDS`; during that
window their lag-tolerant reads go to the primary too, so the list shows the record they
just edited and the export has the grant they just made. With several app servers the cache
must be shared (`REDIS_URL`), as for sessions' throttles. Reads that must never lag (a
student's detail, attempts, records and their incremental sync, every write's own reads)
never use a replica.
"""
import random
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections

REPLICA_PREFIX = "replica_"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

_reads: "ContextVar[_Reads | None]" = ContextVar("lag_tolerant_reads", default=None)


def replica_aliases():
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def _wrote_key(user):
    return f"read-your-writes:{user.pk}"


def remember_write(user):
    """The user just wrote: their lag-tolerant reads use the primary for a while."""
    if replica_aliases() and settings.READ_YOUR_WRITES_SECONDS:
        cache.set(_wrote_key(user), 1, timeout=settings.READ_YOUR_WRITES_SECONDS)


class _Reads:
    def __init__(self, request):
        self.request = request
        self.alias = None

    def choose(self):
        if self.alias is None:
            self.alias = _choose_alias(self.request)
        return self.alias


def _choose_alias(request):
    aliases = replica_aliases()
    if not aliases:
        return DEFAULT_DB_ALIAS
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and cache.get(_wrote_key(user)):
        return DEFAULT_DB_ALIAS
    alias = random.choice(aliases)
    follow_tenant(alias)
    return alias


def follow_tenant(alias):
    """Point `alias`'s connection at the primary connection's tenant: django-tenants selects
    the tenant on the default connection only."""
    if alias == DEFAULT_DB_ALIAS:
        return
    replica = connections[alias]
    if getattr(replica, "schema_name", None) != connection.schema_name:
        replica.set_tenant(connection.tenant)


@contextmanager
def lag_tolerant_reads(request):
    """Within the block, reads go to one replica (unless the user wrote recently or none is
    configured). Nested blocks keep the outer block's choice."""
    if _reads.get() is not None or request.method not in SAFE_METHODS:
        yield
        return
    token = _reads.set(_Reads(request))
    try:
        yield
    finally:
        _reads.reset(token)


def read_alias():
    """The alias lag-tolerant reads use now: a replica, the primary, or None outside a block."""
    state = _reads.get()
    return None if state is None else state.choose()


def reads_connection():
    """The connection for a raw-SQL read: this request's replica inside a lag-tolerant block,
    else the primary."""
    return connections[read_alias() or DEFAULT_DB_ALIAS]


def lag_tolerant(view):
    """Decorator for a function view (put it under login_required, so the session is read
    on the primary)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        with lag_tolerant_reads(request):
            return view(request, *args, **kwargs)

    return wrapper


if TYPE_CHECKING:
    # The mixin's super() is a DRF view. Imported for the type checker only: this module (the
    # database router) does not import DRF at run time.
    from rest_framework.views import APIView as _ViewBase
else:
    _ViewBase = object


class LagTolerantReadsMixin(_ViewBase):
    """For a DRF view: authentication, permissions and throttles run on the primary, then the
    handler's reads may use a replica."""

    _lag_tolerant_block = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._lag_tolerant_block = lag_tolerant_reads(request)
        self._lag_tolerant_block.__enter__()

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            block, self._lag_tolerant_block = self._lag_tolerant_block, None
            if block is not None:
                block.__exit__(None, None, None)


class ReplicaRouter:
    """ORM reads inside a lag-tolerant block go to its replica; writes and migrations to the primary."""

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db.startswith(REPLICA_PREFIX) else None


class ReadYourWritesMiddleware:
    """Remembers who wrote, after the view (DRF puts its authenticated user on the request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and response.status_code < 400:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                remember_write(user)
        return response
