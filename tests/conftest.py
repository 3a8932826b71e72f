"""Shared fixtures. Every test runs against PostgreSQL (a throwaway embedded server unless
``DATABASE_URL`` is set); browser tests drive a real Chromium through Playwright."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from elium_portal import clock as clock_module

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the same
# tests are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

TESTS = Path(__file__).resolve().parent
#: Directories whose every test is end to end (a live server, a browser): all marked ``slow``.
#: Elsewhere a module or test that starts servers or processes carries the mark itself.
SLOW_DIRECTORIES = (TESTS / "browser", TESTS / "compat")

CHROMIUM_HELP = (
    "No Chromium found for the browser tests: install Debian's package "
    "(`sudo apt-get install chromium`) or Playwright's browser (`playwright install chromium`)."
)


def find_chromium() -> str | None:
    """System Chromium first (Debian), then Playwright's own download if present."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache/ms-playwright"))
    for candidate in sorted(cache.glob("chromium-*/chrome-linux*/chrome"), reverse=True):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def pytest_configure(config):
    if find_chromium() is None:
        raise pytest.UsageError(CHROMIUM_HELP)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.path.is_relative_to(directory) for directory in SLOW_DIRECTORIES):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": find_chromium(),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture(autouse=True)
def _clear_cache():
    """The local-memory cache (token address throttling) must not leak between tests."""
    cache.clear()
    yield
    cache.clear()


class Clock:
    """A controllable clock for the Elium side (``elium_portal.clock.now``)."""

    def __init__(self, start):
        self.current = start

    def __call__(self):
        return self.current

    def advance(self, **kwargs):
        self.current += dt.timedelta(**kwargs)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(timezone.now())
    monkeypatch.setattr(clock_module, "now", fake)
    return fake


@pytest.fixture
def database_url() -> str:
    """A URL for the database the tests run on, for the subprocesses a test starts (``serve``,
    production settings, workers)."""
    db = connection.settings_dict
    host = db["HOST"] or db["OPTIONS"].get("host", "")
    if host.startswith("/"):
        return f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={host}"
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
