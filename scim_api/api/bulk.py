"""``POST /Bulk`` (RFC 7644 §3.7): the request is checked here (schemas, limits,
``failOnErrors``); :func:`~scim_api.services.bulk.scim_bulk_execute` runs its operations."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from scim_api.api.base import ScimView
from scim_api.api.discovery import BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD
from scim_api.errors import InvalidSyntax, InvalidValue, ScimError
from scim_api.schema import BULK_REQUEST, BULK_RESPONSE
from scim_api.services.bulk import scim_bulk_execute
from scim_api.validation import check_storable


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

        results = scim_bulk_execute(
            tenant=self.tenant,
            policy=self.policy,
            origin=self.origin,
            operations=operations,
            fail_on_errors=fail_on_errors,
        )
        return Response(
            {"schemas": [BULK_RESPONSE], "Operations": results},
            status=status.HTTP_200_OK,
        )
