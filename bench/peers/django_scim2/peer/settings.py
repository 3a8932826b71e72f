"""The django-scim2 peer: as small as django-scim2 allows, same database settings as the
project (persistent connections), DEBUG off."""

import os

SECRET_KEY = os.environ.get("PEER_SECRET_KEY", "peer-benchmark-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_scim",
    "peer",
]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "peer.auth.BearerTokenMiddleware",
]
ROOT_URLCONF = "peer.urls"
WSGI_APPLICATION = "peer.wsgi.application"
AUTH_USER_MODEL = "peer.User"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PEER_DB_NAME"],
        "USER": os.environ.get("PEER_DB_USER", ""),
        "PASSWORD": os.environ.get("PEER_DB_PASSWORD", ""),
        "HOST": os.environ.get("PEER_DB_HOST", ""),
        "PORT": os.environ.get("PEER_DB_PORT", ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": os.environ.get("PEER_CONN_HEALTH_CHECKS", "") == "1",
    }
}

PEER_TOKEN = os.environ.get("PEER_TOKEN", "")
PEER_SERVICE_USER = "scim-service"

SCIM_SERVICE_PROVIDER = {
    "NETLOC": os.environ.get("PEER_NETLOC", "127.0.0.1"),
    "SCHEME": "http",
    "GROUP_MODEL": "peer.models.Group",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
        }
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="SCIM"',
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # django-scim2 logs every request and response body at INFO; a deployment keeps WARNING.
    "loggers": {"django_scim": {"level": "WARNING"}},
}
