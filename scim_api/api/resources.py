"""Users and Groups endpoints (RFC 7644 §3.2–3.6): list/filter, search, create, read, replace,
modify, delete."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPMethod

from django.conf import settings
from django.db import OperationalError, connection
from psycopg.errors import DeadlockDetected, SerializationFailure
from rest_framework import status
from rest_framework.response import Response

from scim_api import selectors
from scim_api.api.base import RawJSON, ScimView
from scim_api.authentication import request_header
from scim_api.errors import InvalidFilter, InvalidSyntax, InvalidValue, ScimError
from scim_api.representation import (
    AttrRef,
    etag,
    group_to_scim,
    parse_attribute_list,
    project,
    user_to_scim,
    wants,
)
from scim_api.schema import CORE_USER, ENTERPRISE_USER, LIST_RESPONSE, SEARCH_REQUEST
from scim_api.services.registry import GROUP_OPERATIONS, USER_OPERATIONS, ResourceOperations
from scim_api.validation import check_storable

logger = logging.getLogger(__name__)

#: Runs of a write that lost a deadlock or serialization conflict (see ``ResourceView.write``).
WRITE_ATTEMPTS = 3

KNOWN_QUERY_PARAMETERS = {
    "filter",
    "startindex",
    "count",
    "sortby",
    "sortorder",
    "attributes",
    "excludedattributes",
}


#: The largest ``startIndex`` accepted: PostgreSQL's integer range, far past any real page.
MAX_START_INDEX = 2**31 - 1


def max_page_size() -> int:
    return settings.SCIM_MAX_PAGE_SIZE


@dataclass(frozen=True)
class ListParams:
    filter: str | None
    start_index: int
    count: int
    sort_by: str | None
    descending: bool
    attributes: list[AttrRef]
    excluded: list[AttrRef]


def _int(value, name: str, default: int) -> int:
    """A query parameter's text or a SearchRequest's JSON value as an integer. ``true`` and
    ``1.5`` are not integers, whatever Python's ``int()`` makes of them."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise InvalidValue(f"{name} must be an integer, not {str(value)[:40]!r}.")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidValue(f"{name} must be an integer, not {str(value)[:40]!r}.") from None


def _start_index(value) -> int:
    start_index = _int(value, "startIndex", 1)
    if start_index > MAX_START_INDEX:
        raise InvalidValue(f"startIndex must be at most {MAX_START_INDEX}.")
    return max(1, start_index)


