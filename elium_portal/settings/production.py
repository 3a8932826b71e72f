"""Production: every secret must come from the environment; nothing is generated, nothing
defaults. Starting without one fails at once with the variable's name."""

from .base import *  # noqa: F403
from .base import database_from_env_or_embedded, env

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
TOKEN_PEPPER = env.str("TOKEN_PEPPER")
CREDENTIALS_KEY = env.str("CREDENTIALS_KEY")
_ = env.str("DATABASE_URL")  # production never starts the embedded server
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL").rstrip("/")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
DATABASES = {"default": database_from_env_or_embedded(None)}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]
