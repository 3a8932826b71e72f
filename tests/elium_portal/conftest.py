"""Fixtures of the Elium-side tests."""

import pytest
from django.db import connection


@pytest.fixture
def database_url() -> str:
    """A URL for the database the tests run on, for the subprocesses a test starts (``serve``,
    production settings)."""
    db = connection.settings_dict
    host = db["HOST"] or db["OPTIONS"].get("host", "")
    if host.startswith("/"):
        return f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={host}"
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
