"""Azure AD (Entra ID) on the wire for the compatibility tests: its requests, encoded as it
encodes them, and assertions on the SCIM answers (fixtures are in ``conftest.py``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from tests.factories import azure_user

SCIM_JSON = "application/scim+json"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
#: The feature flag an admin appends to the Tenant URL (``…/scim/v2?aadOptscim062020``).
FLAG = "aadOptscim062020"

#: What Azure AD's Test Connection (and every "no match" query) must get back, exactly.
EMPTY_LIST = {
    "schemas": [LIST_RESPONSE],
    "totalResults": 0,
    "startIndex": 1,
    "itemsPerPage": 0,
    "Resources": [],
}


def eq(attribute: str, value: str) -> str:
    """A filter as Azure AD writes it: only ``eq``, the value double-quoted."""
    return f'{attribute} eq "{value}"'


def random_guid() -> str:
    return str(uuid.uuid4())


@dataclass
class AzureAD:
    """The Entra provisioning service as seen on the wire: a bearer token, SCIM JSON bodies and
    ``+``/``%XX``-encoded query strings, against ``<Tenant URL>/Users`` and ``/Groups``.

    With ``flag`` the Tenant URL was typed as ``…/scim/v2?aadOptscim062020`` and the query string
    is forwarded on every request, ahead of Azure AD's own parameters.
    """

    http: httpx.Client
    base_url: str  # the Tenant URL without the flag
    token: str
    flag: bool = False

    def url(self, path: str, query: list[tuple[str, str]] | None = None) -> str:
        # Encode by hand so the wire form is exactly Azure AD's (`userName+eq+%22a%40b%22`);
        # httpx leaves an already-encoded URL alone.
        parts = [FLAG] if self.flag else []
        parts += [f"{quote_plus(k)}={quote_plus(v)}" for k, v in query or []]
        return self.base_url + path + ("?" + "&".join(parts) if parts else "")

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        content = None
        if body is not None:
            headers["Content-Type"] = SCIM_JSON
            content = json.dumps(body).encode()
        return self.http.request(method, self.url(path, query), headers=headers, content=content)

    def get(self, path: str, **query: str) -> httpx.Response:
        """``query`` in the order Azure AD sends it (``excludedAttributes`` before ``filter``)."""
        return self.request("GET", path, query=list(query.items()))

    def post(self, path: str, body: dict) -> httpx.Response:
        return self.request("POST", path, body=body)

    def patch(self, path: str, *operations: dict) -> httpx.Response:
        return self.request(
            "PATCH", path, body={"schemas": [PATCH_OP], "Operations": list(operations)}
        )

    def delete(self, path: str) -> httpx.Response:
        return self.request("DELETE", path)

    def location(self, resource: str, resource_id: str) -> str:
        return f"{self.base_url}/{resource}/{resource_id}"


def scim_body(response: httpx.Response, status: int) -> dict:
    """Assert the status and the SCIM media type, and return the JSON body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith(SCIM_JSON), response.headers
    return response.json()


def no_content(response: httpx.Response) -> None:
    assert response.status_code == 204, (response.status_code, response.text)
    assert response.content == b""


def not_found(response: httpx.Response) -> None:
    body = scim_body(response, 404)
    assert body["schemas"] == [ERROR]
    assert body["status"] == "404"


def list_of(*resources: dict) -> dict:
    """The exact ListResponse holding ``resources`` (one page from index 1)."""
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": list(resources),
    }


def assert_meta(body: dict, *, resource_type: str, location: str) -> None:
    meta = body["meta"]
    assert meta["resourceType"] == resource_type
    assert meta["location"] == location
    assert meta["created"].endswith("Z")
    assert meta["lastModified"] >= meta["created"]
    assert meta["version"].startswith('W/"')


def provision_user(azure: AzureAD, user_name: str, **extra: Any) -> dict:
    """Match (no hit), then create — what Entra does for every new in-scope user."""
    match = azure.get("/Users", filter=eq("userName", user_name))
    assert scim_body(match, 200) == EMPTY_LIST
    return scim_body(azure.post("/Users", azure_user(user_name, **extra)), 201)
