"""``POST /Bulk`` (RFC 7644 §3.7): many operations in one request, with ``bulkId`` references
between them and ``failOnErrors``. Each operation runs in its own transaction, exactly as the
equivalent single request would."""

from __future__ import annotations

import re

from django.db import transaction
from rest_framework import status
from rest_framework.response import Response

from scim_api import selectors
from scim_api.api.base import ScimView
from scim_api.api.discovery import BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD
from scim_api.errors import InvalidSyntax, InvalidValue, ScimError
from scim_api.representation import etag
from scim_api.schema import BULK_REQUEST, BULK_RESPONSE
from scim_api.services import groups as group_services
from scim_api.services import users as user_services
from scim_api.validation import check_storable

_PATH = re.compile(r"^/(?P<kind>Users|Groups)(?:/(?P<id>[^/]+))?$", re.IGNORECASE)
_BULK_REF = re.compile(r"bulkId:([A-Za-z0-9._~-]+)")


class _Unresolved(Exception):
    def __init__(self, bulk_id: str):
        self.bulk_id = bulk_id


def _substitute(value, resolved: dict[str, str]):
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


class BulkView(ScimView):
    def post(self, request, slug):
        body = request.data
        if not isinstance(body, dict):
            raise InvalidSyntax("The Bulk request body must be a JSON object.")
        if not self.policy.ignore_unknown_schemas and body.get("schemas") != [BULK_REQUEST]:
            raise InvalidValue(f"A Bulk request must have schemas [{BULK_REQUEST!r}].")
        operations = body.get("Operations")
        if not isinstance(operations, list) or not operations:
            raise InvalidSyntax("A Bulk request needs a non-empty Operations list.")
        if len(operations) > BULK_MAX_OPERATIONS:
            raise ScimError(
                f"{len(operations)} operations; the maximum is {BULK_MAX_OPERATIONS}.",
                status=413,
            )
        check_storable(body)
        if len(request.body) > BULK_MAX_PAYLOAD:
            raise ScimError(f"The maximum Bulk payload is {BULK_MAX_PAYLOAD} bytes.", status=413)
        fail_on_errors = body.get("failOnErrors")
        if fail_on_errors is not None and (
            not isinstance(fail_on_errors, int)
            or isinstance(fail_on_errors, bool)
            or fail_on_errors < 1
        ):
            raise InvalidValue("failOnErrors must be a positive integer.")

        results: list[dict | None] = [None] * len(operations)
        resolved: dict[str, str] = {}
        pending = list(range(len(operations)))
        errors = 0
        stopped = False
        # Run operations in order; one that names a bulkId not created yet waits for a later
        # pass (RFC 7644 §3.7.2), until a pass makes no progress.
        while pending and not stopped:
            waiting = []
            for index in pending:
                operation = operations[index]
                try:
                    results[index] = self._run(operation, resolved)
                except _Unresolved as exc:
                    waiting.append((index, exc.bulk_id))
                    continue
                if int(results[index]["status"]) >= 400:
                    errors += 1
                    if fail_on_errors and errors >= fail_on_errors:
                        stopped = True
                        break
            if len(waiting) == len(pending):
                for index, bulk_id in waiting:
                    results[index] = self._error(
                        operations[index],
                        ScimError(
                            f"bulkId {bulk_id!r} does not name an operation that succeeded.",
                            status=409,
                            scim_type="invalidValue",
                        ),
                    )
                break
            pending = [index for index, _ in waiting]
        return Response(
            {"schemas": [BULK_RESPONSE], "Operations": [r for r in results if r is not None]},
            status=status.HTTP_200_OK,
        )

    def _error(self, operation, error: ScimError) -> dict:
        result = {
            "method": operation.get("method") if isinstance(operation, dict) else None,
            "status": str(error.status),
            "response": error.to_scim(),
        }
        if isinstance(operation, dict) and operation.get("bulkId"):
            result["bulkId"] = operation["bulkId"]
        return result

    def _run(self, operation, resolved: dict[str, str]) -> dict:
        try:
            if not isinstance(operation, dict):
                raise InvalidSyntax("Each Bulk operation must be a JSON object.")
            method = str(operation.get("method", "")).upper()
            path = operation.get("path")
            match = _PATH.match(path) if isinstance(path, str) else None
            if method not in ("POST", "PUT", "PATCH", "DELETE") or match is None:
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
            if method == "POST" and not bulk_id:
                raise InvalidSyntax("A POST operation in a Bulk request needs a bulkId.")
            resource_id = match.group("id")
            if resource_id:
                resource_id = _substitute(resource_id, resolved)
            if (method == "POST") == bool(resource_id):
                raise InvalidSyntax(f"{method} {path} is not a valid Bulk operation.")
            data = _substitute(operation.get("data"), resolved)
            kind = match.group("kind").lower()
            with transaction.atomic():
                obj = self._apply(kind, method, resource_id, data, version)
        except _Unresolved:
            raise
        except ScimError as error:
            return self._error(operation, error)
        result = {"method": method, "status": "204" if obj is None else "200"}
        if bulk_id:
            result["bulkId"] = bulk_id
        if obj is not None:
            result["location"] = f"{self.base_url}/{match.group('kind').capitalize()}/{obj.id}"
            result["version"] = etag(obj.version)
        if method == "POST":
            result["status"] = "201"
            resolved[bulk_id] = str(obj.id)
        return result

    def _apply(self, kind, method, resource_id, data, version):
        tenant, policy = self.tenant, self.policy
        if method != "DELETE" and not isinstance(data, dict):
            raise InvalidSyntax(f"{method} needs a data object.")
        if kind == "users":
            if method == "POST":
                return user_services.scim_user_create(tenant=tenant, body=data, policy=policy)
            user = selectors.user_get(tenant=tenant, user_id=resource_id)
            if method == "PUT":
                return user_services.scim_user_replace(
                    tenant=tenant, user=user, body=data, policy=policy, if_match=version
                )
            if method == "PATCH":
                return user_services.scim_user_patch(
                    tenant=tenant, user=user, body=data, policy=policy, if_match=version
                )
            user_services.scim_user_delete(tenant=tenant, user=user, if_match=version)
            return None
        if method == "POST":
            return group_services.scim_group_create(tenant=tenant, body=data, policy=policy)
        group = selectors.group_get(tenant=tenant, group_id=resource_id)
        if method == "PUT":
            return group_services.scim_group_replace(
                tenant=tenant, group=group, body=data, policy=policy, if_match=version
            )
        if method == "PATCH":
            return group_services.scim_group_patch(
                tenant=tenant, group=group, body=data, policy=policy, if_match=version
            )
        group_services.scim_group_delete(tenant=tenant, group=group, if_match=version)
        return None
