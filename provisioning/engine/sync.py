"""One object against the target: the per-object part of a cycle, as Entra does it
(entra-scim-behaviour.md §1.2–1.5, §3.5).

Everything here is plain data in, plain data out, plus HTTP through the shared
:class:`~provisioning.engine.scim_client.ScimClient`; no ORM query. The cycle prepares a
:class:`Work` per object in the main thread, runs :func:`sync_object` for a chunk of objects in
worker threads, then persists the :class:`Outcome` of each (connector data store, log entry)
in one go. Deprovisioning (disable, delete) is decided here but carried out later by
:func:`deprovision`, so a cycle can count its deletes before it makes any (accidental deletion
prevention, §3.7). The reference passes (manager, group members) are in :mod:`.references`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from provisioning.engine.evaluate import (
    CompiledMapping,
    MappingEvaluationError,
    evaluate_mapping,
    matching_values,
)
from provisioning.engine.paths import (
    ADSCIM_GROUP,
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE,
    MANAGER_PATH,
    build_resource,
    normalize,
    parse_path,
    read_value,
)
from provisioning.engine.scim_client import (
    DUPLICATE_TARGET_ENTRIES,
    INCOMPATIBLE,
    INVALID_ANCHOR,
    Dialect,
    ScimClient,
    ScimResult,
    recommendation_for,
    scim_exchange,
)
from provisioning.models import ProvisioningLogEntry

ACTIVE = "active"
DISABLED = "disabled"
DELETED = "deleted"
LIVE_STATES = (ACTIVE, DISABLED)

Status = ProvisioningLogEntry.Status


@dataclass
class SyncContext:
    client: ScimClient
    mapping: CompiledMapping
    source_system: str
    target_system: str
    defer_deprovision: bool = True

    @property
    def dialect(self) -> Dialect:
        return self.client.dialect


@dataclass
class Link:
    target_id: str = ""
    target_state: str = ""
    exported: dict[str, Any] = field(default_factory=dict)

    @property
    def is_live(self) -> bool:
        return bool(self.target_id) and self.target_state in (ACTIVE, DISABLED)


@dataclass
class Work:
    """What the cycle knows about one source object before talking to the target."""

    object_type: str  # "user" | "group"
    source_id: uuid.UUID
    display: str
    source: dict[str, Any] | None  # None: hard-deleted in the directory
    entitled: bool = False
    skip_code: str = ""
    skip_text: str = ""
    scope_details: dict[str, Any] = field(default_factory=dict)
    link: Link = field(default_factory=Link)

    @property
    def resource(self) -> str:
        return "Users" if self.object_type == "user" else "Groups"

    @property
    def noun(self) -> str:
        return "User" if self.object_type == "user" else "Group"


@dataclass
class Outcome:
    """What happened to one object; ``action`` None means nothing to log."""

    object_type: str
    source_id: uuid.UUID
    display: str
    target_id: str = ""
    target_state: str = ""
    exported: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    status: str = Status.SUCCESS
    staged_action: str = ""
    needs_reference: bool = False
    error_code: str = ""
    reason: str = ""
    escrow: bool = False
    fatal: bool = False
    modified: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    started_at: datetime = field(default_factory=timezone.now)
    duration_ms: int = 0
    phase: str = "export"
    #: The log entry's Change ID, sent as ``client-request-id`` on this object's requests.
    change_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def recommendation(self) -> str:
        return recommendation_for(self.error_code)


def step(
    name: str, kind: str, status: str, description: str, details: dict | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "status": status,
        "description": description,
        "details": details or {},
        "timestamp": timezone.now().isoformat(),
    }


def _start(work: Work) -> Outcome:
    return Outcome(
        object_type=work.object_type,
        source_id=work.source_id,
        display=work.display,
        target_id=work.link.target_id,
        target_state=work.link.target_state,
        exported=dict(work.link.exported),
    )


def mark_failed(
    out: Outcome, result: ScimResult | None, *, code: str = "", reason: str = ""
) -> Outcome:
    """Record a failure: escrowed for a later cycle unless the whole cycle must stop."""
    out.status = Status.FAILURE
    out.error_code = code or (result.error_code if result else "")
    out.reason = reason or (result.reason if result else "")
    out.fatal = bool(result and result.fatal)
    out.escrow = not out.fatal
    if out.action is None:
        out.action = "Other"
    return out


def _skip(out: Outcome, code: str, reason: str, action: str = "Other") -> Outcome:
    out.action = action
    out.status = Status.SKIPPED
    out.error_code = code
    out.reason = reason
    out.steps.append(
        step("EntrySynchronizationSkip", "Export", Status.SKIPPED, reason, {"SkipReason": code})
    )
    return out


def build_patch(dialect: Dialect, changes: list[tuple[str, Any, Any]]) -> list[dict[str, Any]]:
    """PATCH operations for changed attributes, in the dialect's shape (§1.3, §1.7)."""
    operations: list[dict[str, Any]] = []
    flat: dict[str, Any] = {}
    for path, old, new in changes:
        is_boolean = path == "active"
        value: Any = new
        if is_boolean:
            value = dialect.boolean(normalize(new) == "True")
        adding = normalize(old) is None
        if dialect.flag2020:
            if adding:
                operations.append({"op": "add", "path": path, "value": value})
            elif parse_path(path).is_filtered or is_boolean:
                operations.append({"op": "replace", "path": path, "value": value})
            else:
                flat[path] = value
        else:
            operations.append({"op": "Add" if adding else "Replace", "path": path, "value": value})
    if flat:
        operations.append({"op": "replace", "value": flat})
    return operations


