"""Reads of the SCIM API. Filtering, counting and paging happen in SQL, and each list runs a
constant number of queries whatever the page size."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass

import orjson
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from scim2_models.path import CompareOperator, Comparison

from elium_portal.fastsql import (
    among,
    by_id_sql,
    fetch_one,
    instance_from_row,
    instances_from_rows,
    select_list,
)
from elium_portal.models import Tenant
from scim_api.errors import InvalidFilter, NotFound
from scim_api.filters import check_text_value, compile_filter, compile_sort, parse_filter
from scim_api.models import ScimChange, ScimGroup, ScimRequestLog, ScimResourceCount, ScimUser
from scim_api.paging import Along, counts_sql, plain_page
from scim_api.policy import CompatibilityPolicy
from scim_api.representation import Member, user_document_sql, user_group_sql
from scim_api.schema import ENTERPRISE_USER
from scim_api.validation import parse_uuid


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    start_index: int


def _page(queryset: QuerySet, *, start_index: int, count: int) -> Page:
    """One page and the total. A page that is not full already tells the total, so the
    COUNT(*) is only run when it is needed — Azure AD's matching queries (0 or 1 hit) never
    pay for it."""
    if count == 0:
        return Page([], queryset.count(), start_index)
    offset = start_index - 1
    items = list(queryset[offset : offset + count])
    if len(items) < count and (items or offset == 0):
        return Page(items, offset + len(items), start_index)
    return Page(items, queryset.count(), start_index)


#: Attributes whose ``eq "text"`` compiles to SQL that does not depend on the text (a column,
#: compared with or without ``lower()``): Azure AD's matching queries. Their SQL is built once.
_PREBUILT_EQ_ATTRIBUTES = {"username", "externalid", "displayname"}
_TENANT_SENTINEL = -7_300_001
_TEXT_SENTINELS = ("SeNtInEl-Aa1", "SeNtInEl-Bb2")


@functools.cache
def _page_fields(model) -> tuple:
    """The fields a page loads: all but a user's password."""
    return tuple(
        f for f in model._meta.concrete_fields if not (model is ScimUser and f.name == "password")
    )


@functools.cache
def _prebuilt_sql(model, resource_type: str, attribute: str, policy: CompatibilityPolicy):
    """The ORM's own SQL for "the tenant's resources where ``attribute`` eq <text> in the
    default order", compiled once, with the positions of its tenant and text parameters — or
    None when compiling it with two different texts does not give the same SQL with the text
    as a plain parameter (then every request compiles its own). Its last two parameters are
    the page's LIMIT and OFFSET."""
    fields = _page_fields(model)
    compiled = []
    for text in _TEXT_SENTINELS:
        queryset = model.objects.filter(tenant_id=_TENANT_SENTINEL).filter(
            compile_filter(f'{attribute} eq "{text}"', resource_type=resource_type, policy=policy)
        )
        queryset = queryset.order_by("created", "id")
        if model is ScimUser:
            queryset = queryset.defer("password")
        sql, params = queryset.query.sql_with_params()
        kinds = []
        for param in params:
            if param == _TENANT_SENTINEL:
                kinds.append("tenant")
            elif param == text:
                kinds.append("text")
            else:
                return None
        compiled.append((sql, tuple(kinds)))
    if compiled[0] != compiled[1]:
        return None
    sql, kinds = compiled[0]
    return sql + " LIMIT %s OFFSET %s", kinds, fields


