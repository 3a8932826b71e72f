"""Development: ``make run`` and ``manage.py`` on a workstation. Missing secrets are generated
once into ``var/`` and reused; the database is the embedded PostgreSQL unless ``DATABASE_URL``
is set."""

from elium_portal.dev_secrets import load_or_create

from .base import *  # noqa: F403
from .base import VAR_DIR, database_from_env_or_embedded, env

_dev = load_or_create(VAR_DIR / "dev-secrets.json")

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_dev["DJANGO_SECRET_KEY"])
TOKEN_PEPPER = env.str("TOKEN_PEPPER", default=_dev["TOKEN_PEPPER"])
CREDENTIALS_KEY = env.str("CREDENTIALS_KEY", default=_dev["CREDENTIALS_KEY"])

DATABASES = {"default": database_from_env_or_embedded(VAR_DIR / "pgdata")}