def _exported(values: dict[str, Any]) -> dict[str, Any]:
    return {path: normalize(value) for path, value in values.items()}


def _match(ctx: SyncContext, work: Work, out: Outcome) -> tuple[dict | None, bool]:
    """The target object for ``work`` (None if none), and whether matching failed (``out``
    then holds the failure)."""
    client = ctx.client
    link = work.link
    if link.is_live:
        result = client.get(work.resource, link.target_id)
        if result.ok:
            out.steps.append(
                step(
                    "EntryImport",
                    "Matching",
                    Status.SUCCESS,
                    f"Retrieved the linked {work.noun} {link.target_id} from {ctx.target_system}",
                    {"id": link.target_id},
                )
            )
            return result.body, False
        if result.error_code != INVALID_ANCHOR:
            out.steps.append(step("EntryImport", "Matching", Status.FAILURE, result.reason))
            mark_failed(out, result)
            return None, True
        out.steps.append(
            step(
                "EntryImport",
                "Matching",
                Status.WARNING,
                f"The linked {work.noun} {link.target_id} no longer exists in "
                f"{ctx.target_system} (InvalidAnchor); matching again.",
            )
        )
        out.target_id = ""
        out.target_state = ""
    pairs = matching_values(ctx.mapping, work.source or {})
    if not pairs:
        _skip(
            out,
            "ImportSkipped",
            f"The {work.noun} has no value for any matching attribute.",
        )
        return None, True
    for attribute, value in pairs:
        result = client.query(work.resource, attribute, value)
        if not result.ok:
            out.steps.append(step("EntryImport", "Matching", Status.FAILURE, result.reason))
            mark_failed(out, result)
            return None, True
        resources = result.resources
        if len(resources) > 1:
            out.steps.append(
                step(
                    "EntryImport",
                    "Matching",
                    Status.FAILURE,
                    f"{len(resources)} objects in {ctx.target_system} have {attribute} "
                    f"eq {value!r}.",
                )
            )
            mark_failed(
                out,
                None,
                code=DUPLICATE_TARGET_ENTRIES,
                reason=f"More than one object in the target matches {attribute} eq {value!r}.",
            )
            return None, True
        if resources:
            target = resources[0]
            if not target.get("id"):
                mark_failed(out, None, code=INCOMPATIBLE, reason="The matched resource has no id.")
                return None, True
            out.steps.append(
                step(
                    "EntryImport",
                    "Matching",
                    Status.SUCCESS,
                    f"Matched {work.noun} {work.display} with {target['id']} in "
                    f"{ctx.target_system} using {attribute}",
                    {"matchingAttribute": attribute, "value": value, "id": target["id"]},
                )
            )
            return target, False
    out.steps.append(
        step(
            "EntryImport",
            "Matching",
            Status.SUCCESS,
            f"No {work.noun} in {ctx.target_system} matches "
            + ", ".join(f"{a} eq {v!r}" for a, v in pairs),
            {"matchingAttributes": [a for a, _ in pairs]},
        )
    )
    return None, False


