"""Tests: a throwaway embedded PostgreSQL (deleted when the run ends) unless ``DATABASE_URL``
is set. Secrets are fixed, non-secret test values."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import database_from_env_or_embedded, env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
TOKEN_PEPPER = "test-token-pepper"  # noqa: S105
CREDENTIALS_KEY = "dGVzdC1jcmVkZW50aWFscy1rZXktMzItYnl0ZXMhISE="  # 32 bytes, base64url

ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; tests only
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

DATABASES = {
    "default": database_from_env_or_embedded(
        Path(tempfile.mkdtemp(prefix="elium-test-pg-")), cleanup_mode="delete"
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = 0

# The token cache's listener thread holds a connection of its own; the tests that are about it
# turn it on (tests/elium_portal/test_token_cache.py, for web processes they start through the
# environment), every other test reads tokens as before.
SCIM_TOKEN_CACHE = env.bool("SCIM_TOKEN_CACHE", default=False)

PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://testserver")

# Serve static files straight from the source tree: tests never run collectstatic.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
