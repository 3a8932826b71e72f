"""Settings: production refuses to start without its secrets; development generates them
once and reuses them."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from elium_portal.dev_secrets import load_or_create

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "TOKEN_PEPPER": "pepper",
    "CREDENTIALS_KEY": "dGVzdC1jcmVkZW50aWFscy1rZXktMzItYnl0ZXMhISE=",
    "PUBLIC_BASE_URL": "https://portal.example.com",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
}


def run_django_setup(env_overrides, *, without=()):
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DATABASE_URL"}
    env.update(env_overrides)
    for name in without:
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "elium_portal.settings.production"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def production_env(database_url):
    return {**PRODUCTION_ENV, "DATABASE_URL": database_url}


@pytest.mark.slow
def test_production_settings_start_with_every_secret(production_env):
    result = run_django_setup(production_env)

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "TOKEN_PEPPER",
        "CREDENTIALS_KEY",
        "DATABASE_URL",
        "PUBLIC_BASE_URL",
        "DJANGO_ALLOWED_HOSTS",
    ],
)
def test_production_settings_refuse_to_start_without(production_env, missing):
    result = run_django_setup(production_env, without=[missing])

    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_development_secrets_are_generated_once_and_reused(tmp_path):
    path = tmp_path / "var" / "dev-secrets.json"

    first = load_or_create(path)
    second = load_or_create(path)

    assert first == second
    assert set(first) == {"DJANGO_SECRET_KEY", "TOKEN_PEPPER", "CREDENTIALS_KEY"}
    assert len(first["DJANGO_SECRET_KEY"]) >= 50
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_development_secrets_differ_between_installations(tmp_path):
    assert load_or_create(tmp_path / "a.json") != load_or_create(tmp_path / "b.json")


def test_no_sqlite_anywhere():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