def _create(ctx: SyncContext, work: Work, out: Outcome) -> Outcome:
    try:
        values = evaluate_mapping(ctx.mapping, work.source or {}, creating=True)
    except MappingEvaluationError as error:
        out.action = "Create"
        return mark_failed(out, None, code="ExpressionEvaluationError", reason=str(error))
    if work.object_type == "user":
        schemas = [CORE_USER, ENTERPRISE]
    else:
        schemas = [CORE_GROUP, ADSCIM_GROUP]
    body = build_resource(values, schemas=schemas)
    body["meta"] = {"resourceType": work.noun}
    out.action = "Create"
    result = ctx.client.create(work.resource, body)
    if not result.ok:
        out.steps.append(step("EntryExportAdd", "Export", Status.FAILURE, result.reason))
        return mark_failed(out, result)
    target_id = result.body.get("id") if isinstance(result.body, dict) else None
    if not target_id:
        return mark_failed(out, None, code=INCOMPATIBLE, reason="The created resource has no id.")
    out.target_id = str(target_id)
    out.target_state = ACTIVE
    out.exported = _exported(values)
    if work.object_type == "user":
        out.exported[MANAGER_PATH] = None
    else:
        out.exported["members"] = []
    out.modified = [
        {"displayName": path, "oldValue": None, "newValue": normalize(value)}
        for path, value in values.items()
    ]
    out.steps.append(
        step(
            "EntryExportAdd",
            "Export",
            Status.SUCCESS,
            f"{work.noun} '{work.display}' was created in {ctx.target_system}",
            {"id": out.target_id},
        )
    )
    out.needs_reference = True
    return out


def _update(ctx: SyncContext, work: Work, out: Outcome, target: dict) -> Outcome:
    out.target_id = str(target["id"])
    try:
        desired = evaluate_mapping(ctx.mapping, work.source or {}, creating=False)
    except MappingEvaluationError as error:
        out.action = "Update"
        return mark_failed(out, None, code="ExpressionEvaluationError", reason=str(error))
    changes = []
    for path, value in desired.items():
        old = read_value(target, path)
        if normalize(old) != normalize(value):
            changes.append((path, old, value))
    exported = {**out.exported, **_exported(desired)}
    if work.object_type == "user":
        exported[MANAGER_PATH] = normalize(read_value(target, MANAGER_PATH))
    out.needs_reference = True
    active = read_value(target, "active")
    if not changes:
        out.exported = exported
        out.target_state = DISABLED if normalize(active) == "False" else ACTIVE
        return _skip(
            out,
            "RedundantExport",
            f"The {work.noun} '{work.display}' is already in sync with {ctx.target_system}.",
        )
    if not ctx.mapping.action_update:
        out.exported = exported
        out.target_state = out.target_state or ACTIVE
        return _skip(
            out,
            "EntrySynchronizationSkipped",
            "Update is not among the mapping's Target Object Actions.",
        )
    out.action = "Update"
    result = ctx.client.patch(work.resource, out.target_id, build_patch(ctx.dialect, changes))
    if not result.ok:
        out.steps.append(step("EntryExportUpdate", "Export", Status.FAILURE, result.reason))
        return mark_failed(out, result)
    out.exported = exported
    new_active = desired.get("active", active)
    out.target_state = DISABLED if normalize(new_active) == "False" else ACTIVE
    out.modified = [
        {"displayName": path, "oldValue": normalize(old), "newValue": normalize(new)}
        for path, old, new in changes
    ]
    out.steps.append(
        step(
            "EntryExportUpdate",
            "Export",
            Status.SUCCESS,
            f"{work.noun} '{work.display}' was updated in {ctx.target_system}",
            {"id": out.target_id, "modified": [path for path, _, _ in changes]},
        )
    )
    return out


