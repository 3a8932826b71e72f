"""Writes to an emulated directory: users, groups and memberships. Every write appends to the
directory's change feed in the same transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from provisioning.models import (
    Directory,
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryUser,
)
from provisioning.services.changes import ChangeType, ObjectType, change_record_append

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
    """Delete a group (groups have no recycle bin here); its memberships go with it."""
    if group.directory_id != directory.pk:
        raise ValueError("group belongs to another directory")
    change_record_append(
        directory=directory,
        object_type=ObjectType.GROUP,
        object_id=group.object_id,
        change_type=ChangeType.DELETED,
    )
    group.delete()


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
