"""Creating, replacing, patching and deleting SCIM users of a tenant."""

from __future__ import annotations

import uuid

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from elium_portal import clock
from elium_portal.fastsql import among, by_id_sql, fetch_one, insert
from elium_portal.models import Tenant
from scim_api.errors import InvalidValue, NotFound
from scim_api.feed import PASSWORD_CHANGE, USER_LABEL_SQL, Origin, document_changes, user_label
from scim_api.models import ScimChange, ScimUser
from scim_api.patch import apply_patch, normalize_resource
from scim_api.policy import CompatibilityPolicy
from scim_api.schema import ENTERPRISE_USER
from scim_api.selectors import GROUPS_OF_USER_JSON, MANAGER_NAME, ReadAlong
from scim_api.services.common import (
    check_if_match,
    parse_uuid,
    statement_scope,
    unique_violation,
)
from scim_api.services.feed import FeedRow, feed_insert_sql, feed_write, with_feed
from scim_api.validation import check_column_lengths


def _manager(document: dict):
    enterprise = document.get(ENTERPRISE_USER) or {}
    return enterprise.get("manager") if isinstance(enterprise, dict) else None


def _manager_id(document: dict) -> str | None:
    manager = _manager(document)
    if isinstance(manager, dict):
        return manager.get("value")
    return None


def _check_manager(
    *, tenant: Tenant, document: dict, user_id=None, before: dict | None = None
) -> dict[str, str]:
    """A manager must be a user of the same tenant (never another tenant's id). Returns the
    names of the new manager and of the one it replaces (``before``'s), by id, for the change
    feed — read by the same query that checks the manager."""
    manager = _manager_id(document)
    if before is not None and manager is not None and _manager(document) == _manager(before):
        # Kept as stored: it was checked (and made canonical) when it was written, and a
        # deleted manager is taken out of the users it managed. Nothing to read.
        return {}
    previous = parse_uuid(_manager_id(before)) if before else None
    if manager is None:
        # A manager removed: its name, for the feed (the only case that costs a query).
        return _user_names(tenant, [previous]) if previous else {}
    manager_uuid = parse_uuid(manager)
    wanted = [manager_uuid] + ([previous] if previous and previous != manager_uuid else [])
    names = _user_names(tenant, wanted) if manager_uuid is not None else {}
    if str(manager_uuid) not in names:
        raise InvalidValue(
            f"The manager {manager!r} is not the id of a user of this tenant.",
        )
    if user_id is not None and manager_uuid == user_id:
        raise InvalidValue("A user cannot be their own manager.")
    # Store the canonical id and nothing derived: $ref and displayName are computed on read.
    document[ENTERPRISE_USER]["manager"] = {"value": str(manager_uuid)}
    return names


def _user_names(tenant: Tenant, ids: list) -> dict[str, str]:
    """The feed's names of the tenant's users ``ids`` that exist, by id (as text)."""
    compared, values = among(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.id, {USER_LABEL_SQL.format(alias='u')} FROM scim_api_scimuser u "
            f"WHERE u.tenant_id = %s AND u.id {compared}",
            [tenant.pk, values],
        )
        return {str(pk): name for pk, name in cursor.fetchall()}


def _label(user: ScimUser) -> str:
    return user_label(display_name=user.display_name, data=user.data, user_name=user.user_name)


def _row(user: ScimUser, kind: str, changes: list | None = None) -> FeedRow:
    return FeedRow(
        kind=kind,
        object_type=ScimChange.ObjectType.USER,
        object_id=user.id,
        object_name=_label(user),
        user_name=user.user_name,
        changes=changes or [],
    )


def _update_rows(
    user: ScimUser,
    *,
    before: dict,
    was_active: bool,
    password_changed: bool,
    names: dict[str, str],
) -> list[FeedRow]:
    """The feed rows of an update: (de/re)activation and the changed attributes, apart."""
    rows = []
    if was_active != user.active:
        kind = ScimChange.Kind.USER_REACTIVATED if user.active else ScimChange.Kind.USER_DEACTIVATED
        rows.append(_row(user, kind))
    changes = document_changes(before, _document(user), names=names)
    if password_changed:
        changes.append(dict(PASSWORD_CHANGE))
    if changes:
        rows.append(_row(user, ScimChange.Kind.USER_UPDATED, changes))
    return rows


def _copy_columns(user: ScimUser, document: dict) -> None:
    check_column_lengths(document, ("userName", "externalId", "displayName"))
    user.user_name = document["userName"]
    user.external_id = document.get("externalId")
    user.display_name = document.get("displayName") or ""
    user.active = document.get("active", True) is not False
    # Columns are authoritative for these; keep the JSON free of duplicates.
    user.data = {k: v for k, v in document.items() if k not in ("userName", "externalId", "active")}


def _document(user: ScimUser) -> dict:
    document = dict(user.data)
    document["userName"] = user.user_name
    document["active"] = user.active
    if user.external_id is not None:
        document["externalId"] = user.external_id
    return document


