"""Discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas — true to
what this server supports."""

from __future__ import annotations

from rest_framework.response import Response

from scim_api.api.base import ScimView
from scim_api.errors import NotFound
from scim_api.schema import (
    LIST_RESPONSE,
    RESOURCE_TYPES,
    SCHEMAS,
    SERVICE_PROVIDER_CONFIG,
    schema_by_id,
)

MAX_RESULTS = 200
BULK_MAX_OPERATIONS = 1000
BULK_MAX_PAYLOAD = 1_048_576


def service_provider_config(base_url: str) -> dict:
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": BULK_MAX_OPERATIONS,
            "maxPayloadSize": BULK_MAX_PAYLOAD,
        },
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "The Secret token from Settings › Security, sent as "
                "'Authorization: Bearer <token>'.",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def list_response(resources: list[dict]) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


class ServiceProviderConfigView(ScimView):
    def get(self, request, slug):
        return Response(service_provider_config(self.base_url))


class ResourceTypeListView(ScimView):
    def get(self, request, slug):
        return Response(list_response([rt.to_scim(self.base_url) for rt in RESOURCE_TYPES]))


class ResourceTypeDetailView(ScimView):
    def get(self, request, slug, name):
        for rt in RESOURCE_TYPES:
            if rt.name.lower() == name.lower():
                return Response(rt.to_scim(self.base_url))
        raise NotFound(f"No resource type {name!r}.")


class SchemaListView(ScimView):
    def get(self, request, slug):
        return Response(list_response([s.to_scim(self.base_url) for s in SCHEMAS]))


class SchemaDetailView(ScimView):
    def get(self, request, slug, schema_id):
        schema = schema_by_id(schema_id)
        if schema is None:
            raise NotFound(f"No schema {schema_id!r}.")
        return Response(schema.to_scim(self.base_url))
