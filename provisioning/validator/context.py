"""The state one validation run shares between its checks: the one outbound SCIM client (with
the SSRF guard) wrapped so every exchange is recorded, redacted, for the check that sent it;
the run's unique prefix; and the objects the run created on the target, deleted at the end."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provisioning.engine.scim_client import ScimClient, ScimResult, filter_value
from provisioning.validator.result import Exchange, clip, redact

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class CheckFailedError(Exception):
    """A check's rule was broken; ``exchange`` (an index) is the exchange that shows it."""

    def __init__(self, message: str, exchange: int | None = None) -> None:
        super().__init__(message)
        self.exchange = exchange


class CheckSkippedError(Exception):
    """The check does not apply to this target (groups off, no manager mapping…)."""


@dataclass
class Created:
    resource: str  # "Users" or "Groups"
    target_id: str
    label: str


def run_prefix_new() -> str:
    """The unique prefix of everything one run creates (on the target and in this database)."""
    return f"scimval-{secrets.token_hex(4)}"


def scratch_directory_name(prefix: str) -> str:
    """The name of a run's scratch directory: how a run left behind by a dead worker finds it."""
    return f"SCIM Validator {prefix}"


@dataclass
class RunContext:
    client: ScimClient
    token: str
    groups: bool
    secrets: list[str] = field(default_factory=list)  # also masked wherever they appear
    prefix: str = field(default_factory=run_prefix_new)
    created: list[Created] = field(default_factory=list)
    # told of every object the run creates on the target, as soon as it exists (a console run
    # journals them on its row, so a run whose worker dies can still delete them)
    on_created: Callable[[Created], None] | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what earlier checks learned
    # run at the end, before the run's own objects are deleted; each returns what it could
    # not clean up (the lifecycle checks' scratch directory)
    finalizers: list[Callable[[], list[str]]] = field(default_factory=list)
    _serial: int = 0

    @property
    def flag2020(self) -> bool:
        return self.client.dialect.flag2020

    def unique(self, kind: str) -> str:
        self._serial += 1
        return f"{self.prefix}-{kind}{self._serial}"

    # -- requests, each recorded for the running check -----------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        is_query: bool = False,
    ) -> tuple[ScimResult, int]:
        """Send one request through the SCIM client; returns the result and the index of its
        recorded exchange (to name it as the deciding one)."""
        result = self.client.request(
            method,
            path,
            params=params,
            json_body=body,
            is_query=is_query,
            want_body=method in ("GET", "POST"),
        )
        response_body: Any = result.body
        if response_body is None and result.response is not None and result.response.content:
            response_body = result.response.text
        if result.status == 0:
            response_body = result.reason
        secrets_ = [self.token, *self.secrets]
        self.exchanges.append(
            Exchange(
                method=method,
                url=redact(result.url, secrets_),
                request_body=clip(redact(body, secrets_)),
                status=result.status,
                response_body=clip(redact(response_body, secrets_)),
                duration_ms=result.duration_ms,
            )
        )
        return result, len(self.exchanges) - 1

    def get(self, path: str, params: dict[str, str] | None = None) -> tuple[ScimResult, int]:
        return self.send("GET", path, params=params)

    def query(self, resource: str, attribute: str, value: str) -> tuple[ScimResult, int]:
        params = {"filter": f"{attribute} eq {filter_value(value)}"}
        if resource == "Groups":
            params = {"excludedAttributes": "members", **params}
        return self.send("GET", f"/{resource}", params=params, is_query=True)

    def patch(
        self, resource: str, target_id: str, operations: list[dict]
    ) -> tuple[ScimResult, int]:
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        }
        return self.send("PATCH", f"/{resource}/{target_id}", body=body)

    def op(self, name: str) -> str:
        return self.client.dialect.op(name)

    # -- objects of the run ------------------------------------------------------------------

    def user_body(self, *, label: str | None = None) -> dict[str, Any]:
        """A user as Entra's POST /Users carries it (entra-scim-behaviour.md §1.2)."""
        label = label or self.unique("user")
        return {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "externalId": str(uuid.uuid4()),
            "userName": f"{label}@validator.example.com",
            "active": True,
            "displayName": f"{label} Display",
            "title": "Validator",
            "emails": [
                {"primary": True, "type": "work", "value": f"{label}@validator.example.com"}
            ],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": f"Given {label} Family",
                "familyName": "Family",
                "givenName": f"Given{label[-3:]}",
            },
            "roles": [],
            ENTERPRISE: {"department": "Validation", "employeeNumber": "1001"},
        }

    def group_body(self, *, label: str | None = None) -> dict[str, Any]:
        """A group as Entra's POST /Groups carries it (no members, §1.5)."""
        label = label or self.unique("group")
        return {
            "schemas": [
                GROUP_SCHEMA,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": str(uuid.uuid4()),
            "displayName": label,
            "meta": {"resourceType": "Group"},
        }

    def create(self, resource: str, body: dict[str, Any]) -> tuple[ScimResult, int]:
        result, index = self.send("POST", f"/{resource}", body=body)
        if result.ok and isinstance(result.body, dict) and result.body.get("id"):
            label = body.get("userName") or body.get("displayName") or ""
            created = Created(resource, str(result.body["id"]), label)
            self.created.append(created)
            if self.on_created is not None:
                self.on_created(created)
        return result, index

    def create_user(self) -> tuple[str, dict[str, Any]]:
        """A user for a check that needs one; fails the check when the target refuses it."""
        body = self.user_body()
        result, index = self.create("Users", body)
        if not result.ok or not isinstance(result.body, dict) or not result.body.get("id"):
            raise CheckFailedError(f"POST /Users failed: {result.status} {result.reason}", index)
        return str(result.body["id"]), body

    def create_group(self) -> tuple[str, dict[str, Any]]:
        body = self.group_body()
        result, index = self.create("Groups", body)
        if not result.ok or not isinstance(result.body, dict) or not result.body.get("id"):
            raise CheckFailedError(f"POST /Groups failed: {result.status} {result.reason}", index)
        return str(result.body["id"]), body

    def cleanup(self) -> list[str]:
        """Delete everything the run created (groups first); the ones that could not be deleted,
        described."""
        failures = []
        for finalizer in self.finalizers:
            failures += finalizer()
        self.finalizers.clear()
        order = [c for c in reversed(self.created) if c.resource == "Groups"] + [
            c for c in reversed(self.created) if c.resource == "Users"
        ]
        for created in order:
            result = self.client.request(
                "DELETE", f"/{created.resource}/{created.target_id}", want_body=False
            )
            if result.ok or result.status == 404:
                continue
            failures.append(
                f"{created.resource}/{created.target_id} ({created.label}): "
                f"DELETE answered {result.status or result.error_code}"
            )
        self.created.clear()
        return failures
