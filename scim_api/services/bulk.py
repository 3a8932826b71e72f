"""Bulk (RFC 7644 §3.7): many operations in one request, with ``bulkId`` references between
them and ``failOnErrors``.

Each operation runs in its own transaction, through the same selector and service as the
equivalent single request (:mod:`scim_api.services.registry`), and fails or succeeds on its
own: its result carries the status and, on failure, the SCIM error body that request would
have had.
"""

from __future__ import annotations

import heapq
import re
from http import HTTPMethod
from typing import Any

from django.db import transaction

from elium_portal.models import Tenant
from scim_api.errors import InvalidSyntax, InvalidValue, ScimError
from scim_api.feed import Origin
from scim_api.policy import CompatibilityPolicy
from scim_api.representation import etag
from scim_api.services.registry import WRITE_METHODS, Resource, resource_operations_for_endpoint

_PATH = re.compile(r"^/(?P<kind>Users|Groups)(?:/(?P<id>[^/]+))?$", re.IGNORECASE)
_BULK_REF = re.compile(r"bulkId:([A-Za-z0-9._~-]+)")


class _Unresolved(Exception):
    def __init__(self, bulk_id: str):
        self.bulk_id = bulk_id


def _substitute(value: Any, resolved: dict[str, str]) -> Any:
    """Replace every ``bulkId:x`` string with the id created for ``x``."""
    if isinstance(value, dict):
        return {k: _substitute(v, resolved) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, resolved) for v in value]
    if isinstance(value, str) and "bulkId:" in value:

        def repl(match):
            if match.group(1) not in resolved:
                raise _Unresolved(match.group(1))
            return resolved[match.group(1)]

        return _BULK_REF.sub(repl, value)
    return value


def _references(operation: Any) -> list[str]:
    """The bulkIds ``operation`` refers to (``bulkId:x`` in its path or data), in order."""
    if not isinstance(operation, dict):
        return []
    found: dict[str, None] = {}
    stack = [operation.get("path"), operation.get("data")]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and "bulkId:" in value:
            found.update(dict.fromkeys(_BULK_REF.findall(value)))
    return list(found)


def _declared(operation: Any) -> str | None:
    """The bulkId a POST operation declares for the resource it creates, if any."""
    if not isinstance(operation, dict) or str(operation.get("method", "")).upper() != "POST":
        return None
    bulk_id = operation.get("bulkId")
    return bulk_id if isinstance(bulk_id, str) and bulk_id else None


def scim_bulk_execute(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    operations: list[Any],
    fail_on_errors: int | None,
) -> list[dict]:
    """Run the operations of a validated Bulk request for ``tenant``; returns the result of each
    operation that ran, in request order.

    Operations run in request order, except that one referring to ``bulkId:x`` runs after the
    POST that declares ``x`` (RFC 7644 §3.7.2): a topological order found once, so each
    operation runs exactly once and a chain of a thousand costs what a thousand independent
    creates cost. A reference to a bulkId that no POST of the request declares, or whose POST
    failed, is a 409; so is every operation of a circular reference, and every operation that
    waits on one (RFC 7644 §3.7.1 lets a server answer 409 instead of resolving them). A second
    POST declaring the same bulkId is a 400: bulkIds are unique in a request.
    After ``fail_on_errors`` failures the remaining operations are not run.
    """
    count = len(operations)
    declared_by: dict[str, int] = {}
    duplicates: set[int] = set()
    for index, operation in enumerate(operations):
        bulk_id = _declared(operation)
        if bulk_id is None:
            continue
        if bulk_id in declared_by:
            duplicates.add(index)
        else:
            declared_by[bulk_id] = index
    # The dependency graph: an edge from each declaring POST to the operations naming its bulkId.
    waiting_for = [0] * count
    dependents: list[list[int]] = [[] for _ in range(count)]
    for index, operation in enumerate(operations):
        for bulk_id in _references(operation):
            source = declared_by.get(bulk_id)
            if source is not None:  # else unresolvable: the operation fails when it runs
                waiting_for[index] += 1
                dependents[source].append(index)

    results: list[dict | None] = [None] * count
    resolved: dict[str, str] = {}
    ready = [index for index in range(count) if not waiting_for[index]]  # sorted: a heap
    errors = 0
    while ready:
        index = heapq.heappop(ready)
        operation = operations[index]
        if index in duplicates:
            result = _error(
                operation,
                InvalidValue(
                    f"bulkId {operation['bulkId']!r} is declared by an earlier operation."
                ),
            )
        else:
            result = _run(operation, resolved, tenant=tenant, policy=policy, origin=origin)
        results[index] = result
        if int(result["status"]) >= 400:
            errors += 1
            if fail_on_errors and errors >= fail_on_errors:
                return [r for r in results if r is not None]
        for dependent in dependents[index]:
            waiting_for[dependent] -= 1
            if not waiting_for[dependent]:
                heapq.heappush(ready, dependent)

    # What never became ready is on a circle of references, or waits on one.
    for index in range(count):
        if results[index] is not None:
            continue
        waits_on = next(b for b in _references(operations[index]) if b not in resolved)
        results[index] = _error(
            operations[index],
            ScimError(
                f"bulkId {waits_on!r} cannot be resolved: the operations it depends on refer "
                "to each other in a circle.",
                status=409,
                scim_type="invalidValue",
            ),
        )
        errors += 1
        if fail_on_errors and errors >= fail_on_errors:
            break
    return [r for r in results if r is not None]


