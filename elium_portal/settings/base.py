"""Settings shared by every environment. Everything comes from the environment through one
``environ.Env()``; the environment modules decide defaults (``local``/``test``) or refuse to start
without values (``production``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
PORT = env.int("PORT", default=8000)
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # OpClass indexes (text_pattern_ops for the admin's prefix searches) need its wrappers.
    "django.contrib.postgres",
    "rest_framework",
    "procrastinate.contrib.django",
    "axes",
    "elium_portal",
    "scim_api",
    "provisioning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "elium_portal.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: refuses sign-ins of a locked-out username or address.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in throttling (django-axes), on the console and the admin login alike: after
# LOGIN_FAILURE_LIMIT failures a username, and separately a client address, is locked for
# LOGIN_LOCKOUT_MINUTES; support unlocks earlier in the admin (Axes › Access attempts) or with
# `manage.py axes_reset_username USERNAME`. A success resets the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "elium_portal.views.login_locked_out"
AXES_VERBOSE = False

# Content-Security-Policy on every response: scripts and styles only from this origin (htmx and
# the app's scripts are static files; no inline script, no eval). Inline style *attributes*
# stay allowed for computed widths such as progress bars.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

ROOT_URLCONF = "elium_portal.urls"
WSGI_APPLICATION = "elium_portal.wsgi.application"

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
                "elium_portal.context_processors.portal",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="elium-portal@localhost")

# Procrastinate: tasks live in each app's ``tasks.py``.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
# The background worker's garbage collector is tuned as the web workers' is (runtime.py).
PROCRASTINATE_ON_APP_READY = "elium_portal.runtime.on_procrastinate_app_ready"

# How long ago a worker heartbeat may be before /healthz calls the workers stale.
WORKER_HEARTBEAT_STALE_SECONDS = 60
# A job whose worker has sent no heartbeat for this long belongs to a dead worker and is
# requeued (procrastinate workers beat every 10 s).
WORKER_STALLED_SECONDS = env.int("WORKER_STALLED_SECONDS", default=45)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "procrastinate": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        # One line per outbound request would drown the provisioning engine's own log.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}


def database_from_env_or_embedded(pgdata: Path, *, cleanup_mode: str | None = "stop") -> dict:
    """``DATABASE_URL`` when set, else the embedded PostgreSQL in ``pgdata``."""
    url = env.str("DATABASE_URL", default="")
    if not url:
        from elium_portal.embedded_db import start_embedded_postgres

        url = start_embedded_postgres(pgdata, cleanup_mode=cleanup_mode)
    config = env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise environ.ImproperlyConfigured("DATABASE_URL must point at PostgreSQL")
    # Django's PostgreSQL backend; its health check of a reused connection needs no round trip
    # (elium_portal/dbbackend/base.py).
    config["ENGINE"] = "elium_portal.dbbackend"
    config.setdefault("CONN_MAX_AGE", 60)
    config["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # Server-side parameter binding, and statements prepared on their 5th run on a
        # connection (psycopg's prepare_threshold): PostgreSQL parses and plans the SCIM API's
        # and the engine's hot statements once per connection instead of on every request.
        # Turn off behind a connection pooler that does not keep prepared statements.
        config.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    return config


# SCIM API limits.
SCIM_MAX_PAGE_SIZE = env.int("SCIM_MAX_PAGE_SIZE", default=200)
SCIM_MAX_REQUEST_BYTES = env.int("SCIM_MAX_REQUEST_BYTES", default=1_048_576)
SCIM_RATE_LIMIT_PER_SECOND = env.float("SCIM_RATE_LIMIT_PER_SECOND", default=100.0)
SCIM_RATE_LIMIT_BURST = env.int("SCIM_RATE_LIMIT_BURST", default=200)
# Failed authentications an address may make per minute before it is refused unauthenticated.
SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE = env.int("SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE", default=20)
SCIM_REQUEST_LOG_DAYS = env.int("SCIM_REQUEST_LOG_DAYS", default=14)
#: How long the change feed (Settings › People › Provisioning activity) keeps its rows.
SCIM_CHANGE_FEED_DAYS = env.int("SCIM_CHANGE_FEED_DAYS", default=90)
#: Keep each SCIM token with its tenant in the web process, emptied by PostgreSQL notifications
#: (elium_portal/services/token_cache.py): no database read to authenticate a request.
SCIM_TOKEN_CACHE = env.bool("SCIM_TOKEN_CACHE", default=True)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, SCIM_MAX_REQUEST_BYTES + 1)

# The Azure side: the directory product's name in labels ("Azure Active Directory" or
# "Microsoft Entra ID"), and where the provisioning service may send requests.
AZURE_DIRECTORY_PRODUCT_NAME = env.str("AZURE_DIRECTORY_PRODUCT_NAME", default="Microsoft Entra ID")
PROVISIONING_ALLOW_LOOPBACK = env.bool("PROVISIONING_ALLOW_LOOPBACK", default=True)
PROVISIONING_ALLOW_PRIVATE_NETWORKS = env.bool("PROVISIONING_ALLOW_PRIVATE_NETWORKS", default=False)

# The provisioning engine (the Azure side's cycles).
PROVISIONING_CHUNK_SIZE = env.int("PROVISIONING_CHUNK_SIZE", default=200)
PROVISIONING_CONCURRENCY = env.int("PROVISIONING_CONCURRENCY", default=8)
PROVISIONING_HTTP_TIMEOUT = env.float("PROVISIONING_HTTP_TIMEOUT", default=30.0)
PROVISIONING_MAX_RETRY_AFTER = env.float("PROVISIONING_MAX_RETRY_AFTER", default=60.0)
PROVISIONING_COMPLETE_FAILURES_BEFORE_QUARANTINE = env.int(
    "PROVISIONING_COMPLETE_FAILURES_BEFORE_QUARANTINE", default=3
)
PROVISIONING_ESCROW_EVALUATION_MIN = env.int("PROVISIONING_ESCROW_EVALUATION_MIN", default=5000)
PROVISIONING_ESCROW_PROPORTION = env.float("PROVISIONING_ESCROW_PROPORTION", default=0.40)
PROVISIONING_ESCROW_BASE_THRESHOLD = env.int("PROVISIONING_ESCROW_BASE_THRESHOLD", default=40000)
PROVISIONING_ESCROW_TOTAL_THRESHOLD = env.int("PROVISIONING_ESCROW_TOTAL_THRESHOLD", default=60000)
PROVISIONING_LOG_RETENTION_DAYS = env.int("PROVISIONING_LOG_RETENTION_DAYS", default=30)
PROVISIONING_EMAIL_FROM = env.str("PROVISIONING_EMAIL_FROM", default=DEFAULT_FROM_EMAIL)
# Uploaded directory files larger than this are imported by a worker, with a progress bar.
PROVISIONING_IMPORT_BACKGROUND_BYTES = env.int(
    "PROVISIONING_IMPORT_BACKGROUND_BYTES", default=262_144
)
