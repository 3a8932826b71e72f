"""Provision on demand (entra-scim-behaviour.md §3.6, provisioning-ui.md B.10): one user, now,
outside the cycles, with the steps shown as the portal shows them — Test connection (only
when it fails), Import user, Determine if user is in scope, Match user between source and
target system, Perform action. The result is written to the provisioning logs like any
other change. The ``aadOptscim062020`` flag does not apply (documented), so the default
dialect is used whatever the Tenant URL says.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from provisioning.crypto import SecretUnavailableError, secret_decrypt
from provisioning.engine.cycle import (
    job_state,
    persist_outcomes,
    source_system_name,
    target_system_name,
    user_works,
)
from provisioning.engine.evaluate import job_mappings
from provisioning.engine.paths import MANAGER_PATH
from provisioning.engine.scim_client import Dialect, ScimClient, recommendation_for
from provisioning.engine.sync import (
    ACTIVE,
    ManagerWork,
    Outcome,
    SyncContext,
    deprovision,
    sync_manager,
    sync_object,
)
from provisioning.models import ConnectorObject, DirectoryUser, ProvisioningJob
from provisioning.outbound import DestinationRefusedError

ON_DEMAND = "On-demand provisioning"


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


def _client(job: ProvisioningJob) -> ScimClient:
    token = secret_decrypt(job.secret_token_encrypted)
    client = ScimClient(tenant_url=job.tenant_url, token=token, max_concurrency=2)
    client.dialect = Dialect(flag2020=False)
    return client


def provisioning_on_demand_run(*, job: ProvisioningJob, user: DirectoryUser) -> OnDemandResult:
    """Provision one user now and explain each step."""
    if user.directory_id != job.application.directory_id:
        raise ValueError("user belongs to another directory")
    steps: list[OnDemandStep] = []
    result = OnDemandResult(user=user, steps=steps)
    mapping = job_mappings(job)["user"]
    try:
        client = _client(job)
    except (SecretUnavailableError, DestinationRefusedError) as error:
        steps.append(OnDemandStep(0, "Test connection", "Failure", str(error)))
        result.status, result.reason = "Failure", str(error)
        return result
    with client:
        probe = client.probe(
            "Users", mapping.matching[0].target if mapping.matching else "userName"
        )
        if not probe.ok:
            steps.append(OnDemandStep(0, "Test connection", "Failure", probe.reason))
            result.status, result.error_code, result.reason = (
                "Failure",
                probe.error_code,
                probe.reason,
            )
            result.recommendation = recommendation_for(probe.error_code)
            return result
        works, links = user_works(job, mapping, [user.object_id])
        work = works[0]
        ctx = SyncContext(
            client, mapping, source_system_name(), target_system_name(job), defer_deprovision=False
        )
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
                if reference.status == "Success":
                    outcome.exported = reference.exported
                    outcome.modified += reference.modified
                    outcome.steps += reference.steps
                    if outcome.action in (None, "Other"):
                        outcome.action, outcome.status, outcome.error_code = "Update", "Success", ""
        outcome.needs_reference = False
    entries = persist_outcomes(
        job=job, cycle_id=None, outcomes=outcomes, links=links, initiated_by=ON_DEMAND
    )
    state = job_state(job)
    state.save(update_fields=["updated_at"])
    change_id = entries[0].change_id if entries else None
    return _explain(result, work, outcome, change_id, target_system_name(job))


def _explain(
    result: OnDemandResult, work, outcome: Outcome, change_id, target: str
) -> OnDemandResult:
    steps = result.steps
    source = work.source or {}
    steps.append(
        OnDemandStep(
            1,
            "Import user",
            "Success",
            "This step shows the user retrieved from the source system and the properties of "
            "the user in the source system.",
            rows=[{"name": k, "value": v} for k, v in source.items() if v is not None],
        )
    )
    details = work.scope_details
    scope_rows = [
        {"name": "Active in source system", "value": details.get("IsActive")},
        {"name": "Assigned to application", "value": details.get("Assigned")},
        {"name": "Scope sync all", "value": details.get("ScopeSyncAll")},
        {"name": "User has required role", "value": details.get("Assigned")},
    ] + [
        {
            "name": f"{c['filter']} {c['attribute']} {c['operator']} {c['value']}",
            "value": c["result"],
        }
        for c in details.get("ScopingClauses", [])
    ]
    if work.entitled:
        scope_text = f"The user '{work.display}' is in scope."
    else:
        scope_text = (
            f"The User '{work.display}' will be skipped due to the following reasons: "
            f"1) {work.skip_text}"
        )
    steps.append(
        OnDemandStep(
            2,
            "Determine if user is in scope",
            "Success" if work.entitled else "Skipped",
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
                "Match user between source and target system",
                (match or {}).get("status", "Success"),
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
    if outcome.status == "Failure":
        description = outcome.reason
    elif outcome.status == "Skipped":
        description = outcome.reason or f"User '{work.display}' {verb} the target."
    else:
        description = f"User '{work.display}' {verb} {target}"
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
