"""Helpers of the engine tests: a real Elium tenant behind ``live_server`` as the target (the
``target`` fixture in ``conftest.py``), an app configured to provision into it, a reader that
checks the target over SCIM/HTTP (the tests never import ``scim_api``), and a misbehaving stub
SCIM server for fault injection."""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from provisioning.models import ProvisioningJob
from provisioning.services.applications import app_role_assignment_create
from provisioning.services.jobs import provisioning_job_update
from tests.factories import DirectoryFactory, ScimTokenFactory, make_application

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass
class Target:
    url: str
    token: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url.split("?")[0],
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )

    def users(self) -> list[dict[str, Any]]:
        return self._all("/Users")

    def groups(self) -> list[dict[str, Any]]:
        return self._all("/Groups")

    def _all(self, path: str) -> list[dict[str, Any]]:
        found, start = [], 1
        with self.client() as client:
            while True:
                body = client.get(path, params={"startIndex": start, "count": 100}).json()
                found += body["Resources"]
                if start + len(body["Resources"]) > body["totalResults"] or not body["Resources"]:
                    return found
                start += len(body["Resources"])

    def user(self, user_name: str) -> dict[str, Any] | None:
        with self.client() as client:
            body = client.get("/Users", params={"filter": f'userName eq "{user_name}"'}).json()
        return body["Resources"][0] if body["Resources"] else None

    def group(self, display_name: str) -> dict[str, Any] | None:
        with self.client() as client:
            body = client.get(
                "/Groups", params={"filter": f'displayName eq "{display_name}"'}
            ).json()
        return body["Resources"][0] if body["Resources"] else None


def make_target(live_server, slug: str = "acme") -> Target:
    token = ScimTokenFactory(tenant__slug=slug).plaintext
    return Target(url=f"{live_server.url}/t/{slug}/scim/v2", token=token)


def configure(app, *, url: str, token: str, status: str = "on", **settings) -> ProvisioningJob:
    job = app.provisioning_job
    provisioning_job_update(
        job=job, mode="automatic", tenant_url=url, secret_token=token, status=status, **settings
    )
    job.refresh_from_db()
    return job


def make_app(target: Target, *, template: str = "scim", directory=None, **settings):
    directory = directory or DirectoryFactory()
    app = make_application(directory=directory, template=template)
    configure(app, url=target.url, token=target.token, **settings)
    return app


def assign(app, principal, role: str = "User") -> None:
    """Assign as the tutorial says: with the app's application-specific role "User"."""
    app_role_assignment_create(
        application=app, principal=principal, role=app.roles.get(display_name=role)
    )


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StubScim:
    """A small misbehaving SCIM server for fault injection. ``responder(method, path, body)``
    returns (status, headers, body) or None for the default in-memory behaviour."""

    responder: Any = None
    requests: list[Recorded] = field(default_factory=list)
    users: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/scim/v2"

    def default(self, method: str, path: str, query: str, body: Any):
        listing = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
        resource = "Users" if "/Users" in path else "Groups"
        store = self.users if resource == "Users" else self.groups
        parts = path.rstrip("/").split("/")
        if method == "GET" and parts[-1] == resource:
            params = urllib.parse.parse_qs(query)
            text = params.get("filter", [""])[0]
            found = []
            if " eq " in text:
                attribute, _, value = text.partition(" eq ")
                value = value.strip().strip('"')
                found = [r for r in store.values() if str(r.get(attribute)) == value]
            return (
                200,
                {},
                {
                    "schemas": [listing],
                    "totalResults": len(found),
                    "Resources": found,
                    "startIndex": 1,
                    "itemsPerPage": len(found),
                },
            )
        if method == "POST":
            new = {**body, "id": str(uuid.uuid4())}
            store[new["id"]] = new
            return 201, {}, new
        key = parts[-1]
        if key not in store:
            return 404, {}, {"status": "404"}
        if method == "GET":
            return 200, {}, store[key]
        if method == "PATCH":
            return 204, {}, None
        if method == "DELETE":
            del store[key]
            return 204, {}, None
        return 405, {}, None

    def __enter__(self) -> StubScim:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path, _, query = self.path.partition("?")
                stub.requests.append(Recorded(self.command, self.path, body, dict(self.headers)))
                answer = stub.responder(self.command, path, body) if stub.responder else None
                if answer is None:
                    answer = stub.default(self.command, path, query, body)
                status, headers, payload = answer
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/scim+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