def _error(operation: Any, error: ScimError) -> dict:
    result = {
        "method": operation.get("method") if isinstance(operation, dict) else None,
        "status": str(error.status),
        "response": error.to_scim(),
    }
    if isinstance(operation, dict) and operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
    return result


def _run(
    operation: Any,
    resolved: dict[str, str],
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
) -> dict:
    try:
        if not isinstance(operation, dict):
            raise InvalidSyntax("Each Bulk operation must be a JSON object.")
        method = str(operation.get("method", "")).upper()
        path = operation.get("path")
        match = _PATH.match(path) if isinstance(path, str) else None
        if method not in WRITE_METHODS or match is None:
            raise InvalidSyntax(
                "Each Bulk operation needs a method (POST, PUT, PATCH, DELETE) and a path "
                "such as /Users or /Groups/{id}."
            )
        bulk_id = operation.get("bulkId")
        if bulk_id is not None and (not isinstance(bulk_id, str) or not bulk_id):
            raise InvalidSyntax("bulkId must be a non-empty string.")
        version = operation.get("version")
        if version is not None and not isinstance(version, str):
            raise InvalidSyntax('version must be a string such as W/"3".')
        if method == HTTPMethod.POST and not bulk_id:
            raise InvalidSyntax("A POST operation in a Bulk request needs a bulkId.")
        resource_id = match.group("id")
        if resource_id:
            resource_id = _substitute(resource_id, resolved)
        if (method == HTTPMethod.POST) == bool(resource_id):
            raise InvalidSyntax(f"{method} {path} is not a valid Bulk operation.")
        data = _substitute(operation.get("data"), resolved)
        with transaction.atomic():
            obj = _apply(
                match.group("kind"),
                method,
                resource_id,
                data,
                version,
                tenant=tenant,
                policy=policy,
                origin=origin,
            )
    except _Unresolved as unresolved:
        return _error(
            operation,
            ScimError(
                f"bulkId {unresolved.bulk_id!r} does not name an operation that succeeded.",
                status=409,
                scim_type="invalidValue",
            ),
        )
    except ScimError as error:
        return _error(operation, error)
    result = {"method": method, "status": "204" if obj is None else "200"}
    if bulk_id:
        result["bulkId"] = bulk_id
    if obj is not None:
        result["location"] = f"{tenant.scim_base_url}/{match.group('kind').capitalize()}/{obj.id}"
        result["version"] = etag(obj.version)
    if method == HTTPMethod.POST:
        result["status"] = "201"
        resolved[bulk_id] = str(obj.id)
    return result


def _apply(
    kind: str,
    method: str,
    resource_id: str | None,
    data: Any,
    version: str | None,
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
) -> Resource | None:
    """One operation, through the service the single request would use."""
    if method != HTTPMethod.DELETE and not isinstance(data, dict):
        raise InvalidSyntax(f"{method} needs a data object.")
    operations = resource_operations_for_endpoint(kind)
    assert operations is not None  # the path pattern admits only Users and Groups
    resource = (
        None
        if method == HTTPMethod.POST
        else operations.get(tenant=tenant, resource_id=resource_id)
    )
    return operations.write(method)(
        tenant=tenant,
        policy=policy,
        origin=origin,
        resource=resource,
        body=data,
        if_match=version,
    )
