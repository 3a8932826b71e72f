"""Fixtures of the support-admin tests (issue 13): clients logged in as a ``Support`` and a
``Support admin`` user, made the way ``manage.py create_support_user`` makes them."""

import pytest

from elium_portal.services.support import support_user_ensure
from tests.factories.elium import PASSWORD


@pytest.fixture
def support_user(db):
    user, _ = support_user_ensure(username="sam.support", role="support", password=PASSWORD)
    return user


@pytest.fixture
def support_admin_user(db):
    user, _ = support_user_ensure(username="ada.admin", role="support-admin", password=PASSWORD)
    return user


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def support_admin_client(client, support_admin_user):
    client.force_login(support_admin_user)
    return client
