"""Provision on demand (entra-scim-behaviour.md §3.6, provisioning-ui.md B.10): one user, or
one group with up to five of its members, now, outside the cycles, with the steps shown as the
portal shows them — Test connection (only when it fails), Import user, Determine if user is in
scope, Match user between source and target system, Perform action (for a group, the same
steps for the group and for each selected member, then the group's members added). The
results are written to the provisioning logs like any other change. The ``aadOptscim062020``
flag does not apply (documented), so the default dialect is used whatever the Tenant URL says.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from provisioning.crypto import SecretUnavailableError
from provisioning.engine.evaluate import job_mappings
from provisioning.engine.paths import MANAGER_PATH
from provisioning.engine.references import ManagerWork, MembersWork, sync_manager, sync_members
from provisioning.engine.scim_client import Purpose, recommendation_for, scim_client_for
from provisioning.engine.state import job_state
from provisioning.engine.store import persist_outcomes, source_system_name, target_system_name
from provisioning.engine.sync import (
    ACTIVE,
    LIVE_STATES,
    Outcome,
    SyncContext,
    deprovision,
    sync_object,
)
from provisioning.engine.works import group_works, user_works
from provisioning.models import (
    ConnectorObject,
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryUser,
    ProvisioningJob,
    ProvisioningLogEntry,
)
from provisioning.outbound import DestinationRefusedError

ON_DEMAND = "On-demand provisioning"
Status = ProvisioningLogEntry.Status
MAX_GROUP_MEMBERS = 5  # "When provisioning a group you can select 5 members at a time."


@dataclass
class OnDemandStep:
    number: int
    title: str
    status: str  # Success | Failure | Skipped
    description: str
    details: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class OnDemandResult:
    user: DirectoryUser
    steps: list[OnDemandStep]
    action: str = ""
    status: str = ""
    change_id: uuid.UUID | None = None
    error_code: str = ""
    reason: str = ""
    recommendation: str = ""
    outcome: Outcome | None = None

    @property
    def object_type(self) -> str:
        return "user"

    @property
    def subject_id(self) -> uuid.UUID:
        return self.user.object_id

    @property
    def title(self) -> str:
        return self.user.display_name

    @property
    def subtitle(self) -> str:
        return self.user.user_principal_name


@dataclass
class OnDemandGroupResult:
    """A group and up to five of its members, each with its own steps."""

    group: DirectoryGroup
    steps: list[OnDemandStep]
    members: list[OnDemandResult] = field(default_factory=list)
    selected: list[DirectoryUser] = field(default_factory=list)
    action: str = ""
    status: str = ""
    change_id: uuid.UUID | None = None
    error_code: str = ""
    reason: str = ""
    recommendation: str = ""

    @property
    def object_type(self) -> str:
        return "group"

    @property
    def subject_id(self) -> uuid.UUID:
        return self.group.object_id

    @property
    def title(self) -> str:
        return self.group.display_name

    @property
    def subtitle(self) -> str:
        return "Group"


def _connect(job: ProvisioningJob, steps: list[OnDemandStep], result, resource: str, attribute):
    """The client, after the random-GUID probe; None (and a failed "Test connection" step in
    ``steps``, the failure in ``result``) when the target cannot be used."""
    try:
        client = scim_client_for(job, purpose=Purpose.ON_DEMAND)
    except (SecretUnavailableError, DestinationRefusedError) as error:
        steps.append(OnDemandStep(0, "Test connection", Status.FAILURE, str(error)))
        result.status, result.reason = Status.FAILURE, str(error)
        return None
    probe = client.probe(resource, attribute)
    if not probe.ok:
        client.close()
        steps.append(OnDemandStep(0, "Test connection", Status.FAILURE, probe.reason))
        result.status, result.error_code, result.reason = (
            Status.FAILURE,
            probe.error_code,
            probe.reason,
        )
        result.recommendation = recommendation_for(probe.error_code)
        return None
    return client


def provisioning_on_demand_run(*, job: ProvisioningJob, user: DirectoryUser) -> OnDemandResult:
    """Provision one user now and explain each step."""
    if user.directory_id != job.application.directory_id:
        raise ValueError("user belongs to another directory")
    result = OnDemandResult(user=user, steps=[])
    mapping = job_mappings(job)["user"]
    attribute = mapping.matching[0].target if mapping.matching else "userName"
    client = _connect(job, result.steps, result, "Users", attribute)
    if client is None:
        return result
    with client:
        ctx = SyncContext(
            client, mapping, source_system_name(), target_system_name(job), defer_deprovision=False
        )
        return _provision_user(job, ctx, user, result)


def _provision_user(
    job: ProvisioningJob, ctx: SyncContext, user: DirectoryUser, result: OnDemandResult
) -> OnDemandResult:
    """One user through import, scoping, matching and the action (and its manager reference),
    persisted like a cycle's outcome; ``result.outcome`` is what happened."""
    mapping = ctx.mapping
    works, links = user_works(job, mapping, [user.object_id])
    work = works[0]
    outcome = sync_object(ctx, work)
    outcomes = [outcome]
    if outcome.staged_action:
        final = deprovision(
            ctx,
            object_type="user",
            source_id=work.source_id,
            display=work.display,
            target_id=outcome.target_id,
            exported=outcome.exported,
            kind=outcome.staged_action,
        )
        final.steps = outcome.steps + final.steps
        outcome = final
        outcomes = [final]
    elif outcome.target_id and outcome.target_state == ACTIVE and mapping.reference("manager"):
        manager_target = None
        if user.manager_id:
            manager_target = (
                ConnectorObject.objects.filter(
                    job=job, object_type="user", source_id=user.manager.object_id
                )
                .exclude(target_id="")
                .values_list("target_id", flat=True)
                .first()
            )
        current = outcome.exported.get(MANAGER_PATH)
        if manager_target != current:
            reference = sync_manager(
                ctx,
                ManagerWork(
                    work.source_id,
                    work.display,
                    outcome.target_id,
                    current,
                    manager_target,
                    outcome.exported,
                ),
            )
            if reference.status == Status.SUCCESS:
                outcome.exported = reference.exported
                outcome.modified += reference.modified
                outcome.steps += reference.steps
                if outcome.action in (None, "Other"):
                    outcome.action, outcome.status, outcome.error_code = (
                        "Update",
                        Status.SUCCESS,
                        "",
                    )
    outcome.needs_reference = False
    entries = persist_outcomes(
        job=job, cycle_id=None, outcomes=outcomes, links=links, initiated_by=ON_DEMAND
    )
    state = job_state(job)
    state.save(update_fields=["updated_at"])
    change_id = entries[0].change_id if entries else None
    result.outcome = outcome
    return _explain(result, work, outcome, change_id, ctx.target_system)