def _locked(tenant: Tenant, pk) -> ScimUser:
    user = fetch_one(ScimUser, by_id_sql(ScimUser, for_update=True), [pk, tenant.pk])
    if user is None:
        raise NotFound(f"User {pk} not found.")  # deleted by a concurrent request
    return user


def _current(tenant: Tenant, pk) -> ScimUser:
    user = fetch_one(ScimUser, by_id_sql(ScimUser), [pk, tenant.pk])
    if user is None:
        raise NotFound(f"User {pk} not found.")
    return user


def _uniqueness_detail(document: dict) -> str:
    return f"A user with userName {document.get('userName')!r} already exists in this tenant."


def scim_user_create(
    *, tenant: Tenant, body: dict, policy: CompatibilityPolicy, origin: Origin
) -> ScimUser:
    """Create a user: one INSERT that also writes its feed row, its own transaction (after the
    manager check's read, when the body names a manager)."""
    document, password, _ = normalize_resource(body, resource_type="User", policy=policy)
    _check_manager(tenant=tenant, document=document)
    now = clock.now()
    user = ScimUser(tenant=tenant, created=now, last_modified=now)
    _copy_columns(user, document)
    if password:
        user.password = make_password(password)
    rows = [_row(user, ScimChange.Kind.USER_CREATED)]
    with unique_violation(_uniqueness_detail(document)), statement_scope():
        # The feed row is written by the same statement.
        insert(
            user,
            around=lambda sql, params: with_feed(
                sql, params, tenant=tenant, origin=origin, rows=rows
            ),
        )
    return user


@transaction.atomic
def scim_user_replace(
    *,
    tenant: Tenant,
    user: ScimUser,
    body: dict,
    policy: CompatibilityPolicy,
    origin: Origin,
    if_match: str | None = None,
) -> ScimUser:
    user = _locked(tenant, user.pk)
    check_if_match(if_match, user.version)
    document, password, _ = normalize_resource(body, resource_type="User", policy=policy)
    before = _document(user)
    was_active = user.active
    names = _check_manager(tenant=tenant, document=document, user_id=user.id, before=before)
    _copy_columns(user, document)
    changed = document != before or bool(password)
    if password:
        user.password = make_password(password)
    if changed:
        user.version += 1
        user.last_modified = clock.now()
    with unique_violation(_uniqueness_detail(document)), transaction.atomic():
        user.save()
    if changed:
        feed_write(
            tenant=tenant,
            origin=origin,
            rows=_update_rows(
                user,
                before=before,
                was_active=was_active,
                password_changed=bool(password),
                names=names,
            ),
        )
    return user


#: Optimistic PATCH attempts before the last one, which locks the row and cannot lose.
OPTIMISTIC_ATTEMPTS = 3


def scim_user_patch(
    *,
    tenant: Tenant,
    user: ScimUser,
    body: dict,
    policy: CompatibilityPolicy,
    origin: Origin,
    if_match: str | None = None,
    max_operations: int = 1000,
) -> ScimUser:
    """Apply a PATCH to the user as it is now.

    Optimistically, without a transaction of its own: read the user, apply the operations,
    and write the result with its feed rows in one statement on the condition that the
    version is still the one read. A concurrent writer in between makes the condition fail
    (nothing written, nothing recorded), and the PATCH is applied again to what that writer
    left — as if it had waited for the row lock. After :data:`OPTIMISTIC_ATTEMPTS` lost races
    it takes the lock. Two round trips instead of four (BEGIN, locked read, write, COMMIT)."""
    arguments = dict(
        tenant=tenant,
        pk=user.pk,
        body=body,
        policy=policy,
        origin=origin,
        if_match=if_match,
        max_operations=max_operations,
    )
    for _ in range(OPTIMISTIC_ATTEMPTS):
        patched = _patch_once(**arguments, lock=False)
        if patched is not None:
            return patched
    with transaction.atomic():
        return _patch_once(**arguments, lock=True)


def _patch_once(
    *,
    tenant: Tenant,
    pk,
    body: dict,
    policy: CompatibilityPolicy,
    origin: Origin,
    if_match: str | None,
    max_operations: int,
    lock: bool,
) -> ScimUser | None:
    """One attempt: the patched user, or None when its version changed after the read."""
    user = _locked(tenant, pk) if lock else _current(tenant, pk)
    check_if_match(if_match, user.version)
    before = _document(user)
    was_active = user.active
    result = apply_patch(
        before,
        body,
        resource_type="User",
        policy=policy,
        max_operations=max_operations,
    )
    if not result.changed:
        return user
    document = result.document
    names = _check_manager(tenant=tenant, document=document, user_id=user.id, before=before)
    _copy_columns(user, document)
    if result.password:
        user.password = make_password(result.password)
    user.last_modified = clock.now()
    rows = _update_rows(
        user,
        before=before,
        was_active=was_active,
        password_changed=bool(result.password),
        names=names,
    )
    with unique_violation(_uniqueness_detail(document)), statement_scope():
        version = _save_changed(user, tenant=tenant, origin=origin, rows=rows)
    if version is None:
        return None
    user.version = version
    return user