def _joined(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise InvalidValue("attributes and excludedAttributes must be lists of strings.")
        return ",".join(value)
    if isinstance(value, str):
        return value
    raise InvalidValue("attributes and excludedAttributes must be strings or lists of strings.")


def read_list_params(source: dict, *, core_schema: str) -> ListParams:
    """Query parameters (GET) or a SearchRequest body (POST /.search), names case-insensitive.
    ``startIndex`` below 1 means 1 and ``count`` is capped at the advertised maximum
    (RFC 7644 §3.4.2.4); a ``startIndex`` past :data:`MAX_START_INDEX` is a 400."""
    params = {str(k).lower(): v for k, v in source.items()}
    filter_text = params.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidValue("filter must be a string.")
    sort_order = params.get("sortorder") or "ascending"
    if not isinstance(sort_order, str) or sort_order.lower() not in ("ascending", "descending"):
        raise InvalidValue("sortOrder must be 'ascending' or 'descending'.")
    sort_by = params.get("sortby")
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValue("sortBy must be a string.")
    attributes = _joined(params.get("attributes"))
    excluded = _joined(params.get("excludedattributes"))
    if attributes and excluded:
        raise InvalidValue("Use attributes or excludedAttributes, not both.")
    return ListParams(
        filter=filter_text or None,
        start_index=_start_index(params.get("startindex")),
        count=min(max(0, _int(params.get("count"), "count", max_page_size())), max_page_size()),
        sort_by=sort_by or None,
        descending=sort_order.lower() == "descending",
        attributes=parse_attribute_list(attributes, core_schema=core_schema),
        excluded=parse_attribute_list(excluded, core_schema=core_schema),
    )


def list_body(page: selectors.Page, resources: list[dict]) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": page.total,
        "startIndex": page.start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


class ResourceView(ScimView):
    """Shared plumbing of the Users and Groups endpoints."""

    #: The selectors and services of the resource type, shared with Bulk.
    operations: ResourceOperations
    resource_type: str
    core_schema: str

    def check_query_parameters(self, request) -> None:
        if self.policy.ignore_unknown_query_parameters:
            return
        unknown = [k for k in request.query_params if k.lower() not in KNOWN_QUERY_PARAMETERS]
        if unknown:
            raise InvalidValue(f"Unknown query parameter {unknown[0]!r}.")

    def projection(self, request) -> ListParams:
        self.check_query_parameters(request)
        return read_list_params(request.query_params, core_schema=self.core_schema)

    def body(self, request) -> dict:
        data = request.data
        if not isinstance(data, dict):
            raise InvalidSyntax("The request body must be a JSON object.")
        check_storable(data)
        return data

    def if_match(self, request) -> str | None:
        return request_header(request, "If-Match")

    def single(self, request, obj, *, status_code=200, params: ListParams | None = None):
        params = params or self.projection(request)
        created = status_code == status.HTTP_201_CREATED
        body = project(
            self.render([obj], params, created=created)[0],
            attributes=params.attributes,
            excluded=params.excluded,
        )
        response = Response(body, status=status_code)
        response["ETag"] = etag(obj.version)
        if status_code == status.HTTP_201_CREATED:
            response["Location"] = body.get("meta", {}).get("location") or self.location(obj)
        return response

    def location(self, obj) -> str:
        return f"{self.base_url}/{self.resource_type}s/{obj.id}"

    def not_modified(self, request, obj) -> Response | None:
        if_none_match = request_header(request, "If-None-Match")
        if if_none_match and etag(obj.version) in [v.strip() for v in if_none_match.split(",")]:
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
            response["ETag"] = etag(obj.version)
            return response
        return None

    def fetch(self, resource_id):
        return self.operations.get(tenant=self.tenant, resource_id=resource_id)

    def reference(self, resource_id):
        """The resource a write names, for the write service to read (under lock)."""
        return self.operations.reference(resource_id)

    def write(self, method: HTTPMethod, *, resource=None, body=None, if_match=None):
        """Run the service behind ``method``, the one Bulk runs for the same operation.

        A write that PostgreSQL rolled back because it lost a deadlock or a serialization
        conflict to a concurrent write (Azure AD deletes a user and a group they share at the
        same moment, say) is run again, whole — it changed nothing — up to
        :data:`WRITE_ATTEMPTS` times, before the client gets the 503 a database error gets."""
        service = self.operations.write(method)
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return service(
                    tenant=self.tenant,
                    policy=self.policy,
                    origin=self.origin,
                    resource=resource,
                    body=body,
                    if_match=if_match,
                )
            except OperationalError as error:
                if (
                    attempt == WRITE_ATTEMPTS
                    or connection.in_atomic_block  # not ours to roll back and run again
                    or not isinstance(error.__cause__, DeadlockDetected | SerializationFailure)
                ):
                    raise
                logger.info(
                    "SCIM %s lost a %s to a concurrent write; running it again",
                    method,
                    type(error.__cause__).__name__,
                )
        raise AssertionError("unreachable")

    def search(self, params: ListParams) -> Response:
        documents = self.documents(params)
        if documents is not None:
            return Response(list_body(documents, [RawJSON(text) for text in documents.items]))
        page = self.operations.search(
            tenant=self.tenant,
            policy=self.policy,
            filter_text=params.filter,
            sort_by=params.sort_by,
            descending=params.descending,
            start_index=params.start_index,
            count=params.count,
        )
        resources = [
            project(r, attributes=params.attributes, excluded=params.excluded)
            for r in self.render(page.items, params)
        ]
        return Response(list_body(page, resources))

    def render(self, objs: list, params: ListParams, *, created: bool = False) -> list[dict]:
        """The representations of ``objs``; ``created``: they were created by this request."""
        raise NotImplementedError

    def documents(self, params: ListParams) -> selectors.Page | None:
        """The page as JSON texts of the full representations, when the database writes them
        for this request; else None (the page is read, then rendered by :meth:`render`)."""
        return None


class UserRenderMixin:
    resource_type = USER_OPERATIONS.resource_type
    core_schema = USER_OPERATIONS.core_schema

    def render(self, users, params: ListParams, *, created: bool = False) -> list[dict]:
        read = [getattr(u, "read_along", None) for u in users]
        if users and all(read):
            # A write read them in its own statement (ReadAlong).
            groups = {u.id: r.groups for u, r in zip(users, read, strict=True)}
            managers = {k: v for r in read for k, v in r.managers.items()}
        else:
            ids = [u.id for u in users]
            # A user created by this very request is in no group yet: no query to ask.
            groups = (
                selectors.groups_of_users(tenant=self.tenant, user_ids=ids)
                if not created and wants(params.attributes, params.excluded, "groups")
                else {}
            )
            managers = selectors.managers_of_users(tenant=self.tenant, users=users)
        out = []
        base_url = self.base_url
        for user in users:
            body = user_to_scim(user, base_url=base_url, groups=groups.get(user.id, []))
            extension = body.get(ENTERPRISE_USER)
            manager = extension.get("manager") if isinstance(extension, dict) else None
            if isinstance(manager, dict) and manager.get("value"):
                # Copies: the stored document's own dicts stay as they were read.
                manager = {**manager, "$ref": f"{base_url}/Users/{manager['value']}"}
                if manager["value"] in managers:
                    manager["displayName"] = managers[manager["value"]]
                body[ENTERPRISE_USER] = {**extension, "manager": manager}
            out.append(body)
        return out

    def documents(self, params: ListParams) -> selectors.Page | None:
        if params.filter or params.sort_by or params.attributes or params.excluded:
            return None
        return selectors.user_documents(
            tenant=self.tenant,
            start_index=params.start_index,
            count=params.count,
            base_url=self.base_url,
        )


class GroupRenderMixin:
    resource_type = GROUP_OPERATIONS.resource_type
    core_schema = GROUP_OPERATIONS.core_schema

    def render(self, groups, params: ListParams, *, created: bool = False) -> list[dict]:
        load_members = wants(params.attributes, params.excluded, "members")
        known = [getattr(g, "members_read", None) for g in groups]
        if load_members and groups and all(k is not None for k in known):
            # A write that knows them already (a group it created without members).
            members = {g.id: k for g, k in zip(groups, known, strict=True)}
        elif load_members:
            members = selectors.members_of_groups(
                tenant=self.tenant, group_ids=[g.id for g in groups]
            )
        else:
            members = {}
        base_url = self.base_url
        return [
            group_to_scim(
                g, base_url=base_url, members=members.get(g.id, []) if load_members else None
            )
            for g in groups
        ]


class CollectionView(ResourceView):
    """``GET`` (list/filter) and ``POST`` (create) on ``/Users`` or ``/Groups``."""

    def get(self, request, slug):
        return self.search(self.projection(request))

    def post(self, request, slug):
        # Validate the query first: a bad one must not follow a committed write.
        params = self.projection(request)
        obj = self.write(HTTPMethod.POST, body=self.body(request))
        return self.single(request, obj, status_code=status.HTTP_201_CREATED, params=params)


class DetailView(ResourceView):
    """``GET``/``PUT``/``PATCH``/``DELETE`` on ``/Users/{id}`` or ``/Groups/{id}``."""

    def get(self, request, slug, resource_id):
        obj = self.fetch(resource_id)
        return self.not_modified(request, obj) or self.single(request, obj)

    def put(self, request, slug, resource_id):
        params = self.projection(request)
        obj = self.write(
            HTTPMethod.PUT,
            resource=self.reference(resource_id),
            body=self.body(request),
            if_match=self.if_match(request),
        )
        return self.single(request, obj, params=params)

    def patch(self, request, slug, resource_id):
        params = self.projection(request)
        obj = self.write(
            HTTPMethod.PATCH,
            resource=self.reference(resource_id),
            body=self.body(request),
            if_match=self.if_match(request),
        )
        return self.patched(request, obj, params)

    def delete(self, request, slug, resource_id):
        self.write(
            HTTPMethod.DELETE,
            resource=self.reference(resource_id),
            if_match=self.if_match(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def patched(self, request, obj, params: ListParams) -> Response:
        return self.single(request, obj, params=params)


class UserOperationsMixin(UserRenderMixin):
    operations = USER_OPERATIONS


class GroupOperationsMixin(GroupRenderMixin):
    operations = GROUP_OPERATIONS

    def patched(self, request, group, params: ListParams) -> Response:
        if params.attributes or params.excluded:
            return self.single(request, group, params=params)
        # Azure AD's recommendation: 204, never the (possibly huge) member list.
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["ETag"] = etag(group.version)
        return response


class UsersView(UserOperationsMixin, CollectionView):
    pass


class UserDetailView(UserOperationsMixin, DetailView):
    pass


class GroupsView(GroupOperationsMixin, CollectionView):
    pass


class GroupDetailView(GroupOperationsMixin, DetailView):
    pass


class SearchView(ResourceView):
    """``POST /.search`` on a resource endpoint, or at the root across Users and Groups."""

    scope: str | None = None  # "User", "Group" or None for the root

    def post(self, request, slug):
        body = self.body(request)
        schemas = body.get("schemas")
        if not self.policy.ignore_unknown_schemas and schemas != [SEARCH_REQUEST]:
            raise InvalidValue(f"A search request must have schemas [{SEARCH_REQUEST!r}].")
        if self.scope == "User":
            view = UsersView
        elif self.scope == "Group":
            view = GroupsView
        else:
            return self.search_root(body)
        delegate = view()
        delegate.tenant, delegate.policy, delegate.request = self.tenant, self.policy, request
        params = read_list_params(
            {k: v for k, v in body.items() if k != "schemas"}, core_schema=view.core_schema
        )
        return delegate.search(params)

    def search_root(self, body: dict) -> Response:
        """Root search: Users first, then Groups, paged as one list (RFC 7644 §3.4.3)."""
        params = read_list_params(
            {k: v for k, v in body.items() if k != "schemas"}, core_schema=CORE_USER
        )
        resources: list[dict] = []
        total = 0
        remaining_start, remaining = params.start_index, params.count
        failures: list[ScimError] = []
        for view in (UsersView, GroupsView):
            delegate = view()
            delegate.tenant, delegate.policy = self.tenant, self.policy
            try:
                page = view.operations.search(
                    tenant=self.tenant,
                    policy=self.policy,
                    filter_text=params.filter,
                    sort_by=params.sort_by,
                    descending=params.descending,
                    start_index=remaining_start,
                    count=remaining,
                )
            except InvalidFilter as exc:
                # An attribute only one resource type has: the other simply has no match.
                failures.append(exc)
                continue
            total += page.total
            resources += [
                project(r, attributes=params.attributes, excluded=params.excluded)
                for r in delegate.render(page.items, params)
            ]
            remaining -= len(page.items)
            remaining_start = max(1, remaining_start - page.total)
        if len(failures) == 2:
            raise failures[0]
        return Response(
            {
                "schemas": [LIST_RESPONSE],
                "totalResults": total,
                "startIndex": params.start_index,
                "itemsPerPage": len(resources),
                "Resources": resources,
            }
        )
