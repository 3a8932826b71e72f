"""A SCIM server that follows every rule the validator checks (in memory, on a real local port),
and a way to break exactly one rule: a subclass of :class:`StubScim` whose default behaviour is
compliant, broken through ``responder`` (method, path, body) or, where the query string decides,
through ``breaks``."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.provisioning.engine_support import StubScim

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LISTING = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MEMBER_FILTER = re.compile(r'^members\[value eq "([^"]+)"\]$', re.IGNORECASE)
EMAIL_FILTER = re.compile(r'^emails\[type eq "([^"]+)"\]\.value$', re.IGNORECASE)


def _schema(urn: str, attributes: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "id": urn,
        "attributes": [
            {"name": name, "subAttributes": [{"name": s} for s in subs]}
            for name, subs in attributes.items()
        ],
    }


SCHEMAS = [
    _schema(
        "urn:ietf:params:scim:schemas:core:2.0:User",
        {
            "userName": [],
            "displayName": [],
            "active": [],
            "title": [],
            "emails": ["value", "type", "primary"],
            "name": ["givenName", "familyName", "formatted"],
        },
    ),
    _schema(ENTERPRISE, {"employeeNumber": [], "department": [], "manager": ["value"]}),
    _schema(
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        {"displayName": [], "members": ["value"]},
    ),
]


def _listing(found: list[dict], start: int, total: int) -> dict[str, Any]:
    return {
        "schemas": [LISTING],
        "totalResults": total,
        "Resources": found,
        "startIndex": start,
        "itemsPerPage": len(found),
    }


def _set(resource: dict[str, Any], key: str, value: Any) -> None:
    empty = value is None or value == ""
    if key.lower().startswith(ENTERPRISE.lower() + ":"):
        name = key.split(":")[-1]
        extension = resource.setdefault(ENTERPRISE, {})
        if empty:
            extension.pop(name, None)
        elif name == "manager":
            extension[name] = {"value": value if isinstance(value, str) else value["value"]}
        else:
            extension[name] = value
        return
    if key == "active" and isinstance(value, str):
        value = value.lower() == "true"
    holder, name = resource, key
    if "." in key:
        parent, name = key.split(".", 1)
        holder = resource.setdefault(parent, {})
    if empty:
        holder.pop(name, None)
    else:
        holder[name] = value


@dataclass
class CompliantStub(StubScim):
    """``breaks``: "filter_404" (a filter matching nothing answers 404), "pagination" (startIndex
    ignored: always the first page)."""

    breaks: set[str] = field(default_factory=set)

    def default(self, method: str, path: str, query: str, body: Any):
        parts = path.rstrip("/").split("/")
        params = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        if parts[-1] == "Schemas":
            return 200, {}, _listing(SCHEMAS, 1, len(SCHEMAS))
        resource = "Users" if "Users" in parts else "Groups"
        store = self.users if resource == "Users" else self.groups
        if method == "GET" and parts[-1] == resource:
            return self._list(store, params)
        if method == "POST":
            if resource == "Users" and any(
                u["userName"].lower() == body["userName"].lower() for u in store.values()
            ):
                return 409, {}, {"status": "409", "scimType": "uniqueness"}
            new = (
                {**body, "id": str(uuid.uuid4()), "members": []}
                if resource == "Groups"
                else {
                    **body,
                    "id": str(uuid.uuid4()),
                }
            )
            store[new["id"]] = new
            return 201, {}, new
        found = store.get(parts[-1])
        if found is None:
            return 404, {}, {"status": "404"}
        if method == "GET":
            return 200, {}, found
        if method == "DELETE":
            del store[parts[-1]]
            return 204, {}, None
        if method == "PATCH":
            for operation in body["Operations"]:
                self._apply(found, operation)
            return 204, {}, None
        return 405, {}, None

    def _list(self, store: dict[str, dict], params: dict[str, str]):
        found = list(store.values())
        text = params.get("filter", "")
        if " eq " in text:
            attribute, _, value = text.partition(" eq ")
            value = value.strip().strip('"')
            found = [r for r in found if str(r.get(attribute.strip(), "")).lower() == value.lower()]
            if not found and "filter_404" in self.breaks:
                return 404, {}, {"status": "404", "detail": "No such resource"}
        if params.get("excludedAttributes") == "members":
            found = [{k: v for k, v in r.items() if k != "members"} for r in found]
        start = 1 if "pagination" in self.breaks else max(1, int(params.get("startIndex", 1)))
        count = int(params.get("count", 100))
        page = found[start - 1 : start - 1 + count]
        return 200, {}, _listing(page, start, len(found))

    def _apply(self, resource: dict[str, Any], operation: dict[str, Any]) -> None:
        op = operation["op"].lower()
        path = operation.get("path")
        value = operation.get("value")
        if path is None:
            for key, item in value.items():
                _set(resource, key, item)
            return
        if match := MEMBER_FILTER.match(path):
            resource["members"] = [m for m in resource["members"] if m["value"] != match[1]]
            return
        if path == "members":
            ids = {m["value"] for m in value or []}
            if op == "add":
                resource["members"] += [{"value": i} for i in ids]
            elif op == "remove":
                resource["members"] = [m for m in resource["members"] if m["value"] not in ids]
            return
        if match := EMAIL_FILTER.match(path):
            emails = [e for e in resource.get("emails", []) if e.get("type") != match[1]]
            resource["emails"] = [*emails, {"type": match[1], "value": value}]
            return
        _set(resource, path, value)


@dataclass
class TokenStub:
    """An OAuth 2.0 token endpoint on a local port: answers the client-credentials grant with
    ``answer`` (status, body) — or ``answer(form)`` when it is callable — and records the forms
    it received."""

    answer: Any
    forms: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/oauth2/token"

    def __enter__(self) -> TokenStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                stub.forms.append({k: v[0] for k, v in form.items()})
                received = stub.forms[-1]
                status, body = stub.answer(received) if callable(stub.answer) else stub.answer
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()


def bearer_required(stub: StubScim, token: str):
    """A responder that answers 401 unless the request carried ``Bearer <token>``."""

    def responder(method, path, body):
        if stub.requests[-1].headers.get("Authorization") != f"Bearer {token}":
            return 401, {"WWW-Authenticate": "Bearer"}, {"status": "401"}
        return None

    return responder