def _explain(result, work, outcome: Outcome, change_id, target: str, *, noun: str = "user"):
    """The portal's numbered steps for one object (``noun`` "user" or "group")."""
    steps = result.steps
    capitalized = noun.capitalize()
    source = work.source or {}
    steps.append(
        OnDemandStep(
            1,
            f"Import {noun}",
            Status.SUCCESS,
            f"This step shows the {noun} retrieved from the source system and the properties "
            f"of the {noun} in the source system.",
            rows=[{"name": k, "value": v} for k, v in source.items() if v is not None],
        )
    )
    details = work.scope_details
    if noun == "group":
        scope_rows = [
            {"name": "Assigned to application", "value": details.get("Assigned")},
            {"name": "Scope sync all", "value": details.get("ScopeSyncAll")},
            {"name": "Scoping filters", "value": details.get("ScopeEvaluationResult")},
        ]
    else:
        scope_rows = [
            {"name": "Active in source system", "value": details.get("IsActive")},
            {"name": "Assigned to application", "value": details.get("Assigned")},
            {"name": "Scope sync all", "value": details.get("ScopeSyncAll")},
            {"name": "User has required role", "value": details.get("HasRequiredRole")},
        ]
    scope_rows += [
        {
            "name": f"{c['filter']} {c['attribute']} {c['operator']} {c['value']}",
            "value": c["result"],
        }
        for c in details.get("ScopingClauses", [])
    ]
    if work.entitled:
        scope_text = f"The {noun} '{work.display}' is in scope."
    else:
        scope_text = (
            f"The {capitalized} '{work.display}' will be skipped due to the following reasons: "
            f"1) {work.skip_text}"
        )
    steps.append(
        OnDemandStep(
            2,
            f"Determine if {noun} is in scope",
            Status.SUCCESS if work.entitled else Status.SKIPPED,
            scope_text,
            {"SkipReason": work.skip_code} if work.skip_code else {},
            scope_rows,
        )
    )
    match_steps = [s for s in outcome.steps if s.get("type") == "Matching"]
    if work.entitled:
        match = match_steps[-1] if match_steps else None
        steps.append(
            OnDemandStep(
                3,
                f"Match {noun} between source and target system",
                (match or {}).get("status", Status.SUCCESS),
                (match or {}).get("description", ""),
                (match or {}).get("details", {}),
            )
        )
    verb = {
        "Create": "was created in",
        "Update": "was updated in",
        "Disable": "was disabled in",
        "Delete": "was deleted in",
    }.get(outcome.action or "", "was skipped for")
    if outcome.status == Status.FAILURE:
        description = outcome.reason
    elif outcome.status == Status.SKIPPED:
        description = outcome.reason or f"{capitalized} '{work.display}' {verb} the target."
    else:
        description = f"{capitalized} '{work.display}' {verb} {target}"
    steps.append(
        OnDemandStep(
            4,
            "Perform action",
            outcome.status,
            description,
            {"action": outcome.action or "Other"},
            [
                {
                    "name": m.get("displayName"),
                    "old": m.get("oldValue"),
                    "new": m.get("newValue"),
                }
                for m in outcome.modified
            ],
        )
    )
    result.action = outcome.action or "Other"
    result.status = outcome.status
    result.change_id = change_id
    result.error_code = outcome.error_code
    result.reason = outcome.reason
    result.recommendation = recommendation_for(outcome.error_code)
    return result


