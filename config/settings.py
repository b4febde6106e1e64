"""Settings, from the environment through config.env (bad values fail at start-up)."""
from pathlib import Path
from typing import Any

from csp.constants import NONE, SELF

from config.database import database_settings
from config.env import env_bool, env_choice, env_int, env_list, env_str, env_token
from config.observability import LOG_LEVELS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ("dev-only-insecure-key" if DEBUG else None)
if SECRET_KEY is None:
    # A stable per-checkout key, so sessions survive restarts in development; set SECRET_KEY in production.
    _key_file = BASE_DIR / "var" / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.parent.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()

# Any *.localhost host works in development with no /etc/hosts edits.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [".localhost", "localhost", "127.0.0.1", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# How many reverse proxies in front of the app append to X-Forwarded-For. 0 (the default):
# the client address is the connection's; N: the Nth address from the right of the header.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
# Sign-in (token endpoint and HTML login): failed attempts allowed per account and per client
# address in each window before further attempts are refused with 429 until it ends.
# Audit events older than this are pruned by `manage.py prune_audit_events` (run it daily).
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 730, minimum=1)
# Change-feed events (accounts.events) older than this are pruned; a feed cursor from before
# them is answered 410 CURSOR_EXPIRED.
EVENTS_RETENTION_DAYS = env_int("EVENTS_RETENTION_DAYS", 30, minimum=1)
SIGN_IN_WINDOW_SECONDS = env_int("SIGN_IN_WINDOW_SECONDS", 900, minimum=1)
SIGN_IN_FAILURES_PER_ACCOUNT = env_int("SIGN_IN_FAILURES_PER_ACCOUNT", 10, minimum=1)
SIGN_IN_FAILURES_PER_ADDRESS = env_int("SIGN_IN_FAILURES_PER_ADDRESS", 50, minimum=1)


def _totp_issuer(device):
    """The name an authenticator app lists a TOTP code under: the tenant's, at enrolment."""
    from django.db import connection

    return getattr(getattr(connection, "tenant", None), "name", "") or "Student Operations Console"


# The second factor (django-otp, accounts.twofactor). Wrong codes are also counted by the
# sign-in limits above; keys and recovery codes are never shown in the Django admin.
OTP_TOTP_ISSUER = _totp_issuer
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

SHARED_APPS = [
    "tenants",  # before django_tenants: our create_tenant command replaces its interactive one
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "accounts",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.postgres",
    "django.contrib.humanize",  # thousands separators on the console's numbers
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our own static files
    "procrastinate.contrib.django",  # the one job queue (tenants.jobs), its tables in the public schema
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "accounts",
    "django.contrib.sessions",
    "django.contrib.admin",
    # The second factor (accounts.twofactor): TOTP devices and recovery codes, in each tenant's schema.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "catalogue",
    "students",
    "attempts",
    "console",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
DEFAULT_NOT_FOUND_TENANT_VIEW = "tenants.routing.views.no_tenant"
# Lag-tolerant reads to replicas (config/replicas.py), then django-tenants' migration routing.
DATABASE_ROUTERS = ("config.replicas.ReplicaRouter", "django_tenants.routers.TenantSyncRouter")
TENANT_MULTIPROCESSING_MAX_PROCESSES = env_int("MIGRATION_PROCESSES", 2, minimum=1, maximum=64)
TENANT_LIMIT_SET_CALLS = True  # SET search_path only when the tenant changes, not before every query

MIDDLEWARE = [
    "config.observability.RequestIdMiddleware",  # request id + access log around everything
    "config.metrics.RequestMetricsMiddleware",  # every request counted and timed, by route
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy on every response
    "config.middleware.PrivateCacheMiddleware",  # no shared or stored copies of personal data
    "config.health.HealthMiddleware",  # /healthz, /readyz: before any database work
    "config.metrics.MetricsEndpointMiddleware",  # /metrics (with METRICS_TOKEN): before the tenant lookup
    "config.middleware.QueryStringLimitMiddleware",  # a query string over 8,000 bytes: 400, no database
    "config.middleware.RejectNulMiddleware",  # NUL in a path or query string: 400, no database
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files need no tenant (the 503 page's CSS)
    "tenants.routing.middleware.CachedTenantMiddleware",  # host → tenant, cached; 503 when the database is down
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.audit.middleware.AuditRequestMiddleware",  # who, from where: for the audit trail
    "config.replicas.ReadYourWritesMiddleware",  # who just wrote reads the primary for a while
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.ApiErrorMiddleware",
]

# No inline script anywhere (the console's JS and Swagger UI's are files served from here).
# Inline style attributes stay allowed: the meters draw their widths with them, and every
# value in a template is escaped, so no request can add markup that uses it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False  # every API path answers with and without the slash itself

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.webhooks.context.webhook_notice",  # admins: endpoints disabled for failing
            ],
        },
    }
]

