"""Production: every secret must come from the environment; nothing is generated, nothing
defaults. Starting without one, or with one too short to be a real secret, fails at once with the
variable's name. docs/operations.md lists the environment; `manage.py check --deploy` is clean
with it."""

import environ

from .base import *  # noqa: F403
from .base import database_from_env_or_embedded, env

MIN_SECRET_LENGTH = 32


def _secret(name: str) -> str:
    value = env.str(name)
    if len(value) < MIN_SECRET_LENGTH:
        raise environ.ImproperlyConfigured(
            f"{name} is {len(value)} characters long; a production secret needs at least "
            f"{MIN_SECRET_LENGTH} random characters."
        )
    return value


SECRET_KEY = _secret("DJANGO_SECRET_KEY")
TOKEN_PEPPER = _secret("TOKEN_PEPPER")
CREDENTIALS_KEY = _secret("CREDENTIALS_KEY")
_ = env.str("DATABASE_URL")  # production never starts the embedded server
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL").rstrip("/")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
DATABASES = {"default": database_from_env_or_embedded(None)}

# HTTPS. Behind a TLS-terminating proxy, the proxy must set X-Forwarded-Proto (and strip it from
# clients); then Django knows the request was secure, redirects plain HTTP and sends HSTS.
# /healthz stays reachable over plain HTTP for load-balancer probes.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

# The provisioning engine may not call this machine's own addresses in production unless the
# operator says so (the demo of `make run` provisions into itself; a real installation
# provisions into remote SaaS apps).
PROVISIONING_ALLOW_LOOPBACK = env.bool("PROVISIONING_ALLOW_LOOPBACK", default=False)