def _prebuilt_page(
    model,
    *,
    tenant: Tenant,
    resource_type: str,
    policy: CompatibilityPolicy,
    filter_text: str | None,
    sort_by: str | None,
    start_index: int,
    count: int,
) -> Page | None:
    """The page through pre-built SQL when the request has the shape of Azure AD's matching
    query (one ``eq`` on userName/externalId/displayName) or of a plain list (then through
    :func:`scim_api.paging.plain_page`), else None.

    The filter is parsed (its syntax is its validation); its shape was compiled once, with two
    sentinel values, when its SQL was built, so of the request's own value only what compiling
    checks of a value is checked. What is saved is compiling it and the ORM turning it into
    SQL, several times the cost of running it."""
    if sort_by or count == 0:
        return None
    if not filter_text:
        page = plain_page(
            model,
            _page_fields(model),
            resource=resource_type,
            tenant_id=tenant.pk,
            offset=start_index - 1,
            count=count,
            along=_USER_PAGE_ALONG if model is ScimUser else Along(),
        )
        if model is ScimUser:
            for user, extras in zip(page.rows, page.extras, strict=True):
                user.read_along = _read_along(*extras)
        return Page(page.rows, page.total, start_index)
    node = parse_filter(filter_text, policy=policy)
    if not (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and isinstance(node.value, str)
        and str(node.attr_path).lower() in _PREBUILT_EQ_ATTRIBUTES
    ):
        return None
    attribute, text = str(node.attr_path).lower(), node.value
    try:
        prebuilt = _prebuilt_sql(model, resource_type, attribute, policy)
    except InvalidFilter:
        return None  # not an attribute here: the ORM path compiles the request's own filter
    if prebuilt is None:
        return None
    check_text_value(text, node)
    sql, kinds, fields = prebuilt
    offset = start_index - 1
    params = [tenant.pk if kind == "tenant" else text for kind in kinds] + [count, offset]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    items = instances_from_rows(model, rows, fields=fields)
    if len(items) < count and (items or offset == 0):
        return Page(items, offset + len(items), start_index)
    return None  # a full page of matches: rare, and the ORM path counts them


def resource_total(model, *, tenant: Tenant) -> int:
    """How many users (``model`` ScimUser) or groups (ScimGroup) ``tenant`` has: the sum of its
    trigger-kept counts (:class:`ScimResourceCount`), the same number ``COUNT(*)`` gives, read
    as a page reads it (:func:`scim_api.paging.counts_sql`)."""
    resource = (
        ScimResourceCount.Resource.USER if model is ScimUser else ScimResourceCount.Resource.GROUP
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT total FROM ({counts_sql()}) c", {"tenant": tenant.pk, "resource": resource}
        )
        return int(cursor.fetchone()[0])


def _search(
    model,
    *,
    tenant: Tenant,
    resource_type: str,
    policy: CompatibilityPolicy,
    filter_text: str | None,
    sort_by: str | None,
    descending: bool,
) -> QuerySet:
    queryset = model.objects.for_tenant(tenant)
    if filter_text:
        queryset = queryset.filter(
            compile_filter(filter_text, resource_type=resource_type, policy=policy)
        )
    if sort_by:
        order = compile_sort(sort_by, resource_type=resource_type, descending=descending)
        return queryset.order_by(*order, "created", "id")
    return queryset.order_by("created", "id")


def user_search(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    filter_text: str | None = None,
    sort_by: str | None = None,
    descending: bool = False,
    start_index: int = 1,
    count: int = 100,
) -> Page:
    page = _prebuilt_page(
        ScimUser,
        tenant=tenant,
        resource_type="User",
        policy=policy,
        filter_text=filter_text,
        sort_by=sort_by,
        start_index=start_index,
        count=count,
    )
    if page is not None:
        return page
    queryset = _search(
        ScimUser,
        tenant=tenant,
        resource_type="User",
        policy=policy,
        filter_text=filter_text,
        sort_by=sort_by,
        descending=descending,
    )
    return _page(queryset.defer("password"), start_index=start_index, count=count)