def group_provisioning_enabled(job: ProvisioningJob) -> bool:
    """Whether the job provisions groups at all (a groups mapping, enabled, and an app whose
    connector takes groups)."""
    groups = job_mappings(job).get("group")
    return bool(groups and groups.enabled and job.application.supports_groups)


def on_demand_group_members(group: DirectoryGroup):
    """The users an admin may pick among: the group's direct user members."""
    return DirectoryUser.objects.filter(memberships__group=group).order_by(
        "display_name", "user_principal_name"
    )


def provisioning_on_demand_group_run(
    *, job: ProvisioningJob, group: DirectoryGroup, members: Sequence[DirectoryUser]
) -> OnDemandGroupResult:
    """Provision one group and up to five of its members now: the group is created or updated,
    each member provisioned (as on-demand for a user), then the provisioned members added to
    the group in the target. Raises ``ValidationError`` when the selection is not allowed."""
    directory_id = job.application.directory_id
    if group.directory_id != directory_id:
        raise ValueError("group belongs to another directory")
    if not group_provisioning_enabled(job):
        raise ValidationError("This application does not provision groups.")
    members = list(dict.fromkeys(members))
    if len(members) > MAX_GROUP_MEMBERS:
        raise ValidationError(
            f"You can provision up to {MAX_GROUP_MEMBERS} members of a group at a time; "
            f"{len(members)} are selected."
        )
    direct = set(
        DirectoryGroupMember.objects.filter(
            group=group, member_user__in=[m.pk for m in members]
        ).values_list("member_user_id", flat=True)
    )
    strangers = [m for m in members if m.pk not in direct]
    if strangers:
        raise ValidationError(
            f"{', '.join(m.display_name for m in strangers)} "
            f"{'is not a member' if len(strangers) == 1 else 'are not members'} "
            f"of {group.display_name}."
        )
    mappings = job_mappings(job)
    group_mapping, user_mapping = mappings["group"], mappings["user"]
    result = OnDemandGroupResult(group=group, steps=[], selected=members)
    attribute = group_mapping.matching[0].target if group_mapping.matching else "displayName"
    client = _connect(job, result.steps, result, "Groups", attribute)
    if client is None:
        return result
    source, target = source_system_name(), target_system_name(job)
    with client:
        group_ctx = SyncContext(client, group_mapping, source, target, defer_deprovision=False)
        user_ctx = SyncContext(client, user_mapping, source, target, defer_deprovision=False)
        works, links = group_works(job, group_mapping, [group.object_id])
        work = works[0]
        outcome = sync_object(group_ctx, work)
        if outcome.staged_action:
            final = deprovision(
                group_ctx,
                object_type="group",
                source_id=work.source_id,
                display=work.display,
                target_id=outcome.target_id,
                exported=outcome.exported,
                kind=outcome.staged_action,
            )
            final.steps = outcome.steps + final.steps
            outcome = final
        for member in members:
            result.members.append(
                _provision_user(job, user_ctx, member, OnDemandResult(user=member, steps=[]))
            )
        members_step = _add_members(group_ctx, work, outcome, result.members)
    entries = persist_outcomes(
        job=job, cycle_id=None, outcomes=[outcome], links=links, initiated_by=ON_DEMAND
    )
    change_id = entries[0].change_id if entries else None
    _explain(result, work, outcome, change_id, target, noun="group")
    result.steps.append(members_step)
    if members_step.status == Status.FAILURE and result.status != Status.FAILURE:
        result.status = Status.FAILURE
    return result