_DATA = ScimUser._meta.get_field("data")
#: The manager's id in a user's JSON, written as the index ``scim_user_manager`` is (migration
#: 0004), so that PostgreSQL finds the users a deleted user managed through it.
_MANAGER_VALUE = f"(data -> '{ENTERPRISE_USER}' -> 'manager' ->> 'value')"
#: The columns a PATCH may change, written on the condition that the version is still the one
#: the PATCH was applied to; bumps and returns the version.
_PATCH_UPDATE = (
    'UPDATE "scim_api_scimuser" SET "user_name" = %s, "external_id" = %s, '
    '"display_name" = %s, "active" = %s, "data" = %s, "password" = %s, "last_modified" = %s, '
    '"version" = "version" + 1 WHERE "id" = %s AND "version" = %s RETURNING "version"'
)


def _save_changed(
    user: ScimUser, *, tenant: Tenant, origin: Origin, rows: list[FeedRow]
) -> int | None:
    """Store a patched user and its feed rows in one statement if its version is still
    ``user.version``; returns the new version, or None (and writes nothing) if it is not."""
    params = [
        user.user_name,
        user.external_id,
        user.display_name,
        user.active,
        _DATA.get_db_prep_save(user.data, connection),
        user.password,
        user.last_modified,
        user.pk,
        user.version,
    ]
    sql = f"WITH changed AS ({_PATCH_UPDATE})"
    if rows:
        feed_sql, feed_params = feed_insert_sql(
            tenant=tenant, origin=origin, rows=rows, only_if="changed"
        )
        sql += f", feed AS ({feed_sql})"
        params += feed_params
    # The response's reads in the same statement: the user's groups and its manager's name.
    manager_id = parse_uuid(_manager_id(user.data))
    with connection.cursor() as cursor:
        cursor.execute(
            f'{sql} SELECT "version", ({GROUPS_OF_USER_JSON}), ({MANAGER_NAME}) FROM changed',
            [*params, tenant.pk, user.pk, tenant.pk, manager_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    version, groups, manager_name = row
    user.read_along = ReadAlong(
        groups=[(uuid.UUID(group_id), name) for group_id, name in groups],
        managers={str(manager_id): manager_name} if manager_name is not None else {},
    )
    return version


def scim_user_delete(
    *, tenant: Tenant, user: ScimUser, origin: Origin, if_match: str | None = None
) -> None:
    """Hard delete. Memberships go with the user; other users that named it as their manager
    lose the reference, so no dangling id is ever returned.

    Like a PATCH, optimistic: the user is read unlocked (for ``If-Match`` and its feed row),
    and one statement — its own transaction — deletes it only if its version is still the one
    read; a concurrent write in between makes it read again, and after
    :data:`OPTIMISTIC_ATTEMPTS` lost races it takes the lock."""
    for _ in range(OPTIMISTIC_ATTEMPTS):
        current = _current(tenant, user.pk)
        check_if_match(if_match, current.version)
        with statement_scope():
            if _delete_if_unchanged(current, tenant=tenant, origin=origin):
                return
    with transaction.atomic():
        current = _locked(tenant, user.pk)
        check_if_match(if_match, current.version)
        _delete_if_unchanged(current, tenant=tenant, origin=origin)


def _delete_if_unchanged(user: ScimUser, *, tenant: Tenant, origin: Origin) -> bool:
    """Delete ``user`` if its version is still ``user.version``, in one statement: the user's
    groups get a new version, the users it managed lose the reference, its memberships and the
    user go, and its feed row is written — every part only if the user, locked by the first
    part, still has that version. The parts touch other rows than each other (a user is never
    its own manager); the foreign keys are checked at the end. True if the user went."""
    now = clock.now()
    feed_sql, feed_params = feed_insert_sql(
        tenant=tenant,
        origin=origin,
        rows=[_row(user, ScimChange.Kind.USER_DELETED)],
        only_if="target",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH target AS ("
            "  SELECT id FROM scim_api_scimuser "
            "  WHERE id = %s AND tenant_id = %s AND version = %s FOR UPDATE"
            "), touched AS ("
            "  UPDATE scim_api_scimgroup SET version = version + 1, last_modified = %s "
            "  WHERE tenant_id = %s AND id IN (SELECT group_id FROM scim_api_scimgroupmember "
            "  WHERE tenant_id = %s AND user_id IN (SELECT id FROM target))"
            "), unmanaged AS ("
            "  UPDATE scim_api_scimuser "
            "  SET data = data #- %s, version = version + 1, last_modified = %s "
            f"  WHERE tenant_id = %s AND {_MANAGER_VALUE} = %s AND EXISTS (SELECT FROM target)"
            "), memberships AS ("
            "  DELETE FROM scim_api_scimgroupmember WHERE user_id IN (SELECT id FROM target)"
            f"), feed AS ({feed_sql}) "
            "DELETE FROM scim_api_scimuser WHERE id IN (SELECT id FROM target) RETURNING id",
            [
                user.pk,
                tenant.pk,
                user.version,
                now,
                tenant.pk,
                tenant.pk,
                [ENTERPRISE_USER, "manager"],
                now,
                tenant.pk,
                str(user.id),
                *feed_params,
            ],
        )
        return cursor.fetchone() is not None
