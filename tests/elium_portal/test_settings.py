"""Settings: production refuses to start without its secrets; development generates them
once and reuses them."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from elium_portal.dev_secrets import load_or_create

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "q7Vx2mK9pL4wR8tN3bJ6yH1cF5gD0sZaE-uW_oI7kM2nB4vC9xQ",
    "TOKEN_PEPPER": "p" * 40,
    "CREDENTIALS_KEY": "dGVzdC1jcmVkZW50aWFscy1rZXktMzItYnl0ZXMhISE=",
    "PUBLIC_BASE_URL": "https://portal.example.com",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
}


def run_django_setup(
    env_overrides, *, without=(), code="import django; django.setup(); print('started')"
):
    # DJANGO_ALLOW_ASYNC_UNSAFE comes from pytest-playwright, never from a real deployment.
    dropped = {*PRODUCTION_ENV, "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_overrides)
    for name in without:
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "elium_portal.settings.production"
    return subprocess.run(
        [sys.executable, "-c", code],
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


@pytest.mark.slow
@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "TOKEN_PEPPER", "CREDENTIALS_KEY"])
def test_production_settings_refuse_a_short_secret(name, production_env):
    result = run_django_setup({**production_env, name: "s" * 31})

    assert result.returncode != 0
    assert f"{name} is 31 characters long" in result.stderr


@pytest.mark.slow
def test_production_check_deploy_is_clean_with_the_documented_environment(production_env):
    result = run_django_setup(
        production_env,
        code="import django; django.setup(); from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING'); print('clean')",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "clean" in result.stdout


@pytest.mark.slow
def test_production_sends_hsts_redirects_http_and_refuses_loopback_targets(production_env):
    result = run_django_setup(
        production_env,
        code="import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.PROVISIONING_ALLOW_LOOPBACK)",
    )

    assert result.stdout.split() == ["True", "True", "False"], result.stderr


@pytest.mark.django_db
def test_every_page_has_a_content_security_policy(client):
    for url in ["/accounts/login/", "/healthz", "/t/nope/scim/v2/Users"]:
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("style-src-attr")[0]


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
    # Django's PostgreSQL backend, with a health check that needs no round trip.
    assert settings.DATABASES["default"]["ENGINE"] == "elium_portal.dbbackend"
    assert connection.vendor == "postgresql"
