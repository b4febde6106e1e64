"""django-tenants' PostgreSQL backend, made safe behind a transaction-mode pooler (SPEC §10).

django-tenants selects a tenant with `SET search_path`, once per connection and tenant. Behind
PgBouncer in `pool_mode = transaction` a client's statements run on whichever server
connection is free when each transaction starts, so that SET can land on one server
connection and the next query on another, which still has some other tenant's path: one
university would read another's rows.

With `DATABASES[...]["POOL_MODE"] == "transaction"` (`DATABASE_POOL_MODE=transaction`) this
backend never relies on a connection's session state:
- every statement carries its tenant's path in the same message (`SET search_path = …;
  <statement>`): PostgreSQL runs a multi-statement message as one transaction, which the
  pooler keeps on one server connection, and inside a transaction the SET holds for the rest
  of it on that same connection;
- COPY and server-side cursors (the export's streaming read) need a transaction of their own,
  so the path is set inside it first; in autocommit an iterator falls back to a plain cursor
  (a `WITH HOLD` cursor would outlive its transaction on a connection the pooler hands on);
- no prepared statements: psycopg's `prepare_threshold` stays off, whatever OPTIONS say, and
  `prepared_statements` changes nothing (PgBouncer before 1.21 cannot route them).
Time zone and client encoding are parameters PgBouncer itself keeps per client.

With the default (`session`) it is django-tenants' backend, but for one thing: a connection
keeps its tenant's path across requests of the same tenant (`path_on_connection` below), so
`SET search_path` is sent when the connection changes tenants or a rollback may have undone it,
not at the start of every request.

With the default mode the few hot reads compiled once (config.compiled: the Bearer token, a
session and its user, the list's first page and programme options, a student's detail) run as
prepared statements (`prepared_statements`, `PreparingCursor`): their values bound by the server,
each statement parsed and planned once per connection and then only executed. Parsing and
planning was most of PostgreSQL's time for them (the list's first page: 0.68 ms a run, 0.26 ms
prepared; bench/README.md). A statement prepared in one tenant is parsed again by PostgreSQL
when the connection's search_path changes, so it reads the tables of the tenant it runs in;
psycopg keeps the 100 most recently used per connection. Every other statement is bound by the
client, as Django does by default.

With the default mode each new connection also turns off PostgreSQL's JIT compilation for
its session (`SESSION_SETTINGS`). JIT is on by default in servers built with LLVM (Debian's
and most packaged ones; the embedded server has none), and it starts compiling once a
statement's estimated cost passes `jit_above_cost`, which the list's files and the gradebook
of a large tenant do: the gradebook's statement for 98,010 students spent 0.8 s compiling and
took 3.5 s, against 2.8–2.9 s with JIT off (bench/README.md). Nothing here runs long enough
to repay the compiling. Behind a transaction pooler a SET would stay on whichever
server connection it reached, so there it is left to the server (`ALTER ROLE … SET jit = off`,
README "Scaling out").

In both modes timestamps load in C: Django reads every `timestamptz` through a Python loader
(psycopg's pure-Python parser, then `replace(tzinfo=…)`), about 4 µs a value, which was most of
the time of a busy student's detail (hundreds of sessions, two timestamps each). When Django's
time zone is UTC, the session's is too, and psycopg's own (C) loader gives the same datetimes,
with `datetime.timezone.utc`.
"""
import datetime as dt
import select
from contextlib import contextmanager
from functools import lru_cache
from typing import cast

from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, Cursor, ServerBindingCursor
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.utils import quote_schema_name
from psycopg import adapt, adapters
from psycopg.abc import Loader
from psycopg.pq import ConnStatus, Format, TransactionStatus

from config.postgresql.introspection import SchemaIntrospection

# What every session-mode connection sets once, when it is made (the module's docstring).
SESSION_SETTINGS = "SET jit = off"


class PathCarryingCursor(Cursor):
    """A client-side-binding cursor that sends its tenant's search_path with every statement."""

    search_path_sql = None  # "SET search_path = …;", set by the connection that made the cursor

    def execute(self, query, params=None, **kwargs):
        if self.search_path_sql is None or not isinstance(query, str):
            return super().execute(query, params, **kwargs)
        prefix = self.search_path_sql.replace("%", "%%") if params is not None else self.search_path_sql
        result = super().execute(f"{prefix} {query}", params, **kwargs)
        self.nextset()  # the caller's statement, not the SET
        return result

    def executemany(self, query, params_seq, **kwargs):
        self._within_transaction("executemany")
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        self._within_transaction("COPY")
        return super().copy(statement, params, **kwargs)

    def _within_transaction(self, what):
        if self.search_path_sql is None:
            return
        if self.connection.autocommit:
            raise RuntimeError(f"{what} behind a transaction-mode pooler must run inside transaction.atomic()")
        super().execute(self.search_path_sql)  # pinned to this transaction's server connection


# psycopg prepares a statement of a server-binding cursor once it has run this many times on a
# connection; here only PreparingCursor's statements are prepared, each on its first run.
PREPARE_WHEN_ASKED = 2**31 - 1


