"""Creating, replacing, patching and deleting SCIM groups, and changing their members.

Membership changes touch only the rows that change: adding one member to a 100,000-member
group inserts one row, removing one deletes one row, and nothing ever loads the member list.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction

from elium_portal import clock
from elium_portal.fastsql import among, by_id_sql, fetch_one, insert
from elium_portal.models import Tenant
from scim_api.errors import InvalidValue, NotFound
from scim_api.feed import Origin, document_changes
from scim_api.models import ScimChange, ScimGroup, ScimGroupMember
from scim_api.patch import MemberChanges, apply_patch, normalize_resource
from scim_api.policy import CompatibilityPolicy
from scim_api.services.common import (
    check_if_match,
    member_groups_touch,
    parse_uuid,
    statement_scope,
    unique_violation,
)
from scim_api.services.feed import (
    MEMBER_TABLE,
    FeedRow,
    feed_write,
    member_feed_sql,
    with_feed,
)
from scim_api.validation import check_column_lengths


def _copy_columns(group: ScimGroup, document: dict) -> None:
    check_column_lengths(document, ("displayName", "externalId"))
    group.display_name = document["displayName"]
    group.external_id = document.get("externalId")
    group.data = {
        k: v for k, v in document.items() if k not in ("displayName", "externalId", "members")
    }


def _document(group: ScimGroup) -> dict:
    document = dict(group.data)
    document["displayName"] = group.display_name
    if group.external_id is not None:
        document["externalId"] = group.external_id
    return document


def _detail(document: dict) -> str:
    return (
        f"A group with displayName {document.get('displayName')!r} already exists in this tenant."
    )


def _resolve_members(*, tenant: Tenant, group: ScimGroup, ids: list[str]) -> list[ScimGroupMember]:
    """Rows for ``ids``, each a user or group of ``tenant``. Unknown ids — including another
    tenant's — are rejected together, naming them."""
    parsed = {member_id: parse_uuid(member_id) for member_id in ids}
    invalid = [member_id for member_id, value in parsed.items() if value is None]
    wanted = {value for value in parsed.values() if value is not None}
    users, groups = set(), set()
    if wanted:
        # Users and groups in one round trip (ids are UUIDs: one is never both).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, true FROM scim_api_scimuser WHERE tenant_id = %s AND id = ANY(%s) "
                "UNION ALL "
                "SELECT id, false FROM scim_api_scimgroup WHERE tenant_id = %s AND id = ANY(%s)",
                [tenant.pk, list(wanted), tenant.pk, list(wanted)],
            )
            for value, is_user in cursor.fetchall():
                (users if is_user else groups).add(value)
        groups -= users
    unknown = invalid + [str(v) for v in wanted - users - groups]
    if group.pk in groups:
        raise InvalidValue("A group cannot be a member of itself.")
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise InvalidValue(f"No user or group of this tenant has the id {shown}{more}.")
    return [
        ScimGroupMember(
            tenant=tenant,
            group=group,
            user_id=value if value in users else None,
            member_group_id=value if value in groups else None,
        )
        for value in dict.fromkeys(v for v in parsed.values())
    ]


def scim_group_members_change(
    *, tenant: Tenant, group: ScimGroup, changes: MemberChanges, origin: Origin
) -> bool:
    """Apply ``changes`` row by row, each membership added or removed recorded in the change
    feed by the same statement. Returns whether any row changed. Runs inside the caller's
    transaction; concurrent adds to one group never lose a member (``ON CONFLICT DO NOTHING``)."""
    changed = False
    if changes.remove_all:
        changed |= _delete(tenant=tenant, group=group, origin=origin)
    if changes.replace is not None:
        rows = _resolve_members(tenant=tenant, group=group, ids=changes.replace)
        keep = [r.user_id or r.member_group_id for r in rows]
        changed |= _delete(
            tenant=tenant,
            group=group,
            origin=origin,
            condition="NOT (COALESCE(user_id, member_group_id) = ANY(%s::uuid[]))",
            params=[keep],
        )
        changed |= _insert(rows, tenant=tenant, group=group, origin=origin)
    if changes.remove:
        values = [v for v in (parse_uuid(i) for i in changes.remove) if v is not None]
        if values:
            changed |= _delete(
                tenant=tenant,
                group=group,
                origin=origin,
                condition=_MEMBER_IN,
                params=[values, values],
            )
    if changes.add:
        changed |= _insert(
            _resolve_members(tenant=tenant, group=group, ids=changes.add),
            tenant=tenant,
            group=group,
            origin=origin,
        )
    return changed


