"""The common ``Accept`` headers are answered without DRF's content negotiation: the response
must be exactly what the negotiation gives — status, Content-Type and body — for those and for
everything that still goes through it."""

import pytest

from scim_api.api.base import ScimView
from tests.factories import ScimUserFactory

pytestmark = pytest.mark.django_db

ACCEPTS = [
    None,
    "*/*",
    "application/scim+json",
    "application/json",
    " application/json ",
    "application/json; indent=2",
    "application/scim+json, application/json;q=0.9",
    "text/html",
]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?attributes=userName"])
def test_a_common_accept_gets_what_drf_would_give(scim, tenant, monkeypatch, accept, query):
    user = ScimUserFactory(tenant=tenant)
    headers = {} if accept is None else {"Accept": accept}

    fast = scim.get(f"/Users/{user.id}{query}", headers=headers)
    monkeypatch.setattr(ScimView, "_COMMON_ACCEPT", {})
    negotiated = scim.get(f"/Users/{user.id}{query}", headers=headers)

    assert fast.status_code == negotiated.status_code
    assert fast.get("Content-Type") == negotiated.get("Content-Type")
    assert fast.content == negotiated.content
