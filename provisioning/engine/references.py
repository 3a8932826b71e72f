"""References, the last phases of a cycle (entra-scim-behaviour.md §1.3, §1.5): a user's
manager and a group's members, set once the objects they point to exist in the target. Plain
data in, plain data out, like :mod:`.sync`."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from provisioning.engine.paths import MANAGER_PATH
from provisioning.engine.scim_client import Dialect
from provisioning.engine.sync import ACTIVE, Outcome, Status, SyncContext, mark_failed, step

MEMBER_BATCH = 100


@dataclass
class ManagerWork:
    source_id: uuid.UUID
    display: str
    target_id: str
    current: str | None
    desired: str | None
    exported: dict[str, Any]


def sync_manager(ctx: SyncContext, work: ManagerWork) -> Outcome:
    """Set, change or clear the manager: the manager's target id as a plain string (§1.3)."""
    started = time.monotonic()
    out = Outcome(
        object_type="user",
        source_id=work.source_id,
        display=work.display,
        target_id=work.target_id,
        exported=dict(work.exported),
        action="Update",
        phase="references",
    )
    op = ctx.dialect.op("add" if work.current is None else "replace")
    value = work.desired if work.desired is not None else ""
    result = ctx.client.patch(
        "Users", work.target_id, [{"op": op, "path": MANAGER_PATH, "value": value}]
    )
    out.duration_ms = int((time.monotonic() - started) * 1000)
    if not result.ok:
        out.steps.append(
            step("EntryReferenceResolution", "ReferenceResolution", Status.FAILURE, "")
        )
        return mark_failed(out, result)
    out.target_state = ACTIVE
    out.exported[MANAGER_PATH] = work.desired
    out.modified = [{"displayName": "manager", "oldValue": work.current, "newValue": work.desired}]
    out.steps.append(
        step(
            "EntryReferenceResolution",
            "ReferenceResolution",
            Status.SUCCESS,
            f"Resolved the manager of '{work.display}' to {work.desired or '(none)'}",
        )
    )
    return out


@dataclass
class MembersWork:
    source_id: uuid.UUID
    display: str
    target_id: str
    add: list[str]
    remove: list[str]
    exported: dict[str, Any]
    desired: list[str]


def member_operations(dialect: Dialect, add: list[str], remove: list[str]) -> list[list[dict]]:
    """PATCH bodies (lists of operations) for member changes, batched (§1.5)."""
    bodies: list[list[dict]] = []
    for index in range(0, len(add), MEMBER_BATCH):
        batch = add[index : index + MEMBER_BATCH]
        bodies.append(
            [
                {
                    "op": dialect.op("add"),
                    "path": "members",
                    "value": [{"$ref": None, "value": member} for member in batch],
                }
            ]
        )
    for index in range(0, len(remove), MEMBER_BATCH):
        batch = remove[index : index + MEMBER_BATCH]
        if dialect.flag2020:
            bodies.append(
                [{"op": "remove", "path": f'members[value eq "{member}"]'} for member in batch]
            )
        else:
            bodies.append(
                [
                    {
                        "op": "Remove",
                        "path": "members",
                        "value": [{"value": member} for member in batch],
                    }
                ]
            )
    return bodies


def sync_members(ctx: SyncContext, work: MembersWork) -> Outcome:
    started = time.monotonic()
    out = Outcome(
        object_type="group",
        source_id=work.source_id,
        display=work.display,
        target_id=work.target_id,
        exported=dict(work.exported),
        action="Update",
        phase="references",
    )
    for operations in member_operations(ctx.dialect, work.add, work.remove):
        result = ctx.client.patch("Groups", work.target_id, operations)
        if not result.ok:
            out.duration_ms = int((time.monotonic() - started) * 1000)
            out.steps.append(
                step(
                    "EntryReferenceResolution", "ReferenceResolution", Status.FAILURE, result.reason
                )
            )
            return mark_failed(out, result)
    out.duration_ms = int((time.monotonic() - started) * 1000)
    out.target_state = ACTIVE
    out.exported["members"] = sorted(work.desired)
    out.modified = []
    if work.add:
        out.modified.append({"displayName": "members", "oldValue": None, "newValue": work.add})
    if work.remove:
        out.modified.append({"displayName": "members", "oldValue": work.remove, "newValue": None})
    out.steps.append(
        step(
            "EntryReferenceResolution",
            "ReferenceResolution",
            Status.SUCCESS,
            f"Added {len(work.add)} and removed {len(work.remove)} members of "
            f"'{work.display}' in {ctx.target_system}",
        )
    )
    return out