def _delete(
    *,
    tenant: Tenant,
    group: ScimGroup,
    origin: Origin,
    condition: str = "TRUE",
    params: list | None = None,
    touch: bool = False,
) -> bool:
    """Delete the group's memberships matching ``condition`` and record each in the feed, in
    one statement; True if any went. With ``touch``, the same statement also gives the group a
    new version and lastModified if any went (read back onto ``group``)."""
    feed_sql, feed_params = member_feed_sql(
        "gone", kind=ScimChange.Kind.MEMBER_REMOVED, tenant=tenant, group=group, origin=origin
    )
    sql = (
        f'WITH gone AS (DELETE FROM "{MEMBER_TABLE}" WHERE tenant_id = %s AND group_id = %s '
        f"AND {condition} RETURNING user_id, member_group_id), feed AS ({feed_sql})"
    )
    args = [tenant.pk, group.pk, *(params or []), *feed_params]
    if touch:
        sql += (
            f", {_TOUCH_IF % 'gone'} SELECT count(*), (SELECT version FROM touched), "
            "(SELECT last_modified FROM touched) FROM gone"
        )
        args += [clock.now(), group.pk]
    else:
        sql += " SELECT count(*) FROM gone"
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        row = cursor.fetchone()
    if touch and row[1] is not None:
        group.version, group.last_modified = row[1], row[2]
    return row[0] > 0


#: Memberships of the members given twice as one uuid[] parameter each, served by the unique
#: indexes (group, user) and (group, member group).
_MEMBER_IN = "(user_id = ANY(%s::uuid[]) OR member_group_id = ANY(%s::uuid[]))"


def _insert(
    rows: list[ScimGroupMember], *, tenant: Tenant, group: ScimGroup, origin: Origin
) -> bool:
    """Insert the rows that are not there yet and record each new one in the feed, in one
    statement; True if any was new."""
    if not rows:
        return False
    now = clock.now()
    feed_sql, feed_params = member_feed_sql(
        "added", kind=ScimChange.Kind.MEMBER_ADDED, tenant=tenant, group=group, origin=origin
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'WITH added AS (INSERT INTO "{MEMBER_TABLE}" '
            "(tenant_id, group_id, user_id, member_group_id, created) "
            "SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::uuid[], %s::uuid[], "
            "%s::timestamptz[]) ON CONFLICT DO NOTHING RETURNING user_id, member_group_id), "
            f"feed AS ({feed_sql}) SELECT count(*) FROM added",
            [
                [r.tenant_id for r in rows],
                [r.group_id for r in rows],
                [r.user_id for r in rows],
                [r.member_group_id for r in rows],
                [now] * len(rows),
                *feed_params,
            ],
        )
        return cursor.fetchone()[0] > 0


def _row(group: ScimGroup, kind: str, changes: list | None = None) -> FeedRow:
    return FeedRow(
        kind=kind,
        object_type=ScimChange.ObjectType.GROUP,
        object_id=group.id,
        object_name=group.display_name,
        changes=changes or [],
    )


def _update_rows(group: ScimGroup, *, before: dict, after: dict) -> list[FeedRow]:
    """A rename, and any other attribute changes, as feed rows."""
    changes = document_changes(before, after)
    renamed = [c for c in changes if c["attribute"] == "displayName"]
    others = [c for c in changes if c["attribute"] != "displayName"]
    rows = [_row(group, ScimChange.Kind.GROUP_RENAMED, renamed)] if renamed else []
    if others:
        rows.append(_row(group, ScimChange.Kind.GROUP_UPDATED, others))
    return rows