def _add_members(
    ctx: SyncContext, work, outcome: Outcome, members: list[OnDemandResult]
) -> OnDemandStep:
    """Add the provisioned selected members to the group in the target (never removes: the
    other members are the cycles' business). Merges what it did into the group's outcome."""
    rows = []
    wanted: list[str] = []
    for member in members:
        done = member.outcome
        if done and done.target_id and done.target_state in LIVE_STATES:
            wanted.append(done.target_id)
            rows.append({"name": member.user.user_principal_name, "value": done.target_id})
        else:
            rows.append({"name": member.user.user_principal_name, "value": "Not provisioned"})
    title = "Add members to the group"
    if not (outcome.target_id and outcome.target_state == "active"):
        return OnDemandStep(
            5,
            title,
            Status.SKIPPED,
            f"The group '{work.display}' is not provisioned, so no member was added.",
            rows=rows,
        )
    current = set(outcome.exported.get("members") or [])
    add = sorted(set(wanted) - current)
    if not add:
        return OnDemandStep(
            5,
            title,
            Status.SUCCESS if wanted else Status.SKIPPED,
            f"No member to add: {len(wanted)} selected member(s) already in the group."
            if wanted
            else "None of the selected members is provisioned.",
            rows=rows,
        )
    reference = sync_members(
        ctx,
        MembersWork(
            work.source_id,
            work.display,
            outcome.target_id,
            add,
            [],
            outcome.exported,
            sorted(current | set(add)),
        ),
    )
    outcome.steps += reference.steps
    if reference.status != Status.SUCCESS:
        outcome.status, outcome.error_code, outcome.reason = (
            Status.FAILURE,
            reference.error_code,
            reference.reason,
        )
        if outcome.action in (None, "Other"):
            outcome.action = "Update"
        return OnDemandStep(5, title, Status.FAILURE, reference.reason, rows=rows)
    outcome.exported = reference.exported
    outcome.modified += reference.modified
    if outcome.action in (None, "Other"):
        outcome.action, outcome.status, outcome.error_code, outcome.reason = (
            "Update",
            Status.SUCCESS,
            "",
            "",
        )
    # The cycles reconcile the group's full member list (members not selected here).
    outcome.needs_reference = True
    return OnDemandStep(
        5,
        title,
        Status.SUCCESS,
        f"Added {len(add)} member(s) to the group '{work.display}' in {ctx.target_system}",
        {"added": add},
        rows,
    )
