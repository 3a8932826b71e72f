"""Fixtures of the provisioning tests: a staff member's console client, and a real Elium tenant
behind ``live_server`` as the target of provisioning (helpers in ``engine_support.py``)."""

import pytest

from tests.factories import UserFactory
from tests.provisioning.engine_support import Target, make_target


@pytest.fixture
def staff_client(client):
    """The Azure console is for staff: a client logged in as staff user "admin"."""
    client.force_login(UserFactory(username="admin", is_staff=True))
    return client


@pytest.fixture
def target(live_server, settings) -> Target:
    """Tenant "acme" of this project, served over real HTTP, and a token for it."""
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0  # the engine's own 429 handling is tested apart
    return make_target(live_server)
