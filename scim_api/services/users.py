"""Creating, replacing, patching and deleting SCIM users of a tenant."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import F

from elium_portal import clock
from elium_portal.models import Tenant
from scim_api.errors import InvalidValue, NotFound
from scim_api.models import ScimUser
from scim_api.patch import apply_patch, normalize_resource
from scim_api.policy import CompatibilityPolicy
from scim_api.schema import ENTERPRISE_USER
from scim_api.services.common import (
    check_if_match,
    member_groups_touch,
    parse_uuid,
    unique_violation,
)
from scim_api.validation import check_column_lengths


def _manager_id(document: dict) -> str | None:
    enterprise = document.get(ENTERPRISE_USER) or {}
    manager = enterprise.get("manager")
    if isinstance(manager, dict):
        return manager.get("value")
    return None


def _check_manager(*, tenant: Tenant, document: dict, user_id=None) -> None:
    """A manager must be a user of the same tenant (never another tenant's id)."""
    manager = _manager_id(document)
    if manager is None:
        return
    manager_uuid = parse_uuid(manager)
    if (
        manager_uuid is None
        or not ScimUser.objects.for_tenant(tenant).filter(id=manager_uuid).exists()
    ):
        raise InvalidValue(
            f"The manager {manager!r} is not the id of a user of this tenant.",
        )
    if user_id is not None and manager_uuid == user_id:
        raise InvalidValue("A user cannot be their own manager.")
    # Store the canonical id and nothing derived: $ref and displayName are computed on read.
    document[ENTERPRISE_USER]["manager"] = {"value": str(manager_uuid)}


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
    user = ScimUser.objects.for_tenant(tenant).select_for_update().filter(pk=pk).first()
    if user is None:
        raise NotFound(f"User {pk} not found.")  # deleted by a concurrent request
    return user


def _uniqueness_detail(document: dict) -> str:
    return f"A user with userName {document.get('userName')!r} already exists in this tenant."


@transaction.atomic
def scim_user_create(*, tenant: Tenant, body: dict, policy: CompatibilityPolicy) -> ScimUser:
    document, password, _ = normalize_resource(body, resource_type="User", policy=policy)
    _check_manager(tenant=tenant, document=document)
    now = clock.now()
    user = ScimUser(tenant=tenant, created=now, last_modified=now)
    _copy_columns(user, document)
    if password:
        user.password = make_password(password)
    with unique_violation(_uniqueness_detail(document)), transaction.atomic():
        user.save(force_insert=True)
    return user


@transaction.atomic
def scim_user_replace(
    *,
    tenant: Tenant,
    user: ScimUser,
    body: dict,
    policy: CompatibilityPolicy,
    if_match: str | None = None,
) -> ScimUser:
    user = _locked(tenant, user.pk)
    check_if_match(if_match, user.version)
    document, password, _ = normalize_resource(body, resource_type="User", policy=policy)
    _check_manager(tenant=tenant, document=document, user_id=user.id)
    before = _document(user)
    _copy_columns(user, document)
    changed = document != before or bool(password)
    if password:
        user.password = make_password(password)
    if changed:
        user.version += 1
        user.last_modified = clock.now()
    with unique_violation(_uniqueness_detail(document)), transaction.atomic():
        user.save()
    return user


@transaction.atomic
def scim_user_patch(
    *,
    tenant: Tenant,
    user: ScimUser,
    body: dict,
    policy: CompatibilityPolicy,
    if_match: str | None = None,
    max_operations: int = 1000,
) -> ScimUser:
    user = _locked(tenant, user.pk)
    check_if_match(if_match, user.version)
    result = apply_patch(
        _document(user),
        body,
        resource_type="User",
        policy=policy,
        max_operations=max_operations,
    )
    if not result.changed:
        return user
    document = result.document
    _check_manager(tenant=tenant, document=document, user_id=user.id)
    _copy_columns(user, document)
    if result.password:
        user.password = make_password(result.password)
    user.version = F("version") + 1
    user.last_modified = clock.now()
    with unique_violation(_uniqueness_detail(document)), transaction.atomic():
        user.save()
    user.refresh_from_db(fields=["version"])
    return user


@transaction.atomic
def scim_user_delete(*, tenant: Tenant, user: ScimUser, if_match: str | None = None) -> None:
    """Hard delete. Memberships go with the user (cascade); other users that named it as their
    manager lose the reference, so no dangling id is ever returned."""
    user = _locked(tenant, user.pk)
    check_if_match(if_match, user.version)
    member_groups_touch(tenant=tenant, user_id=user.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scim_api_scimuser "
            "SET data = data #- %s, version = version + 1, last_modified = %s "
            "WHERE tenant_id = %s AND data -> %s -> 'manager' ->> 'value' = %s",
            [[ENTERPRISE_USER, "manager"], clock.now(), tenant.pk, ENTERPRISE_USER, str(user.id)],
        )
    user.delete()