def group_search(
    *,
    tenant: Tenant,
    policy: CompatibilityPolicy,
    filter_text: str | None = None,
    sort_by: str | None = None,
    descending: bool = False,
    start_index: int = 1,
    count: int = 100,
) -> Page:
    page = _prebuilt_page(
        ScimGroup,
        tenant=tenant,
        resource_type="Group",
        policy=policy,
        filter_text=filter_text,
        sort_by=sort_by,
        start_index=start_index,
        count=count,
    )
    if page is not None:
        return page
    queryset = _search(
        ScimGroup,
        tenant=tenant,
        resource_type="Group",
        policy=policy,
        filter_text=filter_text,
        sort_by=sort_by,
        descending=descending,
    )
    return _page(queryset, start_index=start_index, count=count)


def _by_id(model, *, tenant: Tenant, pk):
    """One resource of ``tenant`` by primary key, through a pre-built query (hot path)."""
    return fetch_one(model, by_id_sql(model), [pk, tenant.pk])


def user_get(*, tenant: Tenant, user_id: str) -> ScimUser:
    """A user of ``tenant`` by id; another tenant's id is a 404 like an unknown one. Its groups
    and its manager's name are read by the same query (:class:`ReadAlong`), so that the
    response costs one round trip."""
    value = parse_uuid(user_id)
    row = None
    if value:
        with connection.cursor() as cursor:
            cursor.execute(_user_get_sql(), [value, tenant.pk])
            row = cursor.fetchone()
    if row is None:
        raise NotFound(f"User {user_id} not found.")
    *columns, groups, manager_value, manager_name = row
    user = instance_from_row(ScimUser, columns)
    user.read_along = _read_along(groups, manager_value, manager_name)
    return user


_UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _manager_value(alias: str) -> str:
    """The manager's id as stored in the user row ``alias``'s document (SQL text)."""
    return f"{alias}.data -> '{ENTERPRISE_USER}' -> 'manager' ->> 'value'"


def _manager_uuid(alias: str) -> str:
    """:func:`_manager_value` as a uuid, or NULL when it is not one (SQL)."""
    value = _manager_value(alias)
    return f"CASE WHEN {value} ~ '{_UUID_PATTERN}' THEN ({value})::uuid END"


#: The name :func:`managers_of_users` shows for a user row ``{b}`` (SQL).
_SHOWN_NAME = "COALESCE(NULLIF({b}.display_name, ''), {b}.user_name)"


@functools.cache
def _read_along_columns(alias: str) -> str:
    """Three columns over the user row ``alias``: its groups as :func:`groups_of_users` orders
    them (a JSON array of ``[id, displayName]`` pairs, as text), its manager's id as stored, and
    that manager's name as :func:`managers_of_users` gives it."""
    return (
        "(SELECT COALESCE(json_agg(json_build_array(m.group_id, g.display_name) "
        "ORDER BY g.display_name, m.group_id), '[]')::text FROM scim_api_scimgroupmember m "
        "JOIN scim_api_scimgroup g ON g.id = m.group_id "
        f"WHERE m.tenant_id = {alias}.tenant_id AND m.user_id = {alias}.id), "
        f"{_manager_value(alias)}, "
        f"(SELECT {_SHOWN_NAME.format(b='b')} FROM scim_api_scimuser b "
        f"WHERE b.tenant_id = {alias}.tenant_id AND b.id = {_manager_uuid(alias)})"
    )


def _page_groups_cte(entry: str) -> str:
    """``page_groups``: the groups of each user of the page (``page_ids``), as the text of a
    JSON array of ``entry`` (SQL over the membership ``m`` and the group ``g``), in the order
    :func:`groups_of_users` gives them."""
    return (
        f"page_groups AS (SELECT m.user_id, json_agg({entry} ORDER BY g.display_name, "
        "m.group_id)::text AS groups FROM page_ids "
        "JOIN scim_api_scimgroupmember m ON m.user_id = ANY(page_ids.ids) "
        "JOIN scim_api_scimgroup g ON g.id = m.group_id "
        "WHERE m.tenant_id = %(tenant)s GROUP BY m.user_id)"
    )


