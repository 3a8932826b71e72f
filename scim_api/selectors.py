"""Reads of the SCIM API. Filtering, counting and paging happen in SQL, and each list runs a
constant number of queries whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q, QuerySet

from elium_portal.fastsql import instance_from_row, select_list
from elium_portal.models import Tenant
from scim_api.errors import NotFound
from scim_api.filters import compile_filter, compile_sort
from scim_api.models import ScimGroup, ScimGroupMember, ScimRequestLog, ScimUser
from scim_api.policy import CompatibilityPolicy
from scim_api.representation import Member
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
    sql = (
        f'SELECT {select_list(model, "r")} FROM "{model._meta.db_table}" r '
        'WHERE r."id" = %s AND r."tenant_id" = %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk, tenant.pk])
        row = cursor.fetchone()
    return instance_from_row(model, row) if row else None


def user_get(*, tenant: Tenant, user_id: str) -> ScimUser:
    """A user of ``tenant`` by id; another tenant's id is a 404 like an unknown one."""
    value = parse_uuid(user_id)
    user = _by_id(ScimUser, tenant=tenant, pk=value) if value else None
    if user is None:
        raise NotFound(f"User {user_id} not found.")
    return user


def group_get(*, tenant: Tenant, group_id: str) -> ScimGroup:
    value = parse_uuid(group_id)
    group = _by_id(ScimGroup, tenant=tenant, pk=value) if value else None
    if group is None:
        raise NotFound(f"Group {group_id} not found.")
    return group


def groups_of_users(*, tenant: Tenant, user_ids: list) -> dict:
    """{user id: [(group id, displayName), …]} in one query."""
    out: dict = defaultdict(list)
    if not user_ids:
        return out
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.user_id, m.group_id, g.display_name FROM scim_api_scimgroupmember m "
            "JOIN scim_api_scimgroup g ON g.id = m.group_id "
            "WHERE m.tenant_id = %s AND m.user_id = ANY(%s) ORDER BY g.display_name",
            [tenant.pk, list(user_ids)],
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
    return {
        str(pk): display or user_name
        for pk, display, user_name in ScimUser.objects.for_tenant(tenant)
        .filter(id__in=ids)
        .values_list("id", "display_name", "user_name")
    }


def members_of_groups(*, tenant: Tenant, group_ids: list) -> dict:
    """{group id: [Member, …]} in one query (users and nested groups)."""
    out: dict = defaultdict(list)
    if not group_ids:
        return out
    rows = (
        ScimGroupMember.objects.filter(tenant=tenant, group_id__in=group_ids)
        .filter(Q(user__isnull=False) | Q(member_group__isnull=False))
        .order_by("id")
        .values_list(
            "group_id",
            "user_id",
            "user__display_name",
            "user__user_name",
            "member_group_id",
            "member_group__display_name",
        )
    )
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
