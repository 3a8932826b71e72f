import json

import pytest

from elium_portal.services.tokens import scim_token_issue
from tests.factories import TenantFactory


class ScimClient:
    """Django's test client speaking SCIM JSON with a tenant's bearer token."""

    def __init__(self, client, tenant, token):
        self.client, self.tenant, self.token = client, tenant, token
        self.base = f"/t/{tenant.slug}/scim/v2"

    def _call(self, method, path, body=None, headers=None, raw=None, content_type=None):
        extra = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        url = path if path.startswith("/t/") else self.base + path
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs = {}
        if data is not None:
            kwargs = {"data": data, "content_type": content_type or "application/scim+json"}
        return getattr(self.client, method)(url, **kwargs, **extra)

    def get(self, path, **kw):
        return self._call("get", path, **kw)

    def post(self, path, body=None, **kw):
        return self._call("post", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self._call("put", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self._call("patch", path, body, **kw)

    def delete(self, path, **kw):
        return self._call("delete", path, **kw)


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="acme")


@pytest.fixture
def scim(client, tenant):
    return ScimClient(client, tenant, scim_token_issue(tenant=tenant).plaintext)


@pytest.fixture
def other_scim(client):
    other = TenantFactory(slug="other")
    return ScimClient(client, other, scim_token_issue(tenant=other).plaintext)


def azure_user(user_name="alice@contoso.com", **extra):
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": user_name.split("@")[0],
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "roles": [],
    }
    body.update(extra)
    return body


def azure_group(display_name="Engineering", **extra):
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    }
    body.update(extra)
    return body