#: The join of each user ``p`` of a page to its groups and to its manager ``b``.
_USER_PAGE_JOINS = (
    "LEFT JOIN page_groups pg ON pg.user_id = p.id "
    "LEFT JOIN scim_api_scimuser b ON b.tenant_id = p.tenant_id "
    f"AND b.id = {_manager_uuid('p')}"
)

#: What a page of users reads along, in its statement: the same three values as
#: :func:`_read_along_columns`, with the page's memberships read by one join for all its users
#: (a subquery per user cost PostgreSQL twice as much as the page itself).
_USER_PAGE_ALONG = Along(
    ctes=_page_groups_cte("json_build_array(m.group_id, g.display_name)"),
    columns=f"COALESCE(pg.groups, '[]'), {_manager_value('p')}, {_SHOWN_NAME.format(b='b')}",
    joins=_USER_PAGE_JOINS,
)

#: A page of users as their JSON documents, written by PostgreSQL: one column, the text of
#: :func:`scim_api.representation.user_document_sql` (parameter ``base``: the SCIM base URL).
_USER_DOCUMENT_ALONG = Along(
    ctes=_page_groups_cte(user_group_sql("m.group_id", "g.display_name", base="%(base)s::text")),
    columns=user_document_sql(
        "p", groups="pg.groups", manager_name=_SHOWN_NAME.format(b="b"), base="%(base)s::text"
    ),
    joins=_USER_PAGE_JOINS,
)


def user_documents(*, tenant: Tenant, start_index: int, count: int, base_url: str) -> Page | None:
    """A plain page of users (no filter, sort or projection) with each user as the JSON text
    of its representation, written by PostgreSQL in the page's one statement; None when a user
    of the page has a stored document PostgreSQL does not render as Python does (then the
    page is rendered by :func:`scim_api.representation.user_to_scim`)."""
    if count == 0:
        return None
    page = plain_page(
        ScimUser,
        (),
        resource="User",
        tenant_id=tenant.pk,
        offset=start_index - 1,
        count=count,
        along=_USER_DOCUMENT_ALONG,
        params={"base": base_url},
    )
    documents = [extras[0] for extras in page.extras]
    if "" in documents:
        return None
    return Page(documents, page.total, start_index)


def _read_along(groups_json: str, manager_value, manager_name) -> ReadAlong:
    return ReadAlong(
        groups=[tuple(pair) for pair in orjson.loads(groups_json)],
        managers={manager_value: manager_name} if manager_name is not None else {},
    )


@functools.cache
def _user_get_sql() -> str:
    """One user by id and tenant, with its :func:`_read_along_columns`."""
    return (
        f"SELECT {select_list(ScimUser, 'r')}, {_read_along_columns('r')} "
        'FROM "scim_api_scimuser" r WHERE r."id" = %s AND r."tenant_id" = %s'
    )


def group_get(*, tenant: Tenant, group_id: str) -> ScimGroup:
    value = parse_uuid(group_id)
    group = _by_id(ScimGroup, tenant=tenant, pk=value) if value else None
    if group is None:
        raise NotFound(f"Group {group_id} not found.")
    return group


@dataclass(frozen=True)
class ReadAlong:
    """What was read along with a user, by the same statement, for its representation — its
    groups, ``(id, displayName)`` by displayName as :func:`groups_of_users` gives them, and its
    manager's name by id as :func:`managers_of_users` does — so that rendering asks nothing
    again. Left on the user as ``read_along`` by :func:`user_get` and the PATCH service."""

    groups: list
    managers: dict


