"""The property "no request is ever answered with a 5xx", over every operation of the published
OpenAPI description (``/openapi.json``), with schemathesis against a live server and a valid
token. Path ids point at real resources, so PUT/PATCH/DELETE run the services with generated
bodies instead of stopping at a 404. Bounded by ``max_examples`` to about twenty seconds."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from elium_portal.models import Tenant
from elium_portal.services.tokens import scim_token_issue
from scim_api.api.openapi import openapi_document
from scim_api.models import ScimGroup, ScimUser
from tests.factories import TenantFactory, azure_group, azure_user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class LiveScim:
    base_url: str
    token: str
    tenant: Tenant


@pytest.fixture
def live_scim(transactional_db, live_server, settings) -> LiveScim:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0  # hundreds of requests a second
    tenant = TenantFactory(slug="fuzz")
    return LiveScim(tenant.scim_base_url, scim_token_issue(tenant=tenant).plaintext, tenant)


#: ``SCIM_FUZZ_DEEP=1``: every phase (schemathesis' coverage phase tries each boundary of each
#: parameter and attribute: ~4,000 requests, a minute or more) and more examples. By default the
#: examples and fuzzing phases only, to stay a few seconds long in ``make test``.
DEEP = os.environ.get("SCIM_FUZZ_DEEP") == "1"

# The document the server publishes (test_openapi.py checks that it is served), built here
# because schemathesis needs it at collection time; the live server's URL is given per call.
schema = schemathesis.openapi.from_dict(
    openapi_document(base_url="http://scim.invalid/scim/v2"),
    config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": DEEP}}}),
)


def _existing_id(live: LiveScim, path: str) -> str | None:
    """The id of a user or group of the tenant, created if a generated DELETE removed it."""
    if path.startswith("/Users/{id}"):
        user = ScimUser.objects.filter(tenant=live.tenant).first()
        return str(user.id) if user else _create(live, "/Users", azure_user("fuzz@contoso.com"))
    if path.startswith("/Groups/{id}"):
        group = ScimGroup.objects.filter(tenant=live.tenant).first()
        return str(group.id) if group else _create(live, "/Groups", azure_group("Fuzzers"))
    return None


def _create(live: LiveScim, path: str, body: dict) -> str:
    response = httpx.post(
        live.base_url + path, json=body, headers={"Authorization": f"Bearer {live.token}"}
    )
    return response.json()["id"]


@schema.parametrize()
@settings(
    max_examples=200 if DEEP else 20,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_scim_request_is_answered_with_a_5xx(case, live_scim):
    existing = _existing_id(live_scim, case.path)
    if existing:
        case.path_parameters = {**(case.path_parameters or {}), "id": existing}

    response = case.call(
        base_url=live_scim.base_url, headers={"Authorization": f"Bearer {live_scim.token}"}
    )

    assert response.status_code < 500, case.as_curl_command()
    if response.status_code >= 400 and case.path != "/openapi.json":
        # and every refusal is a SCIM error body (RFC 7644 §3.12)
        assert response.json()["schemas"] == [ERROR], case.as_curl_command()
