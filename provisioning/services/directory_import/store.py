"""Cross-row checks against the directory, then the write (the caller holds the transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.db.models.functions import Lower
from django.utils import timezone

from provisioning.models import Directory, DirectoryGroup, DirectoryGroupMember, DirectoryUser
from provisioning.services.changes import ChangeType, ObjectType, change_records_append_many
from provisioning.services.directory_import.fields import parse_uuid
from provisioning.services.directory_import.records import (
    ImportProblem,
    ImportResult,
    Parsed,
    Progress,
)


def _chunks(items: list, size: int = 5000) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_users(directory: Directory, ids: list[uuid.UUID]) -> dict[uuid.UUID, DirectoryUser]:
    found: dict[uuid.UUID, DirectoryUser] = {}
    for chunk in _chunks(ids):
        for user in DirectoryUser.objects.filter(directory=directory, object_id__in=chunk):
            found[user.object_id] = user
    return found


def _existing_groups(directory: Directory, ids: list[uuid.UUID]) -> dict[uuid.UUID, DirectoryGroup]:
    found: dict[uuid.UUID, DirectoryGroup] = {}
    for chunk in _chunks(ids):
        for group in DirectoryGroup.objects.filter(directory=directory, object_id__in=chunk):
            found[group.object_id] = group
    return found


def cross_check(directory: Directory, parsed: Parsed) -> None:
    problems = parsed.problems
    first_line: dict[uuid.UUID, int] = {}
    upn_line: dict[str, int] = {}
    for record in parsed.users:
        if record.object_id is not None:
            if record.object_id in first_line:
                problems.append(
                    ImportProblem(
                        record.line,
                        "objectId",
                        f"Duplicate object ID (first seen on line {first_line[record.object_id]}).",
                    )
                )
            else:
                first_line[record.object_id] = record.line
        upn = record.fields.get("user_principal_name", "").lower()
        if upn:
            if upn in upn_line:
                problems.append(
                    ImportProblem(
                        record.line,
                        "userPrincipalName",
                        f"Duplicate user principal name (first seen on line {upn_line[upn]}).",
                    )
                )
            else:
                upn_line[upn] = record.line
    file_user_ids = set(first_line)
    # A UPN already held by a directory user that this file does not touch is a conflict.
    if upn_line:
        taken: dict[str, uuid.UUID] = {}
        for chunk in _chunks(list(upn_line)):
            rows = (
                DirectoryUser.objects.filter(directory=directory)
                .annotate(upn_lower=Lower("user_principal_name"))
                .filter(upn_lower__in=chunk)
                .values_list("upn_lower", "object_id")
            )
            taken.update(rows)
        for record in parsed.users:
            upn = record.fields.get("user_principal_name", "").lower()
            holder = taken.get(upn)
            if holder is not None and holder != record.object_id and holder not in file_user_ids:
                problems.append(
                    ImportProblem(
                        record.line,
                        "userPrincipalName",
                        "Another user in the directory already has this user principal name.",
                    )
                )

    group_first: dict[uuid.UUID, int] = {}
    for record in parsed.groups:
        if record.object_id is None:
            continue
        if record.object_id in group_first:
            problems.append(
                ImportProblem(
                    record.line,
                    "id",
                    f"Duplicate object ID (first seen on line {group_first[record.object_id]}).",
                )
            )
        else:
            group_first[record.object_id] = record.line

    # References: managers and members must exist in the file or the directory.
    manager_ids = {parse_uuid(r.manager) for r in parsed.users if r.manager is not None} - {None}
    member_ids = {
        parse_uuid(member_id) for r in parsed.groups for _, member_id in (r.members or [])
    } - {None}
    outside = list((manager_ids | member_ids) - file_user_ids - set(group_first))
    known_users = set(
        DirectoryUser.objects.filter(directory=directory, object_id__in=outside).values_list(
            "object_id", flat=True
        )
    )
    known_groups = set(
        DirectoryGroup.objects.filter(directory=directory, object_id__in=outside).values_list(
            "object_id", flat=True
        )
    )
    all_users = file_user_ids | known_users
    all_groups = set(group_first) | known_groups
    for record in parsed.users:
        if record.manager is None:
            continue
        manager_id = parse_uuid(record.manager)
        if manager_id is None or manager_id not in all_users:
            problems.append(
                ImportProblem(record.line, "manager", f"Unknown manager {record.manager!r}.")
            )
        elif manager_id == record.object_id:
            problems.append(
                ImportProblem(record.line, "manager", "A user cannot manage themselves.")
            )
    for record in parsed.groups:
        for kind, member_text in record.members or []:
            member_id = parse_uuid(member_text)
            in_users = member_id in all_users
            in_groups = member_id in all_groups
            if member_id is None or not (in_users or in_groups):
                problems.append(
                    ImportProblem(record.line, "members", f"Unknown member {member_text!r}.")
                )
            elif (kind == "user" and not in_users) or (kind == "group" and not in_groups):
                problems.append(
                    ImportProblem(
                        record.line, "members", f"Member {member_text!r} is not a {kind}."
                    )
                )
            elif member_id == record.object_id:
                problems.append(
                    ImportProblem(record.line, "members", "A group cannot contain itself.")
                )


def write(directory: Directory, parsed: Parsed, result: ImportResult, advance: Progress) -> None:
    now = timezone.now()
    changes: list[tuple] = []
    existing = _existing_users(directory, [r.object_id for r in parsed.users])
    to_create: list[DirectoryUser] = []
    to_update: list[DirectoryUser] = []
    update_fields: set[str] = set()
    touched: set[uuid.UUID] = set()
    for record in parsed.users:
        values = dict(record.fields)
        if record.extension_attributes is not None:
            values["extension_attributes"] = record.extension_attributes
        if record.deleted_given:
            values["deleted_at"] = record.deleted_at
        user = existing.get(record.object_id)
        if user is None:
            to_create.append(
                DirectoryUser(directory=directory, object_id=record.object_id, **values)
            )
            changes.append((ObjectType.USER, record.object_id, ChangeType.CREATED, None))
            touched.add(record.object_id)
            result.users_created += 1
            continue
        changed = [name for name, value in values.items() if getattr(user, name) != value]
        if changed:
            for name in changed:
                setattr(user, name, values[name])
            user.updated_at = now
            update_fields.update(changed)
            to_update.append(user)
            changes.append((ObjectType.USER, record.object_id, ChangeType.UPDATED, None))
            touched.add(record.object_id)
            result.users_updated += 1
        else:
            result.users_unchanged += 1
    for chunk in _chunks(to_create, 1000):
        DirectoryUser.objects.bulk_create(chunk)
        advance(len(chunk))
    if to_update:
        for chunk in _chunks(to_update, 1000):
            DirectoryUser.objects.bulk_update(chunk, sorted(update_fields | {"updated_at"}))
            advance(len(chunk))
    advance(len(parsed.users) - len(to_create) - len(to_update))

    # Managers, now that every user has a primary key.
    with_manager = [r for r in parsed.users if r.manager_given]
    if with_manager:
        wanted_ids = {r.object_id for r in with_manager} | {
            parse_uuid(r.manager) for r in with_manager if r.manager
        }
        pk_by_id = dict(
            DirectoryUser.objects.filter(directory=directory, object_id__in=wanted_ids).values_list(
                "object_id", "pk"
            )
        )
        users = _existing_users(directory, [r.object_id for r in with_manager])
        manager_updates = []
        for record in with_manager:
            user = users[record.object_id]
            manager_pk = pk_by_id[parse_uuid(record.manager)] if record.manager else None
            if user.manager_id != manager_pk:
                user.manager_id = manager_pk
                manager_updates.append(user)
                if record.object_id not in touched:
                    changes.append((ObjectType.USER, record.object_id, ChangeType.UPDATED, None))
                    result.users_updated += 1
                    result.users_unchanged -= 1
                    touched.add(record.object_id)
        DirectoryUser.objects.bulk_update(manager_updates, ["manager"], batch_size=1000)

    # Groups.
    groups = _existing_groups(directory, [r.object_id for r in parsed.groups])
    for record in parsed.groups:
        group = groups.get(record.object_id)
        if group is None:
            group = DirectoryGroup.objects.create(
                directory=directory, object_id=record.object_id, **record.fields
            )
            groups[record.object_id] = group
            changes.append((ObjectType.GROUP, record.object_id, ChangeType.CREATED, None))
            result.groups_created += 1
        else:
            changed = [n for n, v in record.fields.items() if getattr(group, n) != v]
            if changed:
                for name in changed:
                    setattr(group, name, record.fields[name])
                group.save()
                changes.append((ObjectType.GROUP, record.object_id, ChangeType.UPDATED, None))
                result.groups_updated += 1
            else:
                result.groups_unchanged += 1
        advance(1)

    # Memberships: make each listed group's direct members exactly the file's list.
    listed = [r for r in parsed.groups if r.members is not None]
    if listed:
        member_ids = {parse_uuid(m) for r in listed for _, m in r.members}
        user_pk = dict(
            DirectoryUser.objects.filter(directory=directory, object_id__in=member_ids).values_list(
                "object_id", "pk"
            )
        )
        group_pk = dict(
            DirectoryGroup.objects.filter(
                directory=directory, object_id__in=member_ids
            ).values_list("object_id", "pk")
        )
        for record in listed:
            group = groups[record.object_id]
            wanted: set[tuple[str, int, uuid.UUID]] = set()
            for kind, text in record.members:
                member_id = parse_uuid(text)
                if kind != "group" and member_id in user_pk:
                    wanted.add(("user", user_pk[member_id], member_id))
                else:
                    wanted.add(("group", group_pk[member_id], member_id))
            current = {
                ("user", row.member_user_id, row.member_user.object_id)
                if row.member_user_id
                else ("group", row.member_group_id, row.member_group.object_id)
                for row in group.members.select_related("member_user", "member_group")
            }
            to_add = wanted - current
            to_remove = current - wanted
            DirectoryGroupMember.objects.bulk_create(
                DirectoryGroupMember(
                    group=group,
                    member_user_id=pk if kind == "user" else None,
                    member_group_id=pk if kind == "group" else None,
                )
                for kind, pk, _ in to_add
            )
            for kind, pk, _ in to_remove:
                key = "member_user_id" if kind == "user" else "member_group_id"
                group.members.filter(**{key: pk}).delete()
            for _, _, member_id in sorted(to_add, key=lambda m: str(m[2])):
                changes.append(
                    (ObjectType.MEMBERSHIP, group.object_id, ChangeType.CREATED, member_id)
                )
            for _, _, member_id in sorted(to_remove, key=lambda m: str(m[2])):
                changes.append(
                    (ObjectType.MEMBERSHIP, group.object_id, ChangeType.DELETED, member_id)
                )
            result.memberships_added += len(to_add)
            result.memberships_removed += len(to_remove)

    change_records_append_many(directory=directory, records=changes)