#: The groups of one user, as :func:`groups_of_users` orders them, as a JSON array of
#: ``[id, displayName]`` pairs: a scalar subquery for a write's own statement (parameters: the
#: tenant's id, the user's id).
GROUPS_OF_USER_JSON = (
    "SELECT COALESCE(json_agg(json_build_array(m.group_id, g.display_name) "
    "ORDER BY g.display_name, m.group_id), '[]') FROM scim_api_scimgroupmember m "
    "JOIN scim_api_scimgroup g ON g.id = m.group_id WHERE m.tenant_id = %s AND m.user_id = %s"
)
#: The name :func:`managers_of_users` shows for a manager: a scalar subquery (parameters: the
#: tenant's id, the manager's id or None).
MANAGER_NAME = (
    f"SELECT {_SHOWN_NAME.format(b='b')} FROM scim_api_scimuser b WHERE tenant_id = %s AND id = %s"
)


def groups_of_users(*, tenant: Tenant, user_ids: list) -> dict:
    """{user id: [(group id as text, displayName), …]} in one query (PostgreSQL writes the ids'
    text: the representation wants nothing else of them)."""
    out: dict = defaultdict(list)
    if not user_ids:
        return out
    compared, ids = among(user_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.user_id, m.group_id::text, g.display_name FROM scim_api_scimgroupmember m "
            "JOIN scim_api_scimgroup g ON g.id = m.group_id "
            f"WHERE m.tenant_id = %s AND m.user_id {compared} ORDER BY g.display_name, m.group_id",
            [tenant.pk, ids],
        )
        rows = cursor.fetchall()
    for user_id, group_id, name in rows:
        out[user_id].append((group_id, name))
    return out


def managers_of_users(*, tenant: Tenant, users: list[ScimUser]) -> dict:
    """{manager id (str): displayName or userName} for the managers the users name, one query."""
    ids = set()
    for user in users:
        manager = (user.data.get(ENTERPRISE_USER) or {}).get("manager") or {}
        value = parse_uuid(manager.get("value")) if isinstance(manager, dict) else None
        if value:
            ids.add(value)
    if not ids:
        return {}
    compared, values = among(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, display_name, user_name FROM scim_api_scimuser "
            f"WHERE tenant_id = %s AND id {compared}",
            [tenant.pk, values],
        )
        rows = cursor.fetchall()
    return {str(pk): display or user_name for pk, display, user_name in rows}


def members_of_groups(*, tenant: Tenant, group_ids: list) -> dict:
    """{group id: [Member, …]} in one query (users and nested groups)."""
    out: dict = defaultdict(list)
    if not group_ids:
        return out
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.group_id, m.user_id, u.display_name, u.user_name, m.member_group_id, "
            "g.display_name FROM scim_api_scimgroupmember m "
            "LEFT JOIN scim_api_scimuser u ON u.id = m.user_id "
            "LEFT JOIN scim_api_scimgroup g ON g.id = m.member_group_id "
            "WHERE m.tenant_id = %s AND m.group_id = ANY(%s) "
            "AND (m.user_id IS NOT NULL OR m.member_group_id IS NOT NULL) ORDER BY m.id",
            [tenant.pk, list(group_ids)],
        )
        rows = cursor.fetchall()
    for group_id, user_id, display, user_name, member_group_id, group_name in rows:
        if user_id:
            out[group_id].append(Member(str(user_id), "User", display or user_name))
        else:
            out[group_id].append(Member(str(member_group_id), "Group", group_name))
    return out


def people_directory(*, tenant: Tenant, search: str = "", state: str = "all") -> QuerySet[ScimUser]:
    """The tenant's people for the Elium console: searchable by name, userName or email,
    filterable by active state. Filtering happens in SQL."""
    queryset = ScimUser.objects.for_tenant(tenant).defer("password")
    if state == "active":
        queryset = queryset.filter(active=True)
    elif state == "deactivated":
        queryset = queryset.filter(active=False)
    search = search.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if search:
        queryset = queryset.filter(
            Q(user_name__icontains=search)
            | Q(display_name__icontains=search)
            | Q(external_id__icontains=search)
            | Q(data__name__givenName__icontains=search)
            | Q(data__name__familyName__icontains=search)
        )
    return queryset.order_by("user_name")