DATABASES = database_settings(BASE_DIR)
# After a staff member writes, their lag-tolerant reads stay on the primary this long.
READ_YOUR_WRITES_SECONDS = env_int("READ_YOUR_WRITES_SECONDS", 15, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.StaffUser"
# A session's user and their permission strings in one statement (accounts.backends); ModelBackend
# stays listed for the sessions it signed in, and is never asked to check a password.
AUTHENTICATION_BACKENDS = ["accounts.backends.StaffBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:students"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

_redis_url = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Several deployments (or test runs) may share one Redis: each keeps its own keys.
CACHES["default"]["KEY_PREFIX"] = env_str("CACHE_KEY_PREFIX", "")
# The platform's own entries (which tenant a host names), whatever schema is active.
CACHES["platform"] = {**CACHES["default"], "KEY_PREFIX": f"{CACHES['default']['KEY_PREFIX']}platform"}
# At most this many host → tenant entries per process (local memory; oldest used dropped
# first), whatever the number of tenants; in Redis each lives TENANT_CACHE_SECONDS.
TENANT_CACHE_ENTRIES = env_int("TENANT_CACHE_ENTRIES", 5000, minimum=10)
if not _redis_url:
    CACHES["platform"]["LOCATION"] = "platform"  # local memory: its own store, not the default's
    CACHES["platform"]["OPTIONS"] = {"MAX_ENTRIES": TENANT_CACHE_ENTRIES, "CULL_FREQUENCY": 10}
# Every other cache key carries the tenant's schema, so tenants never read each other's entries.
CACHES["default"]["KEY_FUNCTION"] = "django_tenants.cache.make_key"
CACHES["default"]["REVERSE_KEY_FUNCTION"] = "django_tenants.cache.reverse_key"
# How long a process that shares no cache with the others (no REDIS_URL) may use a host →
# tenant mapping after a change made elsewhere (tenants.routing.selectors).
TENANT_CACHE_SECONDS = env_int("TENANT_CACHE_SECONDS", 60, minimum=0)
# `SET search_path` only when a connection changes tenants (or a rollback may have undone it),
# not once per query; config/postgresql keeps it across requests of the same tenant.
TENANT_LIMIT_SET_CALLS = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": env_str("FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024

# Database sessions, their read compiled once (config.sessions).
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "config.renderers.JSONRenderer",  # DRF's JSON, written by orjson when the data is plain
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON bodies only (a form is a 415); the avatar upload alone reads multipart.
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.filter_schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"auth": env_str("AUTH_THROTTLE_RATE", "20/min")},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,  # throttles key on the same client address as sign-in
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Student Operations Console API",
    "DESCRIPTION": "Find students, export lists, read attempt history, grant attempts, keep records in sync.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.document_shared_errors",
    ],
    "SCHEMA_PATH_PREFIX": r"/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Several serializers have a field named `status`/`role` with different choice sets: name them.
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "attempts.models.Session.Status",
        "TranscriptStatusEnum": "attempts.models.Session.TranscriptStatus",
        "GradingStatusEnum": "attempts.models.Session.GradingStatus",
        "TranscriptRoleEnum": "attempts.models.TranscriptMessage.Role",
        "StudentStatusEnum": "students.models.Student.Status",
        # Named here because other bodies have a `kind` too (the identity providers' below).
        "KindEnum": "console.list_files.kinds.FILE_KINDS",
        "IdentityProviderKindEnum": "accounts.identity.models.IdentityProvider.KINDS",
    },
}

