"""Writes to an emulated directory: users, groups and memberships. Every write appends to the
directory's change feed in the same transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from provisioning.models import (
    AppRoleAssignment,
    Directory,
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryUser,
)
from provisioning.services.changes import (
    ChangeType,
    ObjectType,
    change_record_append,
    change_records_append_many,
)

USER_FIELDS = frozenset(
    field.name
    for field in DirectoryUser._meta.get_fields()
    if field.concrete
    and field.name not in {"id", "directory", "object_id", "deleted_at", "created_at", "updated_at"}
)
GROUP_FIELDS = frozenset(
    {"display_name", "mail_nickname", "description", "security_enabled", "mail_enabled"}
)


def directory_create(*, name: str, domain: str) -> Directory:
    """Create an empty emulated tenant."""
    return Directory.objects.create(name=name.strip(), domain=domain.strip().lower())


def _check_manager(directory: Directory, user: DirectoryUser | None, manager) -> None:
    if manager is None:
        return
    if manager.directory_id != directory.pk:
        raise ValidationError({"manager": "The manager must belong to the same directory."})
    seen = set()
    current = manager
    while current is not None:
        if user is not None and current.pk == user.pk:
            raise ValidationError({"manager": "A user cannot be in their own manager chain."})
        if current.pk in seen:
            break
        seen.add(current.pk)
        current = current.manager


def _upn_taken(directory: Directory, upn: str, exclude_pk: int | None) -> bool:
    query = DirectoryUser.objects.for_directory(directory).filter(user_principal_name__iexact=upn)
    if exclude_pk:
        query = query.exclude(pk=exclude_pk)
    return query.exists()


@transaction.atomic
def directory_user_create(*, directory: Directory, **attributes: Any) -> DirectoryUser:
    """Create a user; ``attributes`` are :class:`DirectoryUser` field names."""
    unknown = set(attributes) - USER_FIELDS - {"object_id"}
    if unknown:
        raise TypeError(f"unknown user attributes: {sorted(unknown)}")
    upn = attributes.get("user_principal_name", "")
    if _upn_taken(directory, upn, None):
        raise ValidationError(
            {"user_principal_name": "Another user already has this user principal name."}
        )
    _check_manager(directory, None, attributes.get("manager"))
    user = DirectoryUser(directory=directory, **attributes)
    user.full_clean(exclude=["manager"])
    user.save()
    change_record_append(
        directory=directory,
        object_type=ObjectType.USER,
        object_id=user.object_id,
        change_type=ChangeType.CREATED,
    )
    return user


@transaction.atomic
def directory_user_update(
    *, directory: Directory, user: DirectoryUser, **attributes: Any
) -> list[str]:
    """Change some attributes of a user; returns the names of the fields that changed (a change
    record is written only if there was a change)."""
    if user.directory_id != directory.pk:
        raise ValueError("user belongs to another directory")
    unknown = set(attributes) - USER_FIELDS
    if unknown:
        raise TypeError(f"unknown user attributes: {sorted(unknown)}")
    if "user_principal_name" in attributes and _upn_taken(
        directory, attributes["user_principal_name"], user.pk
    ):
        raise ValidationError(
            {"user_principal_name": "Another user already has this user principal name."}
        )
    if "manager" in attributes:
        _check_manager(directory, user, attributes["manager"])
    changed = [name for name, value in attributes.items() if getattr(user, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(user, name, attributes[name])
    user.full_clean(exclude=["manager"])
    user.save()
    change_record_append(
        directory=directory,
        object_type=ObjectType.USER,
        object_id=user.object_id,
        change_type=ChangeType.UPDATED,
    )
    return changed


@transaction.atomic
def directory_user_soft_delete(*, directory: Directory, user: DirectoryUser) -> None:
    """Move the user to the recycle bin (Entra's soft delete)."""
    if user.directory_id != directory.pk:
        raise ValueError("user belongs to another directory")
    if user.deleted_at is not None:
        return
    user.deleted_at = timezone.now()
    user.save(update_fields=["deleted_at", "updated_at"])
    change_record_append(
        directory=directory,
        object_type=ObjectType.USER,
        object_id=user.object_id,
        change_type=ChangeType.DELETED,
    )


@transaction.atomic
def directory_user_restore(*, directory: Directory, user: DirectoryUser) -> None:
    """Bring a soft-deleted user back from the recycle bin."""
    if user.directory_id != directory.pk:
        raise ValueError("user belongs to another directory")
    if user.deleted_at is None:
        return
    user.deleted_at = None
    user.save(update_fields=["deleted_at", "updated_at"])
    change_record_append(
        directory=directory,
        object_type=ObjectType.USER,
        object_id=user.object_id,
        change_type=ChangeType.RESTORED,
    )


@transaction.atomic
def directory_user_hard_delete(*, directory: Directory, user: DirectoryUser) -> None:
    """Delete the user permanently (the recycle bin's "Delete permanently"). The row goes, and
    with it the user's group memberships and app role assignments; its direct reports lose
    their manager. The change feed records each of those changes, so an incremental cycle
    deletes the user in the target and fixes the groups and managers that referred to it."""
    if user.directory_id != directory.pk:
        raise ValueError("user belongs to another directory")
    user = DirectoryUser.objects.select_for_update().filter(pk=user.pk).first()
    if user is None:
        return  # already gone
    records: list[tuple] = [
        (ObjectType.MEMBERSHIP, group_id, ChangeType.DELETED, user.object_id)
        for group_id in DirectoryGroupMember.objects.filter(member_user=user)
        .order_by("pk")
        .values_list("group__object_id", flat=True)
    ]
    records += [
        (ObjectType.ASSIGNMENT, user.object_id, ChangeType.DELETED, app_id)
        for app_id in AppRoleAssignment.objects.filter(principal_user=user)
        .order_by("pk")
        .values_list("application__object_id", flat=True)
    ]
    reports = list(
        DirectoryUser.objects.filter(manager=user).order_by("pk").values_list("pk", "object_id")
    )
    if reports:
        DirectoryUser.objects.filter(pk__in=[pk for pk, _ in reports]).update(
            manager=None, updated_at=timezone.now()
        )
    records += [(ObjectType.USER, report, ChangeType.UPDATED, None) for _, report in reports]
    records.append((ObjectType.USER, user.object_id, ChangeType.DELETED, None))
    change_records_append_many(directory=directory, records=records)
    user.delete()


@transaction.atomic
def directory_group_create(*, directory: Directory, **attributes: Any) -> DirectoryGroup:
    """Create a group; ``attributes`` are :class:`DirectoryGroup` field names."""
    unknown = set(attributes) - GROUP_FIELDS - {"object_id"}
    if unknown:
        raise TypeError(f"unknown group attributes: {sorted(unknown)}")
    group = DirectoryGroup(directory=directory, **attributes)
    group.full_clean()
    group.save()
    change_record_append(
        directory=directory,
        object_type=ObjectType.GROUP,
        object_id=group.object_id,
        change_type=ChangeType.CREATED,
    )
    return group


@transaction.atomic
def directory_group_update(
    *, directory: Directory, group: DirectoryGroup, **attributes: Any
) -> list[str]:
    """Change some attributes of a group; returns the changed field names."""
    if group.directory_id != directory.pk:
        raise ValueError("group belongs to another directory")
    unknown = set(attributes) - GROUP_FIELDS
    if unknown:
        raise TypeError(f"unknown group attributes: {sorted(unknown)}")
    changed = [name for name, value in attributes.items() if getattr(group, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(group, name, attributes[name])
    group.full_clean()
    group.save()
    change_record_append(
        directory=directory,
        object_type=ObjectType.GROUP,
        object_id=group.object_id,
        change_type=ChangeType.UPDATED,
    )
    return changed


@transaction.atomic
def directory_group_delete(*, directory: Directory, group: DirectoryGroup) -> None:
    """Delete a group permanently (groups have no recycle bin here); its memberships (as a
    group and as a member of other groups) and app role assignments go with it. The change feed
    records each of those changes, so an incremental cycle deletes the group in the target and
    revisits its members (who may have been assigned through it) and its parent groups."""
    if group.directory_id != directory.pk:
        raise ValueError("group belongs to another directory")
    memberships = DirectoryGroupMember.objects.order_by("pk")
    records: list[tuple] = [
        (ObjectType.MEMBERSHIP, group.object_id, ChangeType.DELETED, user_id or group_id)
        for user_id, group_id in memberships.filter(group=group).values_list(
            "member_user__object_id", "member_group__object_id"
        )
    ]
    records += [
        (ObjectType.MEMBERSHIP, parent_id, ChangeType.DELETED, group.object_id)
        for parent_id in memberships.filter(member_group=group).values_list(
            "group__object_id", flat=True
        )
    ]
    records += [
        (ObjectType.ASSIGNMENT, group.object_id, ChangeType.DELETED, app_id)
        for app_id in AppRoleAssignment.objects.filter(principal_group=group)
        .order_by("pk")
        .values_list("application__object_id", flat=True)
    ]
    records.append((ObjectType.GROUP, group.object_id, ChangeType.DELETED, None))
    change_records_append_many(directory=directory, records=records)
    group.delete()


# A group has no recycle bin: deleting it is always permanent.
directory_group_hard_delete = directory_group_delete


def _member_filter(member: DirectoryUser | DirectoryGroup) -> dict[str, Any]:
    if isinstance(member, DirectoryUser):
        return {"member_user": member}
    return {"member_group": member}


def _would_cycle(group: DirectoryGroup, candidate: DirectoryGroup) -> bool:
    """Would adding ``candidate`` under ``group`` make ``group`` its own (indirect) member?"""
    frontier = {candidate.pk}
    seen: set[int] = set()
    while frontier:
        if group.pk in frontier:
            return True
        seen |= frontier
        frontier = (
            set(
                DirectoryGroupMember.objects.filter(
                    group_id__in=frontier, member_group__isnull=False
                ).values_list("member_group_id", flat=True)
            )
            - seen
        )
    return False


@transaction.atomic
def directory_group_member_add(
    *, directory: Directory, group: DirectoryGroup, member: DirectoryUser | DirectoryGroup
) -> bool:
    """Add a direct member (user or nested group); False if it already was one."""
    if group.directory_id != directory.pk or member.directory_id != directory.pk:
        raise ValueError("group and member must belong to the directory")
    if isinstance(member, DirectoryGroup) and _would_cycle(group, member):
        raise ValidationError({"member": "A group cannot contain itself, directly or not."})
    try:
        with transaction.atomic():
            _, created = DirectoryGroupMember.objects.get_or_create(
                group=group, **_member_filter(member)
            )
    except IntegrityError:
        created = False
    if created:
        change_record_append(
            directory=directory,
            object_type=ObjectType.MEMBERSHIP,
            object_id=group.object_id,
            related_object_id=member.object_id,
            change_type=ChangeType.CREATED,
        )
    return created


@transaction.atomic
def directory_group_member_remove(
    *, directory: Directory, group: DirectoryGroup, member: DirectoryUser | DirectoryGroup
) -> bool:
    """Remove a direct member; False if it was not one."""
    if group.directory_id != directory.pk:
        raise ValueError("group belongs to another directory")
    deleted, _ = DirectoryGroupMember.objects.filter(group=group, **_member_filter(member)).delete()
    if deleted:
        change_record_append(
            directory=directory,
            object_type=ObjectType.MEMBERSHIP,
            object_id=group.object_id,
            related_object_id=member.object_id,
            change_type=ChangeType.DELETED,
        )
    return bool(deleted)