def group_directory(*, tenant: Tenant, search: str = "") -> QuerySet[ScimGroup]:
    queryset = ScimGroup.objects.for_tenant(tenant).annotate(member_count=Count("memberships"))
    search = search.replace("\x00", "").strip()
    if search:
        queryset = queryset.filter(display_name__icontains=search)
    return queryset.order_by("display_name")


def recent_requests(*, tenant: Tenant, limit: int = 20) -> list[ScimRequestLog]:
    return list(ScimRequestLog.objects.filter(tenant=tenant).order_by("-created_at", "-id")[:limit])


def change_feed(
    *,
    tenant: Tenant,
    search: str = "",
    kind: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[ScimChange]:
    """The tenant's change feed, newest first, filtered. ``search`` is an id (of the person or
    group, or of the request) or the beginning of a name or userName, case-insensitive — each
    served by an index; ``until`` is exclusive."""
    queryset = ScimChange.objects.for_tenant(tenant)
    search = search.replace("\x00", "").strip()
    term_id = parse_uuid(search) if search else None
    if term_id is not None:
        queryset = queryset.filter(
            Q(object_id=term_id) | Q(group_id=term_id) | Q(request_id=term_id)
        )
    elif search:
        prefix = search.lower()
        queryset = queryset.alias(
            name_lower=Lower("object_name"),
            user_name_lower=Lower("user_name"),
            group_name_lower=Lower("group_name"),
        ).filter(
            Q(name_lower__startswith=prefix)
            | Q(user_name_lower__startswith=prefix)
            | Q(group_name_lower__startswith=prefix)
        )
    if kind:
        queryset = queryset.filter(kind=kind)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    return queryset.order_by("-created_at", "-id")


@dataclass(frozen=True)
class Cursor:
    """A position in the feed: the (time, id) of a row, as text in a page link."""

    created_at: dt.datetime
    id: int

    def __str__(self) -> str:
        return f"{self.created_at.isoformat()}~{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        if not text or "~" not in text:
            return None
        when, _, pk = text.rpartition("~")
        try:
            created_at = dt.datetime.fromisoformat(when)
            number = int(pk)
        except ValueError:
            return None
        if created_at.tzinfo is None or not 0 < number < 2**63:
            return None
        return cls(created_at, number)

    @classmethod
    def of(cls, row: ScimChange) -> Cursor:
        return cls(row.created_at, row.id)


@dataclass(frozen=True)
class FeedPage:
    rows: list[ScimChange]
    older: Cursor | None  # the link to older rows, when there are
    newer: Cursor | None  # the link to newer rows, when there are


def change_feed_page(
    queryset: QuerySet[ScimChange],
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = 50,
) -> FeedPage:
    """One page of a :func:`change_feed` by keyset (one query, whatever the page's depth and
    the feed's size — no ``COUNT(*)``): the ``size`` rows older than ``before``, or newer than
    ``after``, or the newest."""
    if after is not None:
        # The bound on created_at alone is what an index scan can start from.
        newer = queryset.filter(created_at__gte=after.created_at).filter(
            Q(created_at__gt=after.created_at) | Q(id__gt=after.id)
        )
        rows = list(newer.order_by("created_at", "id")[: size + 1])
        more = len(rows) > size
        rows = list(reversed(rows[:size]))
        return FeedPage(
            rows,
            older=Cursor.of(rows[-1]) if rows else None,
            newer=Cursor.of(rows[0]) if more else None,
        )
    if before is not None:
        queryset = queryset.filter(created_at__lte=before.created_at).filter(
            Q(created_at__lt=before.created_at) | Q(id__lt=before.id)
        )
    rows = list(queryset[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return FeedPage(
        rows,
        older=Cursor.of(rows[-1]) if more else None,
        newer=Cursor.of(rows[0]) if before is not None and rows else None,
    )
