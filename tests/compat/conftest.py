"""Compatibility tests against a real HTTP server: Azure AD (Entra ID) conversations replayed
byte for byte with httpx, and scim2-tester's conformance checks.

Every test here runs against pytest-django's ``live_server`` (a threaded WSGI server on a real
port), so they need ``@pytest.mark.django_db(transaction=True)``: the server thread has its own
database connection and must see committed rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from scim_api import ratelimit
from tests.compat.support import AzureAD
from tests.factories import ScimTokenFactory, TenantFactory


@pytest.fixture
def scim_tenant(transactional_db, live_server, settings):
    """A tenant whose SCIM base URL (and every ``$ref``/``meta.location``) is the live server's."""
    settings.PUBLIC_BASE_URL = live_server.url
    ratelimit.reset()
    tenant = TenantFactory(slug="contoso")
    yield tenant
    ratelimit.reset()


@pytest.fixture
def scim_token(scim_tenant) -> str:
    return ScimTokenFactory(tenant=scim_tenant).plaintext


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15, follow_redirects=False) as client:
        yield client


@pytest.fixture
def azure(scim_tenant, scim_token, http_client) -> AzureAD:
    """Azure AD in its default dialect (no feature flag)."""
    return AzureAD(http=http_client, base_url=scim_tenant.scim_base_url, token=scim_token)


@pytest.fixture
def azure_flag(scim_tenant, scim_token, http_client) -> AzureAD:
    """Azure AD with ``?aadOptscim062020`` in the Tenant URL, forwarded on every request."""
    return AzureAD(
        http=http_client, base_url=scim_tenant.scim_base_url, token=scim_token, flag=True
    )
