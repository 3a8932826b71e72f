"""Fixtures of the browser tests (the Chromium set-up is in the root ``conftest.py``)."""

import pytest

from tests.factories.elium import PASSWORD


@pytest.fixture
def log_in(page, live_server):
    """``log_in(username)`` signs in through the login page; every user made by ``UserFactory``
    has the password ``PASSWORD``."""

    def log_in(username: str) -> None:
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

    return log_in