def sync_object(ctx: SyncContext, work: Work) -> Outcome:
    """Import → scoping → matching → action for one object (deprovisioning is staged)."""
    started = time.monotonic()
    out = _start(work)
    try:
        with scim_exchange(out.change_id):
            return _sync(ctx, work, out)
    finally:
        out.duration_ms = int((time.monotonic() - started) * 1000)


def _sync(ctx: SyncContext, work: Work, out: Outcome) -> Outcome:
    link = work.link
    if work.source is None:
        out.steps.append(
            step(
                "EntryImport",
                "Import",
                Status.SUCCESS,
                f"The {work.noun} was permanently deleted in {ctx.source_system}",
            )
        )
        if link.is_live and ctx.mapping.action_delete:
            out.staged_action = "Delete"
        return out
    out.steps.append(
        step(
            "EntryImport",
            "Import",
            Status.SUCCESS,
            f"Retrieved {work.display} from {ctx.source_system}",
            {k: v for k, v in work.source.items() if v is not None},
        )
    )
    out.steps.append(
        step(
            "EntrySynchronizationScoping",
            "Scoping",
            Status.SUCCESS if work.entitled else Status.SKIPPED,
            f"Determine if {work.noun} is in scope: "
            + ("in scope" if work.entitled else work.skip_text),
            work.scope_details,
        )
    )
    if not work.entitled:
        if not link.is_live:
            return _skip(out, work.skip_code, work.skip_text)
        if work.object_type == "group":
            if ctx.mapping.action_delete:
                out.staged_action = "Delete"
                return out
            return _skip(out, work.skip_code, work.skip_text)
        if link.target_state == DISABLED:
            return _skip(
                out,
                "EntrySynchronizationSkipped",
                f"The {work.noun} is out of scope and already disabled in {ctx.target_system}.",
            )
        if ctx.mapping.flows_soft_delete and ctx.mapping.action_update:
            out.staged_action = "Disable"
            return out
        return _skip(out, work.skip_code, work.skip_text)
    target, stop = _match(ctx, work, out)
    if stop:
        return out
    if target is None:
        if not ctx.mapping.action_create:
            return _skip(
                out,
                "EntrySynchronizationSkipped",
                "Create is not among the mapping's Target Object Actions.",
            )
        return _create(ctx, work, out)
    return _update(ctx, work, out, target)


def deprovision(
    ctx: SyncContext,
    *,
    object_type: str,
    source_id: uuid.UUID,
    display: str,
    target_id: str,
    exported: dict[str, Any],
    kind: str,
) -> Outcome:
    """Carry out a staged Disable (``active`` false) or Delete (§1.4, §1.5)."""
    started = time.monotonic()
    resource = "Users" if object_type == "user" else "Groups"
    noun = "User" if object_type == "user" else "Group"
    out = Outcome(
        object_type=object_type,
        source_id=source_id,
        display=display,
        target_id=target_id,
        exported=dict(exported),
        action=kind,
        phase="deprovision",
    )
    if kind == "Disable":
        operation = {
            "op": ctx.dialect.op("replace"),
            "path": "active",
            "value": ctx.dialect.boolean(False),
        }
        with scim_exchange(out.change_id):
            result = ctx.client.patch(resource, target_id, [operation])
        step_name, new_state = "EntryExportUpdateSoftDelete", DISABLED
    else:
        with scim_exchange(out.change_id):
            result = ctx.client.delete(resource, target_id)
        step_name, new_state = "EntryExportDelete", DELETED
        if result.error_code == INVALID_ANCHOR:
            result = ScimResult(result.method, result.url, result.status)  # already gone
    out.duration_ms = int((time.monotonic() - started) * 1000)
    if not result.ok:
        out.target_state = ACTIVE
        out.staged_action = kind
        out.steps.append(step(step_name, "Export", Status.FAILURE, result.reason))
        return mark_failed(out, result)
    out.target_state = new_state
    if kind == "Disable":
        out.modified = [{"displayName": "active", "oldValue": "True", "newValue": "False"}]
        out.exported["active"] = "False"
    verb = "disabled" if kind == "Disable" else "deleted"
    out.steps.append(
        step(
            step_name,
            "Export",
            Status.SUCCESS,
            f"{noun} '{display}' was {verb} in {ctx.target_system}",
        )
    )
    return out
