"""``GET /openapi.json``: an OpenAPI 3.0 description of this SCIM API, for client developers and
for property testing (tests/scim_api/test_never_5xx.py drives every operation in it).

Published without a token: it describes the protocol, not the tenant. It says nothing about the
tenant — not even whether it exists: the document is built from the URL alone, with no query, so
it costs nothing and cannot be used to find tenant names. Resource bodies are derived from the
same schema registry as ``/Schemas``, so the two never disagree.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from elium_portal.models import Tenant
from scim_api.api.discovery import BULK_MAX_OPERATIONS, MAX_RESULTS
from scim_api.api.resources import MAX_START_INDEX
from scim_api.schema import (
    BULK_REQUEST,
    BULK_RESPONSE,
    COMMON_ATTRIBUTES,
    ENTERPRISE_USER_SCHEMA,
    ERROR,
    GROUP_SCHEMA,
    LIST_RESPONSE,
    PATCH_OP,
    SEARCH_REQUEST,
    USER_SCHEMA,
    Attribute,
    Schema,
)

SCIM_JSON = "application/scim+json"

_TYPES = {
    "string": {"type": "string"},
    "reference": {"type": "string"},
    "binary": {"type": "string", "format": "byte"},
    "boolean": {"type": "boolean"},
    "decimal": {"type": "number"},
    "integer": {"type": "integer"},
    "dateTime": {"type": "string", "format": "date-time"},
}


def _attribute(attr: Attribute) -> dict:
    if attr.type == "complex":
        value: dict = {
            "type": "object",
            "properties": {sub.name: _attribute(sub) for sub in attr.sub_attributes},
        }
    else:
        value = dict(_TYPES[attr.type])
    if attr.canonical_values and not attr.multi_valued:
        value["description"] = "One of: " + ", ".join(attr.canonical_values)
    if attr.multi_valued:
        value = {"type": "array", "items": value}
    if attr.description:
        value["description"] = attr.description
    if attr.mutability == "readOnly":
        value["readOnly"] = True
    elif attr.mutability == "writeOnly":
        value["writeOnly"] = True
    return value


def _resource(schema: Schema, *, extensions: tuple[Schema, ...] = ()) -> dict:
    properties = {
        "schemas": {"type": "array", "items": {"type": "string"}, "example": [schema.id]},
        **{attr.name: _attribute(attr) for attr in COMMON_ATTRIBUTES},
        **{attr.name: _attribute(attr) for attr in schema.attributes},
    }
    for extension in extensions:
        properties[extension.id] = {
            "type": "object",
            "description": extension.description,
            "properties": {attr.name: _attribute(attr) for attr in extension.attributes},
        }
    return {
        "type": "object",
        "description": f"{schema.description} ({schema.id}); custom extensions are kept.",
        "required": ["schemas"] + [a.name for a in schema.attributes if a.required],
        "properties": properties,
    }


def _message(urn: str, properties: dict, *, required: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "required": ["schemas", *required],
        "properties": {
            "schemas": {"type": "array", "items": {"type": "string", "enum": [urn]}},
            **properties,
        },
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: str) -> dict:
    return {
        "required": True,
        "content": {
            SCIM_JSON: {"schema": _ref(schema)},
            "application/json": {"schema": _ref(schema)},
        },
    }


def _response(description: str, schema: str | None = None) -> dict:
    response: dict = {"description": description}
    if schema:
        response["content"] = {SCIM_JSON: {"schema": _ref(schema)}}
    return response


_ERRORS = {
    "default": _response(
        "A SCIM error (RFC 7644 §3.12), with a scimType where one applies.", "Error"
    ),
}
_LIST_PARAMETERS = [
    {"$ref": f"#/components/parameters/{name}"}
    for name in ("filter", "startIndex", "count", "sortBy", "sortOrder")
]
_PROJECTION = [
    {"$ref": "#/components/parameters/attributes"},
    {"$ref": "#/components/parameters/excludedAttributes"},
]
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'An ETag (W/"3"): the write happens only if the resource still has it.',
    "schema": {"type": "string"},
}


def _operation(summary: str, responses: dict, **extra) -> dict:
    return {"summary": summary, "responses": {**responses, **_ERRORS}, **extra}


def _resource_paths(endpoint: str, name: str) -> dict:
    return {
        f"/{endpoint}": {
            "get": _operation(
                f"List or filter {endpoint} (RFC 7644 §3.4.2).",
                {"200": _response("A page of resources.", "ListResponse")},
                parameters=_LIST_PARAMETERS + _PROJECTION,
            ),
            "post": _operation(
                f"Create a {name} (RFC 7644 §3.3).",
                {"201": _response(f"The created {name}.", name)},
                requestBody=_body(name),
                parameters=_PROJECTION,
            ),
        },
        f"/{endpoint}/{{id}}": {
            "parameters": [_ID],
            "get": _operation(
                f"Read a {name}.", {"200": _response(name, name)}, parameters=_PROJECTION
            ),
            "put": _operation(
                f"Replace a {name} (RFC 7644 §3.5.1).",
                {"200": _response(f"The replaced {name}.", name)},
                requestBody=_body(name),
                parameters=[_IF_MATCH, *_PROJECTION],
            ),
            "patch": _operation(
                f"Modify a {name} (RFC 7644 §3.5.2), in either Azure AD dialect.",
                {
                    "200": _response(f"The modified {name}.", name),
                    "204": _response("Modified (Groups without attributes=…)."),
                },
                requestBody=_body("PatchOp"),
                parameters=[_IF_MATCH, *_PROJECTION],
            ),
            "delete": _operation(
                f"Delete a {name}.", {"204": _response("Deleted.")}, parameters=[_IF_MATCH]
            ),
        },
        f"/{endpoint}/.search": {
            "post": _operation(
                f"Search {endpoint} (RFC 7644 §3.4.3).",
                {"200": _response("A page of resources.", "ListResponse")},
                requestBody=_body("SearchRequest"),
            )
        },
    }


def _discovery(summary: str, schema: str | None = None) -> dict:
    return {"get": _operation(summary, {"200": _response(summary, schema)})}


def openapi_document(*, base_url: str) -> dict:
    """The OpenAPI 3.0 description of the SCIM API served at ``base_url``."""
    paths = {
        **_resource_paths("Users", "User"),
        **_resource_paths("Groups", "Group"),
        "/.search": {
            "post": _operation(
                "Search Users and Groups together (RFC 7644 §3.4.3).",
                {"200": _response("A page of resources.", "ListResponse")},
                requestBody=_body("SearchRequest"),
            )
        },
        "/Bulk": {
            "post": _operation(
                f"Up to {BULK_MAX_OPERATIONS} operations, with bulkId references (§3.7).",
                {"200": _response("The result of each operation.", "BulkResponse")},
                requestBody=_body("BulkRequest"),
            )
        },
        "/ServiceProviderConfig": _discovery("What this server supports (RFC 7644 §4).", None),
        "/ResourceTypes": _discovery("The resource types.", "ListResponse"),
        "/ResourceTypes/{name}": {
            "parameters": [{**_ID, "name": "name"}],
            **_discovery("One resource type."),
        },
        "/Schemas": _discovery("The schemas (RFC 7643 §7).", "ListResponse"),
        "/Schemas/{id}": {"parameters": [_ID], **_discovery("One schema, by its URN.")},
        "/openapi.json": {
            "get": {
                "summary": "This document. No token needed.",
                "security": [],
                "responses": {"200": {"description": "An OpenAPI 3.0 document."}},
            }
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Elium SCIM 2.0 API",
            "version": "2.0",
            "description": (
                "The SCIM 2.0 service provider (RFC 7643, RFC 7644) of one Elium tenant, as "
                "Microsoft Entra ID (Azure AD) provisions into it. Authenticate with the tenant's "
                "Secret token from Settings › Security: `Authorization: Bearer <token>`."
            ),
        },
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "filter": {
                    "name": "filter",
                    "in": "query",
                    "description": 'A filter (RFC 7644 §3.4.2.2), e.g. userName eq "a@b.c".',
                    "schema": {"type": "string"},
                },
                "startIndex": {
                    "name": "startIndex",
                    "in": "query",
                    "description": "1-based index of the first result; below 1 means 1.",
                    "schema": {"type": "integer", "maximum": MAX_START_INDEX},
                },
                "count": {
                    "name": "count",
                    "in": "query",
                    "description": f"Page size; negative means 0, at most {MAX_RESULTS}.",
                    "schema": {"type": "integer"},
                },
                "sortBy": {"name": "sortBy", "in": "query", "schema": {"type": "string"}},
                "sortOrder": {
                    "name": "sortOrder",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["ascending", "descending"]},
                },
                "attributes": {
                    "name": "attributes",
                    "in": "query",
                    "description": "Comma-separated attributes to return.",
                    "schema": {"type": "string"},
                },
                "excludedAttributes": {
                    "name": "excludedAttributes",
                    "in": "query",
                    "description": "Comma-separated attributes not to return.",
                    "schema": {"type": "string"},
                },
            },
            "schemas": {
                "User": _resource(USER_SCHEMA, extensions=(ENTERPRISE_USER_SCHEMA,)),
                "Group": _resource(GROUP_SCHEMA),
                "PatchOp": _message(
                    PATCH_OP,
                    {
                        "Operations": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["op"],
                                "properties": {
                                    "op": {
                                        "type": "string",
                                        "description": "add, remove or replace (any case).",
                                    },
                                    "path": {"type": "string"},
                                    "value": {},
                                },
                            },
                        }
                    },
                    required=("Operations",),
                ),
                "SearchRequest": _message(
                    SEARCH_REQUEST,
                    {
                        "filter": {"type": "string"},
                        "startIndex": {"type": "integer", "maximum": MAX_START_INDEX},
                        "count": {"type": "integer"},
                        "sortBy": {"type": "string"},
                        "sortOrder": {"type": "string", "enum": ["ascending", "descending"]},
                        "attributes": {"type": "array", "items": {"type": "string"}},
                        "excludedAttributes": {"type": "array", "items": {"type": "string"}},
                    },
                ),
                "BulkRequest": _message(
                    BULK_REQUEST,
                    {
                        "failOnErrors": {"type": "integer", "minimum": 1},
                        "Operations": {
                            "type": "array",
                            "maxItems": BULK_MAX_OPERATIONS,
                            "items": {
                                "type": "object",
                                "required": ["method", "path"],
                                "properties": {
                                    "method": {
                                        "type": "string",
                                        "enum": ["POST", "PUT", "PATCH", "DELETE"],
                                    },
                                    "path": {"type": "string", "example": "/Users"},
                                    "bulkId": {"type": "string"},
                                    "version": {"type": "string"},
                                    "data": {"type": "object"},
                                },
                            },
                        },
                    },
                    required=("Operations",),
                ),
                "BulkResponse": _message(BULK_RESPONSE, {"Operations": {"type": "array"}}),
                "ListResponse": _message(
                    LIST_RESPONSE,
                    {
                        "totalResults": {"type": "integer"},
                        "startIndex": {"type": "integer"},
                        "itemsPerPage": {"type": "integer"},
                        "Resources": {"type": "array", "items": {"type": "object"}},
                    },
                ),
                "Error": _message(
                    ERROR,
                    {
                        "status": {"type": "string"},
                        "scimType": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                    required=("status",),
                ),
            },
        },
    }


@method_decorator(csrf_exempt, name="dispatch")  # no session, no cookie: nothing to forge
class OpenApiView(View):
    """The document for the tenant URL in the request's path (see the module docstring). Not a
    SCIM endpoint, so not a :class:`~scim_api.api.base.ScimView`: no token, no tenant."""

    http_method_names = ["get", "head", "options"]

    def get(self, request, slug: str):
        document = openapi_document(base_url=Tenant(slug=slug).scim_base_url)
        return JsonResponse(document, json_dumps_params={"ensure_ascii": False})
