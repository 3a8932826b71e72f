"""Helpers for the SCIM API tests (fixtures are in ``conftest.py``)."""

import json


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