# The Bearer token a Prometheus scrape of /metrics sends (config.metrics); unset: no /metrics.
METRICS_TOKEN = env_token("METRICS_TOKEN", min_length=16)

# One access-log line per request plus warnings and errors, as text or JSON lines.
LOG_FORMAT = env_choice("LOG_FORMAT", ("text", "json"), "text")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_choice("LOG_LEVEL", LOG_LEVELS, "WARNING"))

# Tenants (tenants.backups): where a deleted tenant's final backup is written before it is
# purged, and the days between `tenant_delete` and the purge.
TENANT_BACKUP_DIR = env_str("TENANT_BACKUP_DIR", str(BASE_DIR / "var" / "backups"))
TENANT_DELETE_RETENTION_DAYS = env_int("TENANT_DELETE_RETENTION_DAYS", 30, minimum=0)

EXPORT_MAX_ROWS = env_int("EXPORT_MAX_ROWS", 50_000, minimum=1)
# Background exports (console.exports): how long a finished file is kept.
EXPORT_FILE_HOURS = env_int("EXPORT_FILE_HOURS", 24, minimum=1)

# The job queue (tenants.jobs, procrastinate): worker processes config.serve starts beside
# gunicorn (0: run `manage.py jobs_worker` elsewhere), jobs each runs at once, seconds between
# looks for due jobs (new ones arrive by NOTIFY; this bounds a scheduled retry's lateness),
# seconds without a worker heartbeat before its running jobs are queued again, seconds running
# jobs get to finish on SIGTERM, and hours finished jobs are kept.
JOB_WORKERS = env_int("JOB_WORKERS", 1, minimum=0, maximum=16)
JOB_CONCURRENCY = env_int("JOB_CONCURRENCY", 4, minimum=1, maximum=64)
JOB_POLL_SECONDS = env_int("JOB_POLL_SECONDS", 5, minimum=1, maximum=300)
JOB_STALLED_SECONDS = env_int("JOB_STALLED_SECONDS", 30, minimum=5)
JOB_STALLED_CHECK_SECONDS = int(env_choice("JOB_STALLED_CHECK_SECONDS", ("5", "10", "15", "20", "30", "60"), "60"))
JOB_SHUTDOWN_SECONDS = env_int("JOB_SHUTDOWN_SECONDS", 5, minimum=0)
JOB_KEEP_HOURS = env_int("JOB_KEEP_HOURS", 72, minimum=1)
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"  # each app's tasks.py declares its tasks

# Webhooks (console.webhooks): whether targets on private, loopback, link-local or other
# non-public addresses (and plain http) are allowed — on with DEBUG, for development; seconds an
# attempt may take; hours an endpoint may keep failing before it is disabled; hours a rotated-out
# secret still signs beside the new one; the first retry's delay in seconds (each next one
# doubles, with jitter, up to an hour).
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", DEBUG)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
WEBHOOK_DISABLE_AFTER_HOURS = env_int("WEBHOOK_DISABLE_AFTER_HOURS", 24, minimum=1)
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 5, minimum=1, maximum=3600)

# Staff sign-in through identity providers (accounts.identity, console.auth): whether an OpenID
# Connect provider's documents may be fetched from private, loopback or other non-public
# addresses and over plain http (on with DEBUG); the clock skew allowed on ID tokens' and SAML
# assertions' times; seconds a request to a provider may take.
SSO_ALLOW_PRIVATE = env_bool("SSO_ALLOW_PRIVATE", DEBUG)
SSO_CLOCK_SKEW_SECONDS = env_int("SSO_CLOCK_SKEW_SECONDS", 60, minimum=0, maximum=600)
SSO_TIMEOUT_SECONDS = env_int("SSO_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