class PreparingCursor(ServerBindingCursor):
    """A cursor whose statements are prepared on their connection: parameters bound by the
    server, the statement parsed and planned once per connection (psycopg keeps them, the most
    recently used 100), then only executed. Not a SET: django-tenants sends `SET search_path`
    on the cursor it hands out, one text per tenant, and a connection that served many tenants
    would fill psycopg's 100 with them and push out the reads worth keeping."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        setting = isinstance(query, str) and query.startswith("SET ")
        return super().execute(query, params, prepare=not setting, binary=binary)


class DatabaseOperations(PostgresOperations):
    def last_executed_query(self, cursor, sql, params):
        """A prepared statement's as the SQL it ran with its values in place (psycopg keeps no
        text of an execution by name), as for the other cursors."""
        if isinstance(cursor, PreparingCursor):
            return self.compose_sql(sql, params)
        return super().last_executed_query(cursor, sql, params)


_TIMESTAMPTZ_LOADER = adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)  # psycopg's own: C with psycopg[binary]


class UtcTimestamptzLoader:
    """Registered as the `timestamptz` loader; makes psycopg's own loader. `timezone` is what
    Django's create_cursor compares with the connection's before registering its own loader."""

    timezone = dt.timezone.utc
    format = Format.TEXT

    def __new__(cls, oid, context=None):
        assert _TIMESTAMPTZ_LOADER is not None  # psycopg always has one
        return _TIMESTAMPTZ_LOADER(oid, context)


@lru_cache
def _utc_adapters(template):
    context = adapt.AdaptersMap(template)
    # psycopg only calls the class it is given, to make a loader: this one makes psycopg's own.
    context.register_loader("timestamptz", cast(type[Loader], UtcTimestamptzLoader))
    return context


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.introspection = SchemaIntrospection(self)
        self.preparing = False

    @contextmanager
    def prepared_statements(self):
        """Cursors made inside the block prepare their statements (PreparingCursor), in session
        mode; behind a transaction pooler they are plain cursors."""
        self.preparing, before = not self.transaction_pooling, self.preparing
        try:
            yield
        finally:
            self.preparing = before

    @property
    def transaction_pooling(self):
        return self.settings_dict.get("POOL_MODE") == "transaction"

    def get_connection_params(self):
        params = super().get_connection_params()
        if self.timezone is dt.timezone.utc and "context" in params:
            params["context"] = _utc_adapters(params["context"])
        if self.transaction_pooling:
            params["prepare_threshold"] = None
            params["cursor_factory"] = PathCarryingCursor
        else:
            params["prepare_threshold"] = PREPARE_WHEN_ASKED
        return params

    def _configure_connection(self, connection):
        commit = super()._configure_connection(connection)
        if self.transaction_pooling:
            return commit
        with connection.cursor() as cursor:
            cursor.execute(SESSION_SETTINGS)
        return True  # committed by Django when the connection is not in autocommit yet

    def _search_path_sql(self):
        paths = ",".join(quote_schema_name(s) for s in self._get_cursor_search_paths())
        return f"SET search_path = {paths};"

    def create_cursor(self, name=None):
        if self.preparing and name is None:
            return PreparingCursor(self.connection)
        cursor = super().create_cursor(name)
        if self.transaction_pooling and name is None:
            cursor.search_path_sql = self._search_path_sql()
        return cursor

    def _cursor(self, name=None):
        if not self.transaction_pooling:
            return super()._cursor(name)
        # Skip django-tenants' once-per-connection SET: plain cursors carry the path themselves.
        cursor = super(tenants_base.DatabaseWrapper, self)._cursor(name)
        if name is not None:
            # A server-side cursor is declared inside this transaction: set the path in it first.
            with self.connection.cursor() as setter:
                setter.execute(self._search_path_sql())
        return cursor

    # The search_path this connection's session has now (a list, as django-tenants makes it), or
    # None when unknown. django-tenants forgets the path at every set_tenant, so each request
    # sent `SET search_path` again, one more round trip, though a worker's connection mostly
    # serves one request of a tenant after another of the same; this remembers it across
    # set_tenant, and forgets it whenever django-tenants has reason to (a rollback, a closed
    # connection).
    path_on_connection: list[str] | None = None
    search_path_set_schemas: list[str] | None  # django-tenants' own: the path it last sent

    def set_tenant(self, tenant, include_public=True):
        super().set_tenant(tenant, include_public)
        known = self.path_on_connection
        if known is not None and not self.transaction_pooling and known == self._get_cursor_search_paths():
            self.search_path_set_schemas = known

    def _handle_search_path(self, cursor=None):
        super()._handle_search_path(cursor)
        self.path_on_connection = self.search_path_set_schemas

    def close(self):
        self.path_on_connection = None
        super().close()

    def rollback(self):
        self.path_on_connection = None
        super().rollback()

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            self.path_on_connection = None

    def is_usable(self):
        """CONN_HEALTH_CHECKS' check before a request reuses the connection, without a round trip
        while nothing came from the server unasked. A server that stops, restarts, fails over or
        ends this backend (pg_terminate_backend, idle timeouts) first sends an error and closes
        the socket, so an idle connection's socket is readable exactly when it may be broken:
        then, or in any state but idle, Django's own check (`SELECT 1`) decides."""
        if self.connection is None:
            return False
        pgconn = self.connection.pgconn
        if pgconn.status != ConnStatus.OK or pgconn.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError):
            return False
        return super().is_usable() if readable else True

    def chunked_cursor(self):
        if self.transaction_pooling and self.get_autocommit():
            return self._cursor()
        return super().chunked_cursor()
