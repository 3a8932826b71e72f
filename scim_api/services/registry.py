"""The one table of what the SCIM API does with each resource type, by HTTP method.

The Users and Groups endpoints (:mod:`scim_api.api.resources`) and Bulk
(:mod:`scim_api.services.bulk`) both dispatch through it, so a resource request and the same
operation inside a Bulk request always reach the same selector and service. Every entry takes
keyword arguments only, the tenant explicitly.

The entries call :mod:`scim_api.selectors` and the services through their modules at call time,
never through names bound when this module is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPMethod
from typing import Any, Protocol

from elium_portal.models import Tenant
from scim_api import selectors
from scim_api.errors import NotFound
from scim_api.feed import Origin
from scim_api.models import ScimGroup, ScimUser
from scim_api.policy import CompatibilityPolicy
from scim_api.schema import CORE_GROUP, CORE_USER, GROUP_RESOURCE, USER_RESOURCE
from scim_api.services import groups as group_services
from scim_api.services import users as user_services
from scim_api.validation import parse_uuid

#: The methods that change a resource: what Bulk accepts (RFC 7644 §3.7).
WRITE_METHODS = (HTTPMethod.POST, HTTPMethod.PUT, HTTPMethod.PATCH, HTTPMethod.DELETE)

Resource = ScimUser | ScimGroup


class ResourceWrite(Protocol):
    """A write, in one shape for every method: POST ignores ``resource`` and ``if_match``,
    DELETE ignores ``policy`` and ``body`` and returns None. ``origin`` (the token and the
    request id) goes into the change feed."""

    def __call__(
        self,
        *,
        tenant: Tenant,
        policy: CompatibilityPolicy,
        origin: Origin,
        resource: Any,
        body: Any,
        if_match: str | None,
    ) -> Resource | None: ...


@dataclass(frozen=True)
class ResourceOperations:
    """The selectors and services behind one resource type's endpoints."""

    resource_type: str  # "User" or "Group"
    endpoint: str  # "Users" or "Groups", as in the URL
    core_schema: str
    #: ``GET /<endpoint>/<id>``: the resource of the tenant, or 404 ``NotFound``.
    get: Callable[..., Resource]
    #: ``PUT``/``PATCH``/``DELETE /<endpoint>/<id>``: the resource to hand to the write service,
    #: not read — every write service reads (and locks) its resource of the tenant first, 404
    #: when there is none, so reading it before would be a round trip for nothing. An id that
    #: cannot be one is a 404 at once.
    reference: Callable[[str], Resource]
    #: ``GET /<endpoint>`` and ``POST /.search``: one page of matches.
    search: Callable[..., selectors.Page]
    create: ResourceWrite  # POST /<endpoint>
    replace: ResourceWrite  # PUT /<endpoint>/<id>
    modify: ResourceWrite  # PATCH /<endpoint>/<id>
    delete: ResourceWrite  # DELETE /<endpoint>/<id>

    def write(self, method: str) -> ResourceWrite:
        """The service behind a write ``method`` (one of :data:`WRITE_METHODS`)."""
        return {
            HTTPMethod.POST: self.create,
            HTTPMethod.PUT: self.replace,
            HTTPMethod.PATCH: self.modify,
            HTTPMethod.DELETE: self.delete,
        }[HTTPMethod(method)]


# --- Users -------------------------------------------------------------------------------------


def _user_get(*, tenant: Tenant, resource_id: str) -> ScimUser:
    return selectors.user_get(tenant=tenant, user_id=resource_id)


def _user_reference(resource_id: str) -> ScimUser:
    value = parse_uuid(resource_id)
    if value is None:
        raise NotFound(f"User {resource_id} not found.")
    return ScimUser(pk=value)


def _user_search(**params: Any) -> selectors.Page:
    return selectors.user_search(**params)


def _user_create(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    resource: None,
    body: dict,
    if_match: None,
) -> ScimUser:
    return user_services.scim_user_create(tenant=tenant, body=body, policy=policy, origin=origin)


def _user_replace(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    resource: ScimUser,
    body: dict,
    if_match: str | None,
) -> ScimUser:
    return user_services.scim_user_replace(
        tenant=tenant, user=resource, body=body, policy=policy, origin=origin, if_match=if_match
    )


def _user_modify(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    resource: ScimUser,
    body: dict,
    if_match: str | None,
) -> ScimUser:
    return user_services.scim_user_patch(
        tenant=tenant, user=resource, body=body, policy=policy, origin=origin, if_match=if_match
    )


def _user_delete(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    resource: ScimUser,
    body: Any,
    if_match: str | None,
) -> None:
    user_services.scim_user_delete(tenant=tenant, user=resource, origin=origin, if_match=if_match)


# --- Groups ------------------------------------------------------------------------------------


def _group_get(*, tenant: Tenant, resource_id: str) -> ScimGroup:
    return selectors.group_get(tenant=tenant, group_id=resource_id)


def _group_reference(resource_id: str) -> ScimGroup:
    value = parse_uuid(resource_id)
    if value is None:
        raise NotFound(f"Group {resource_id} not found.")
    return ScimGroup(pk=value)


def _group_search(**params: Any) -> selectors.Page:
    return selectors.group_search(**params)


def _group_create(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    resource: None,
    body: dict,
    if_match: None,
) -> ScimGroup:
    return group_services.scim_group_create(tenant=tenant, body=body, policy=policy, origin=origin)


def _group_replace(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    resource: ScimGroup,
    body: dict,
    if_match: str | None,
) -> ScimGroup:
    return group_services.scim_group_replace(
        tenant=tenant, group=resource, body=body, policy=policy, origin=origin, if_match=if_match
    )


def _group_modify(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    resource: ScimGroup,
    body: dict,
    if_match: str | None,
) -> ScimGroup:
    return group_services.scim_group_patch(
        tenant=tenant, group=resource, body=body, policy=policy, origin=origin, if_match=if_match
    )


def _group_delete(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    origin: Origin,
    resource: ScimGroup,
    body: Any,
    if_match: str | None,
) -> None:
    group_services.scim_group_delete(
        tenant=tenant, group=resource, origin=origin, if_match=if_match
    )


USER_OPERATIONS = ResourceOperations(
    resource_type=USER_RESOURCE.name,
    endpoint=USER_RESOURCE.endpoint.lstrip("/"),
    core_schema=CORE_USER,
    get=_user_get,
    reference=_user_reference,
    search=_user_search,
    create=_user_create,
    replace=_user_replace,
    modify=_user_modify,
    delete=_user_delete,
)
GROUP_OPERATIONS = ResourceOperations(
    resource_type=GROUP_RESOURCE.name,
    endpoint=GROUP_RESOURCE.endpoint.lstrip("/"),
    core_schema=CORE_GROUP,
    get=_group_get,
    reference=_group_reference,
    search=_group_search,
    create=_group_create,
    replace=_group_replace,
    modify=_group_modify,
    delete=_group_delete,
)
#: Every resource type, in the order a root search (``POST /.search``) lists them.
RESOURCE_OPERATIONS = (USER_OPERATIONS, GROUP_OPERATIONS)


def resource_operations_for_endpoint(endpoint: str) -> ResourceOperations | None:
    """The operations of the endpoint ``endpoint`` names (``Users``, ``groups``…), or None."""
    lowered = endpoint.lower()
    return next((ops for ops in RESOURCE_OPERATIONS if ops.endpoint.lower() == lowered), None)
