"""Fixtures of the SCIM API tests: tenant "acme" and a SCIM client holding one of its tokens,
and tenant "other" with its own, for isolation tests."""

import pytest

from tests.factories import ScimTokenFactory, TenantFactory
from tests.scim_api.support import ScimClient


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="acme")


@pytest.fixture
def scim(client, tenant):
    return ScimClient(client, tenant, ScimTokenFactory(tenant=tenant).plaintext)


@pytest.fixture
def other_scim(client):
    other = TenantFactory(slug="other")
    return ScimClient(client, other, ScimTokenFactory(tenant=other).plaintext)