def _touch(
    group: ScimGroup, *, tenant: Tenant, origin: Origin, rows: list[FeedRow] | None = None
) -> None:
    """A new version (ETag) and lastModified, read back in the same statement, which also
    writes the group's own feed rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            *with_feed(
                'WITH touched AS (UPDATE "scim_api_scimgroup" SET "version" = "version" + 1, '
                '"last_modified" = %s WHERE "id" = %s RETURNING "version", "last_modified") '
                'SELECT "version", "last_modified" FROM touched',
                [clock.now(), group.pk],
                tenant=tenant,
                origin=origin,
                rows=rows or [],
            )
        )
        group.version, group.last_modified = cursor.fetchone()


def scim_group_create(
    *, tenant: Tenant, body: dict, policy: CompatibilityPolicy, origin: Origin
) -> ScimGroup:
    """Create a group: one INSERT that also writes its feed row — its own transaction, as
    Azure AD creates groups without members — or, with members, a transaction that adds them
    too (all or nothing)."""
    document, _, members = normalize_resource(body, resource_type="Group", policy=policy)
    now = clock.now()
    group = ScimGroup(tenant=tenant, id=uuid.uuid4(), created=now, last_modified=now)
    _copy_columns(group, document)
    rows = [_row(group, ScimChange.Kind.GROUP_CREATED)]
    scope = transaction.atomic() if members else statement_scope()
    with unique_violation(_detail(document)), scope:
        insert(
            group,
            around=lambda sql, params: with_feed(
                sql, params, tenant=tenant, origin=origin, rows=rows
            ),
        )
        if members:
            _insert(
                _resolve_members(tenant=tenant, group=group, ids=[m["value"] for m in members]),
                tenant=tenant,
                group=group,
                origin=origin,
            )
        else:
            group.members_read = []  # created without members: nothing to ask for the response
    return group


@transaction.atomic
def scim_group_replace(
    *,
    tenant: Tenant,
    group: ScimGroup,
    body: dict,
    policy: CompatibilityPolicy,
    origin: Origin,
    if_match: str | None = None,
) -> ScimGroup:
    group = _locked_or_plain(tenant, group.pk, lock=True)
    check_if_match(if_match, group.version)
    document, _, members = normalize_resource(body, resource_type="Group", policy=policy)
    before = _document(group)
    _copy_columns(group, document)
    with unique_violation(_detail(document)), transaction.atomic():
        group.save()
    changes = MemberChanges()
    changes.replace_ids([m["value"] for m in members or []])
    members_changed = scim_group_members_change(
        tenant=tenant, group=group, changes=changes, origin=origin
    )
    if members_changed or document != before:
        rows = _update_rows(group, before=before, after=_document(group))
        _touch(group, tenant=tenant, origin=origin, rows=rows)
    return group


def scim_group_patch(
    *,
    tenant: Tenant,
    group: ScimGroup,
    body: dict,
    policy: CompatibilityPolicy,
    origin: Origin,
    if_match: str | None = None,
    max_operations: int = 1000,
) -> ScimGroup:
    """Apply a PATCH to the group.

    Azure AD's own group PATCHes add members, or remove members, and change nothing else:
    those are one statement, their own transaction — the members written, each recorded in the
    feed, and the group's version bumped only if a membership changed — after an unlocked read
    of the group (concurrent member changes never lose a row, as below). Anything else runs in
    a transaction (:func:`_patch_in_transaction`)."""
    if not if_match:
        current = _locked_or_plain(tenant, group.pk, lock=False)
        before = _document(current)
        result = apply_patch(
            before, body, resource_type="Group", policy=policy, max_operations=max_operations
        )
        if not result.changed:
            return current
        members = result.members
        if (
            result.document == before
            and not members.remove_all
            and members.replace is None
            and bool(members.add) != bool(members.remove)
        ):
            with statement_scope():
                if members.add:
                    done = _add_members(current, ids=members.add, tenant=tenant, origin=origin)
                else:
                    done = _remove_members(
                        current, ids=members.remove, tenant=tenant, origin=origin
                    )
            if done:
                return current
    return _patch_in_transaction(
        tenant=tenant,
        group=group,
        body=body,
        policy=policy,
        origin=origin,
        if_match=if_match,
        max_operations=max_operations,
    )


def _add_members(group: ScimGroup, *, ids: list[str], tenant: Tenant, origin: Origin) -> bool:
    """Add the users and groups ``ids`` to ``group`` in one statement: written only if every
    id is one of the tenant's users or groups (and not the group itself), each new membership
    recorded in the feed, the group's version bumped if any was new. False, with nothing
    written, if an id is not one — :func:`_resolve_members` then says which, as a 400."""
    wanted = list(dict.fromkeys(parse_uuid(member_id) for member_id in ids))
    if None in wanted:
        _resolve_members(tenant=tenant, group=group, ids=ids)  # raises, naming the bad ids
        return False
    now = clock.now()
    feed_sql, feed_params = member_feed_sql(
        "added", kind=ScimChange.Kind.MEMBER_ADDED, tenant=tenant, group=group, origin=origin
    )
    # One id (Azure AD's usual add) is compared with "=", which keeps the generic plan.
    compared, ids_param = among(wanted, cast="uuid")
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH found AS ("
            "  SELECT id, true AS is_user FROM scim_api_scimuser "
            f"  WHERE tenant_id = %s AND id {compared} "
            "  UNION ALL "
            "  SELECT id, false FROM scim_api_scimgroup "
            f"  WHERE tenant_id = %s AND id {compared} AND id <> %s"
            "), complete AS (SELECT count(*) = %s AS ok FROM found), "
            f'added AS (INSERT INTO "{MEMBER_TABLE}" '
            "  (tenant_id, group_id, user_id, member_group_id, created) "
            "  SELECT %s, %s, CASE WHEN is_user THEN id END, "
            "  CASE WHEN is_user THEN NULL ELSE id END, %s "
            "  FROM found WHERE (SELECT ok FROM complete) "
            "  ON CONFLICT DO NOTHING RETURNING user_id, member_group_id"
            f"), feed AS ({feed_sql}), {_TOUCH_IF % 'added'} "
            "SELECT (SELECT ok FROM complete), "
            "(SELECT version FROM touched), (SELECT last_modified FROM touched)",
            [
                tenant.pk,
                ids_param,
                tenant.pk,
                ids_param,
                group.pk,
                len(wanted),
                tenant.pk,
                group.pk,
                now,
                *feed_params,
                now,
                group.pk,
            ],
        )
        ok, version, last_modified = cursor.fetchone()
    if not ok:
        _resolve_members(tenant=tenant, group=group, ids=ids)  # raises, naming the bad ids
        return False  # they exist after all (created meanwhile): the transaction path decides
    if version is not None:
        group.version, group.last_modified = version, last_modified
    return True


def _remove_members(group: ScimGroup, *, ids: list[str], tenant: Tenant, origin: Origin) -> bool:
    """Remove the members ``ids`` from ``group`` in one statement, each recorded in the feed,
    the group's version bumped if any was there. Ids that are no member are ignored."""
    values = [v for v in (parse_uuid(i) for i in ids) if v is not None]
    if values:
        _delete(
            tenant=tenant,
            group=group,
            origin=origin,
            condition=_MEMBER_IN,
            params=[values, values],
            touch=True,
        )
    return True


#: A ``WITH`` part that gives the group a new version and lastModified if the part named by
#: ``%`` returned a row (a membership changed); parameters: the time, the group's id.
_TOUCH_IF = (
    'touched AS (UPDATE "scim_api_scimgroup" SET "version" = "version" + 1, '
    '"last_modified" = %%s WHERE "id" = %%s AND EXISTS (SELECT FROM %s) '
    'RETURNING "version", "last_modified")'
)


@transaction.atomic
def _patch_in_transaction(
    *,
    tenant: Tenant,
    group: ScimGroup,
    body: dict,
    policy: CompatibilityPolicy,
    origin: Origin,
    if_match: str | None,
    max_operations: int,
) -> ScimGroup:
    # Member-only PATCHes take no lock: concurrent adds cannot lose rows (one row per member,
    # ON CONFLICT DO NOTHING) and must not queue behind each other. A PATCH that changes the
    # group's own attributes, or a conditional one, works on the locked row so that two
    # concurrent renames never overwrite each other with a stale snapshot.
    group = _locked_or_plain(tenant, group.pk, lock=bool(if_match))
    check_if_match(if_match, group.version)
    before = _document(group)
    result = apply_patch(
        before, body, resource_type="Group", policy=policy, max_operations=max_operations
    )
    if not result.changed:
        return group
    if result.document != before and not if_match:
        group = _locked_or_plain(tenant, group.pk, lock=True)
        before = _document(group)
        result = apply_patch(
            before, body, resource_type="Group", policy=policy, max_operations=max_operations
        )
    document_changed = result.document != before
    rows: list[FeedRow] = []
    if document_changed:
        _copy_columns(group, result.document)
        rows = _update_rows(group, before=before, after=_document(group))
        with unique_violation(_detail(result.document)), transaction.atomic():
            ScimGroup.objects.filter(pk=group.pk).update(
                display_name=group.display_name, external_id=group.external_id, data=group.data
            )
    members_changed = scim_group_members_change(
        tenant=tenant, group=group, changes=result.members, origin=origin
    )
    if document_changed or members_changed:
        _touch(group, tenant=tenant, origin=origin, rows=rows)
    return group


def _locked_or_plain(tenant: Tenant, pk, *, lock: bool) -> ScimGroup:
    group = fetch_one(ScimGroup, by_id_sql(ScimGroup, for_update=lock), [pk, tenant.pk])
    if group is None:
        raise NotFound(f"Group {pk} not found.")  # deleted by a concurrent request
    return group


@transaction.atomic
def scim_group_delete(
    *, tenant: Tenant, group: ScimGroup, origin: Origin, if_match: str | None = None
) -> None:
    group = _locked_or_plain(tenant, group.pk, lock=True)
    check_if_match(if_match, group.version)
    rows = [_row(group, ScimChange.Kind.GROUP_DELETED)]
    member_groups_touch(tenant=tenant, member_group_id=group.pk)
    group.delete()
    feed_write(tenant=tenant, origin=origin, rows=rows)
