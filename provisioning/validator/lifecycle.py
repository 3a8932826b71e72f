"""The user and group lifecycle checks: a change made in a scratch emulated directory, pushed by
the real engine (a cycle, or provision on demand) to the target through a scratch enterprise app.
A check passes when the provisioning log has the expected action with status Success **and** the
target shows the expected state (read back with ``GET /Users?filter=userName eq "…"``). The
scratch directory and app are deleted at the end of the run, and what the engine created on the
target with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from provisioning.crypto import secret_encrypt
from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.engine.ondemand import (
    provisioning_on_demand_group_run,
    provisioning_on_demand_run,
)
from provisioning.engine.scim_client import ScimClient
from provisioning.models import (
    AttributeMapping,
    ConnectorObject,
    Directory,
    DirectoryGroup,
    DirectoryUser,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningJob,
    ProvisioningLogEntry,
)
from provisioning.services.applications import (
    app_role_assignment_create,
    app_role_assignment_delete,
    enterprise_application_create,
)
from provisioning.services.directory import (
    directory_create,
    directory_group_create,
    directory_group_delete,
    directory_group_member_add,
    directory_group_member_remove,
    directory_group_update,
    directory_user_create,
    directory_user_hard_delete,
    directory_user_soft_delete,
    directory_user_update,
)
from provisioning.services.mappings import object_mapping_update
from provisioning.validator.context import (
    CheckFailedError,
    CheckSkippedError,
    RunContext,
    scratch_directory_name,
)
from provisioning.validator.direct import value_at
from provisioning.validator.registry import check
from provisioning.validator.result import Category, Exchange

Action = ProvisioningLogEntry.Action
INITIATED_BY = "SCIM Validator"


@dataclass
class Scratch:
    """The scratch directory and app of one run, and the directory objects made in it."""

    directory: Directory
    app: EnterpriseApplication
    job: ProvisioningJob
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    groups: dict[str, DirectoryGroup] = field(default_factory=dict)


def _scratch(ctx: RunContext) -> Scratch:
    if "scratch" in ctx.facts:
        return ctx.facts["scratch"]
    domain = f"{ctx.prefix}.validator.example.com"
    directory = directory_create(name=scratch_directory_name(ctx.prefix), domain=domain)
    ctx.finalizers.append(lambda: _scratch_delete(ctx))
    app = enterprise_application_create(
        directory=directory, template=EnterpriseApplication.Template.SCIM, name=ctx.prefix
    )
    job = app.provisioning_job
    url = ctx.client.base_url + ("?aadOptscim062020" if ctx.flag2020 else "")
    # Set directly rather than through ``provisioning_job_update``: that service imports the
    # tasks module (to queue cycles), which imports this package to run console validations.
    # The URL was checked by the caller's SSRF guard; the job stays Off, so only this run's
    # own cycles ever run it, never the scheduler.
    job.mode = ProvisioningJob.Mode.AUTOMATIC
    job.tenant_url = url
    job.secret_token_encrypted = secret_encrypt(ctx.token) if ctx.token else ""
    job.status = ProvisioningJob.Status.OFF
    job.save()
    if not ctx.groups:
        # Groups off: the scratch app provisions users only, so the engine never calls /Groups.
        groups = job.mappings.get(object_type=ObjectMapping.ObjectType.GROUP)
        object_mapping_update(
            mapping=groups,
            enabled=False,
            action_create=groups.action_create,
            action_update=groups.action_update,
            action_delete=groups.action_delete,
        )
    scratch = Scratch(directory=directory, app=app, job=job)
    ctx.facts["scratch"] = scratch
    return scratch


def _scratch_delete(ctx: RunContext) -> list[str]:
    """Delete on the target what the scratch app created there (groups first), then the scratch
    directory with its app, job and logs."""
    scratch: Scratch | None = ctx.facts.get("scratch")
    if scratch is None:
        return []
    return scratch_directory_delete(directory=scratch.directory, client=ctx.client)


def scratch_directory_delete(
    *, directory: Directory, client: ScimClient | None, why: str = ""
) -> list[str]:
    """Delete on the target (through ``client``) what the scratch directory's apps created there,
    groups first, then the directory with its apps, jobs and logs. Without a client nothing is
    deleted on the target and every linked object is listed. Returns what could not be deleted,
    described."""
    failures = []
    linked = ConnectorObject.objects.filter(job__application__directory=directory).exclude(
        target_id=""
    )
    for row in linked.order_by("object_type"):  # "group" sorts before "user"
        resource = "Users" if row.object_type == ConnectorObject.ObjectType.USER else "Groups"
        label = f"{resource}/{row.target_id} ({row.display_name})"
        if client is None:
            failures.append(f"{label}: not deleted ({why or 'no credentials'})")
            continue
        result = client.request("DELETE", f"/{resource}/{row.target_id}", want_body=False)
        if not (result.ok or result.status == 404):
            failures.append(f"{label}: DELETE answered {result.status or result.error_code}")
    with transaction.atomic():
        Directory.objects.filter(pk=directory.pk).delete()
    return failures


def _user(ctx: RunContext, key: str, *, assign: bool = True, **extra: Any) -> DirectoryUser:
    scratch = _scratch(ctx)
    label = ctx.unique("lc")
    user = directory_user_create(
        directory=scratch.directory,
        user_principal_name=f"{label}@{scratch.directory.domain}",
        mail=f"{label}@{scratch.directory.domain}",
        mail_nickname=label,
        display_name=f"{label} Display",
        given_name="Given",
        surname="Family",
        job_title="Validator",
        department="Validation",
        **extra,
    )
    if assign:
        app_role_assignment_create(application=scratch.app, principal=user)
    scratch.users[key] = user
    return user


def _cycle(ctx: RunContext) -> str:
    scratch = _scratch(ctx)
    cycle = provisioning_cycle_run(job=scratch.job, initiated_by=INITIATED_BY)
    if cycle is None:
        raise CheckFailedError("The scratch job's cycle is running elsewhere.")
    cycle.refresh_from_db()
    if cycle.error_code or cycle.error:
        index = _record_note(ctx, "Cycle", {"state": cycle.state, "error": cycle.error})
        raise CheckFailedError(f"The cycle ended {cycle.state}: {cycle.error}", index)
    return str(cycle.cycle_id)


def _record_note(ctx: RunContext, title: str, body: Any) -> int:
    ctx.exchanges.append(Exchange(method="LOG", url=title, response_body=body))
    return len(ctx.exchanges) - 1


def _log(
    ctx: RunContext,
    subject: DirectoryUser | DirectoryGroup,
    actions: tuple[str, ...],
    *,
    cycle_id: str | None = None,
) -> ProvisioningLogEntry:
    """The provisioning log entry of ``subject`` in the cycle (or the on-demand ones): one of
    them must record one of ``actions`` with status Success. (A cycle may log more than one
    entry for an object, e.g. a Disable and the retry of a failed manager reference.)"""
    scratch = _scratch(ctx)
    entries = ProvisioningLogEntry.objects.filter(
        job=scratch.job, source_id=str(subject.object_id)
    ).exclude(action=Action.OTHER)
    entries = entries.filter(cycle_id=cycle_id) if cycle_id else entries.filter(cycle_id=None)
    entries = list(entries.order_by("-id"))
    entry = next(
        (
            e
            for e in entries
            if e.action in actions and e.status == ProvisioningLogEntry.Status.SUCCESS
        ),
        None,
    ) or next((e for e in entries if e.action in actions), None)
    entry = entry or (entries[0] if entries else None)
    summary = (
        {
            "action": entry.action,
            "status": entry.status,
            "target_id": entry.target_id,
            "error_code": entry.error_code,
            "error_reason": entry.error_reason,
            "modified_properties": entry.modified_properties,
        }
        if entry
        else None
    )
    index = _record_note(ctx, f"Provisioning log · {subject}", summary)
    if entry is None:
        raise CheckFailedError(f"No provisioning log entry for {subject}.", index)
    if entry.action not in actions or entry.status != ProvisioningLogEntry.Status.SUCCESS:
        raise CheckFailedError(
            f"The provisioning log says {entry.action} {entry.status} "
            f"(expected {' or '.join(actions)} Success). {entry.error_reason}".strip(),
            index,
        )
    return entry


def _on_demand_note(ctx: RunContext, result: Any) -> None:
    """What provision on demand said (its reason when it stopped before logging anything)."""
    _record_note(
        ctx,
        "Provision on demand",
        {"status": result.status, "error_code": result.error_code, "reason": result.reason},
    )


def _target_user(ctx: RunContext, user: DirectoryUser) -> tuple[dict[str, Any] | None, int]:
    result, index = ctx.query("Users", "userName", user.user_principal_name)
    if not result.ok:
        raise CheckFailedError(f"The filter on userName failed: {result.reason}", index)
    return (result.resources[0] if result.resources else None), index


def _target_group(ctx: RunContext, name: str) -> tuple[dict[str, Any] | None, int]:
    result, index = ctx.query("Groups", "displayName", name)
    if not result.ok:
        raise CheckFailedError(f"The filter on displayName failed: {result.reason}", index)
    return (result.resources[0] if result.resources else None), index


def _expect_user(ctx: RunContext, user: DirectoryUser, **expected: Any) -> dict[str, Any]:
    found, index = _target_user(ctx, user)
    if found is None:
        raise CheckFailedError(f"{user.user_principal_name} is not in the target.", index)
    for path, want in expected.items():
        got = value_at(found, path.replace("__", ":"))
        if isinstance(want, bool):
            same = (got if isinstance(got, bool) else str(got).lower() == "true") is want
        else:
            same = (got or None) == (want or None)
        if not same:
            raise CheckFailedError(f"In the target {path} is {got!r}, expected {want!r}.", index)
    return found


def _target_id(ctx: RunContext, subject: DirectoryUser | DirectoryGroup) -> str:
    row = ConnectorObject.objects.filter(job=_scratch(ctx).job, source_id=subject.object_id).first()
    return row.target_id if row else ""


def _members(ctx: RunContext, group: DirectoryGroup) -> tuple[set[str], int]:
    result, index = ctx.get(f"/Groups/{_target_id(ctx, group)}")
    if not result.ok:
        raise CheckFailedError(f"GET of the group failed: {result.reason}", index)
    members = value_at(result.body, "members") or []
    return {str(m.get("value")) for m in members if isinstance(m, dict)}, index


# -- users ----------------------------------------------------------------------------------------


@check("Create_User", category=Category.USER_LIFECYCLE, lifecycle=True)
def create_user(ctx: RunContext) -> str:
    """A user assigned to the scratch app is created by a cycle: log Create Success, and the
    target finds the user by userName, active.

    Microsoft: "Create_User"."""
    user = _user(ctx, "main")
    _log(ctx, user, (Action.CREATE,), cycle_id=_cycle(ctx))
    _expect_user(ctx, user, displayName=user.display_name, active=True)
    return f"{user.user_principal_name} created by a cycle."


def _main(ctx: RunContext) -> DirectoryUser:
    scratch = _scratch(ctx)
    if "main" not in scratch.users:
        raise CheckFailedError("Create_User did not provision the user this check needs.")
    return scratch.users["main"]


@check("Update_User", category=Category.USER_LIFECYCLE, lifecycle=True)
def update_user(ctx: RunContext) -> str:
    """Display name and job title changed in the directory reach the target: log Update
    Success, and the target shows the new values.

    Microsoft: "Update_User"."""
    scratch = _scratch(ctx)
    user = _main(ctx)
    directory_user_update(
        directory=scratch.directory,
        user=user,
        display_name=f"{user.mail_nickname} Renamed",
        job_title="Validator II",
    )
    _log(ctx, user, (Action.UPDATE,), cycle_id=_cycle(ctx))
    _expect_user(ctx, user, displayName=user.display_name, title="Validator II")
    return "The changed attributes reached the target."


@check("User_Update_Manager", category=Category.USER_LIFECYCLE, lifecycle=True)
def user_update_manager(ctx: RunContext) -> str:
    """The manager is set, changed and removed in the directory; after each cycle the log has
    Update Success and the target's enterprise manager is the manager's target id (then none).
    Skipped when the user mapping has no manager.

    Microsoft: "User_Update_Manager"."""
    scratch = _scratch(ctx)
    if not AttributeMapping.objects.filter(
        object_mapping__job=scratch.job, target_attribute__iendswith=":manager"
    ).exists():
        raise CheckSkippedError("The user mapping has no manager attribute.")
    user = _main(ctx)
    first, second = _user(ctx, "manager"), _user(ctx, "manager2")
    for manager in (first, second, None):
        directory_user_update(directory=scratch.directory, user=user, manager=manager)
        _log(ctx, user, (Action.UPDATE,), cycle_id=_cycle(ctx))
        want = _target_id(ctx, manager) if manager else None
        _expect_user(ctx, user, enterprise__manager=want)
    return "Manager set, changed and removed in the target."


@check("Disable_User", category=Category.USER_LIFECYCLE, lifecycle=True)
def disable_user(ctx: RunContext) -> str:
    """A user whose account is disabled in the directory is disabled in the target: log
    Disable Success (or Update), and the target user is still returned, active false; enabling
    the account again makes it active.

    Microsoft: "Disable_User" (mandatory)."""
    scratch = _scratch(ctx)
    user = _main(ctx)
    directory_user_update(directory=scratch.directory, user=user, account_enabled=False)
    _log(ctx, user, (Action.DISABLE, Action.UPDATE), cycle_id=_cycle(ctx))
    _expect_user(ctx, user, active=False)
    directory_user_update(directory=scratch.directory, user=user, account_enabled=True)
    _log(ctx, user, (Action.UPDATE,), cycle_id=_cycle(ctx))
    _expect_user(ctx, user, active=True)
    return "Disabled, then enabled again."


@check("Restore_User", category=Category.USER_LIFECYCLE, lifecycle=True)
def restore_user(ctx: RunContext) -> str:
    """Unassigned from the app, the user is deprovisioned (log Disable or Delete Success;
    the target shows it inactive or gone); assigned again, it is restored (log Update or Create
    Success; active in the target).

    Microsoft: "Restore_User" (SoftDeleteRestore / UnassignReassign)."""
    scratch = _scratch(ctx)
    user = _main(ctx)
    assignment = scratch.app.assignments.get(principal_user=user)
    app_role_assignment_delete(application=scratch.app, assignment=assignment)
    entry = _log(ctx, user, (Action.DISABLE, Action.DELETE), cycle_id=_cycle(ctx))
    found, index = _target_user(ctx, user)
    if entry.action == Action.DISABLE:
        _expect_user(ctx, user, active=False)
    elif found is not None:
        raise CheckFailedError("The deleted user is still in the target.", index)
    app_role_assignment_create(application=scratch.app, principal=user)
    _log(ctx, user, (Action.UPDATE, Action.CREATE), cycle_id=_cycle(ctx))
    _expect_user(ctx, user, active=True)
    return f"Unassigned ({entry.action}) and restored."


@check("POD_User", category=Category.USER_LIFECYCLE, lifecycle=True)
def pod_user(ctx: RunContext) -> str:
    """Provision on demand of a new assigned user: log Create Success ("On-demand
    provisioning"), and the target finds the user.

    Microsoft: "POD_User"."""
    user = _user(ctx, "pod")
    result = provisioning_on_demand_run(job=_scratch(ctx).job, user=user)
    _on_demand_note(ctx, result)
    entry = _log(ctx, user, (Action.CREATE,))
    _expect_user(ctx, user, active=True)
    return f"Provisioned on demand: {result.status or entry.status}."


@check("Delete_User", category=Category.USER_LIFECYCLE, lifecycle=True, mandatory=False)
def delete_user(ctx: RunContext) -> str:
    """A user deleted permanently in the directory is deleted in the target: log Delete
    Success, and the filter on its userName returns nothing.

    Microsoft: "Delete_User" (optional)."""
    scratch = _scratch(ctx)
    user = _user(ctx, "doomed")
    _log(ctx, user, (Action.CREATE,), cycle_id=_cycle(ctx))
    directory_user_soft_delete(directory=scratch.directory, user=user)
    directory_user_hard_delete(directory=scratch.directory, user=user)
    _log(ctx, user, (Action.DELETE,), cycle_id=_cycle(ctx))
    found, index = _target_user(ctx, user)
    if found is not None:
        raise CheckFailedError("The deleted user is still in the target.", index)
    return "Deleted in the target."


# -- groups ---------------------------------------------------------------------------------------


def _group(ctx: RunContext, key: str, *, members: list[DirectoryUser] = ()) -> DirectoryGroup:
    scratch = _scratch(ctx)
    group = directory_group_create(
        directory=scratch.directory, display_name=ctx.unique("lcgroup"), security_enabled=True
    )
    for member in members:
        directory_group_member_add(directory=scratch.directory, group=group, member=member)
    app_role_assignment_create(application=scratch.app, principal=group)
    scratch.groups[key] = group
    return group


def _main_group(ctx: RunContext) -> DirectoryGroup:
    scratch = _scratch(ctx)
    if "main" not in scratch.groups:
        raise CheckFailedError("Create_Group did not provision the group this check needs.")
    return scratch.groups["main"]


@check("Create_Group", category=Category.GROUP_LIFECYCLE, lifecycle=True, groups=True)
def create_group(ctx: RunContext) -> str:
    """A group assigned to the scratch app is created by a cycle: log Create Success, and the
    target finds it by displayName.

    Microsoft: "Create_Group"."""
    group = _group(ctx, "main")
    _log(ctx, group, (Action.CREATE,), cycle_id=_cycle(ctx))
    found, index = _target_group(ctx, group.display_name)
    if found is None:
        raise CheckFailedError(f"{group.display_name} is not in the target.", index)
    return f"{group.display_name} created by a cycle."


@check("Update_Group", category=Category.GROUP_LIFECYCLE, lifecycle=True, groups=True)
def update_group(ctx: RunContext) -> str:
    """A group renamed in the directory is renamed in the target: log Update Success, and the
    target finds it by its new displayName.

    Microsoft: "Update_Group"."""
    scratch = _scratch(ctx)
    group = _main_group(ctx)
    directory_group_update(
        directory=scratch.directory, group=group, display_name=ctx.unique("lcrenamed")
    )
    _log(ctx, group, (Action.UPDATE,), cycle_id=_cycle(ctx))
    found, index = _target_group(ctx, group.display_name)
    if found is None:
        raise CheckFailedError(f"{group.display_name} is not in the target.", index)
    return "Renamed in the target."


@check("Group_Update_Add_Member", category=Category.GROUP_LIFECYCLE, lifecycle=True, groups=True)
def group_update_add_member(ctx: RunContext) -> str:
    """A provisioned user added to the group in the directory becomes a member in the target:
    log Update Success for the group, and the target group lists the user's target id.

    Microsoft: "Group_Update_Add_Member"."""
    scratch = _scratch(ctx)
    group, user = _main_group(ctx), _main(ctx)
    directory_group_member_add(directory=scratch.directory, group=group, member=user)
    _log(ctx, group, (Action.UPDATE,), cycle_id=_cycle(ctx))
    members, index = _members(ctx, group)
    if _target_id(ctx, user) not in members:
        raise CheckFailedError("The added member is not in the target group.", index)
    return "Member added in the target."


@check("Group_Update_Remove_Member", category=Category.GROUP_LIFECYCLE, lifecycle=True, groups=True)
def group_update_remove_member(ctx: RunContext) -> str:
    """The member removed in the directory leaves the target group: log Update Success, and
    the target group no longer lists the user.

    Microsoft: "Group_Update_Remove_Member"."""
    scratch = _scratch(ctx)
    group, user = _main_group(ctx), _main(ctx)
    directory_group_member_remove(directory=scratch.directory, group=group, member=user)
    _log(ctx, group, (Action.UPDATE,), cycle_id=_cycle(ctx))
    members, index = _members(ctx, group)
    if _target_id(ctx, user) in members:
        raise CheckFailedError("The removed member is still in the target group.", index)
    return "Member removed in the target."


@check("POD_Group", category=Category.GROUP_LIFECYCLE, lifecycle=True, groups=True)
def pod_group(ctx: RunContext) -> str:
    """Provision on demand of a new group with one member: log Create Success for the group,
    and the target group holds the member.

    Microsoft: "POD_Group"."""
    member = _user(ctx, "podmember")
    group = _group(ctx, "pod", members=[member])
    result = provisioning_on_demand_group_run(job=_scratch(ctx).job, group=group, members=[member])
    _on_demand_note(ctx, result)
    _log(ctx, group, (Action.CREATE,))
    members, index = _members(ctx, group)
    if _target_id(ctx, member) not in members:
        raise CheckFailedError("The member is not in the target group.", index)
    return "Group and member provisioned on demand."


@check(
    "Restore_Group",
    category=Category.GROUP_LIFECYCLE,
    lifecycle=True,
    groups=True,
    mandatory=False,
)
def restore_group(ctx: RunContext) -> str:
    """A group unassigned from the app is deprovisioned (log Delete Success; gone from the
    target: groups have no soft delete); assigned again, it is provisioned again (log Create or
    Update Success; found by displayName).

    Microsoft: "Restore_Group" (optional)."""
    scratch = _scratch(ctx)
    group = _group(ctx, "restore")
    _log(ctx, group, (Action.CREATE,), cycle_id=_cycle(ctx))
    assignment = scratch.app.assignments.get(principal_group=group)
    app_role_assignment_delete(application=scratch.app, assignment=assignment)
    _log(ctx, group, (Action.DELETE, Action.DISABLE), cycle_id=_cycle(ctx))
    found, index = _target_group(ctx, group.display_name)
    if found is not None:
        raise CheckFailedError("The unassigned group is still in the target.", index)
    app_role_assignment_create(application=scratch.app, principal=group)
    _log(ctx, group, (Action.CREATE, Action.UPDATE), cycle_id=_cycle(ctx))
    found, index = _target_group(ctx, group.display_name)
    if found is None:
        raise CheckFailedError("The reassigned group is not in the target.", index)
    return "Unassigned (deleted) and provisioned again."


@check(
    "Delete_Group",
    category=Category.GROUP_LIFECYCLE,
    lifecycle=True,
    groups=True,
    mandatory=False,
)
def delete_group(ctx: RunContext) -> str:
    """A group deleted in the directory is deleted in the target: log Delete Success, and the
    filter on its displayName returns nothing.

    Microsoft: "Delete_Group" (optional)."""
    scratch = _scratch(ctx)
    group = _main_group(ctx)
    name = group.display_name
    directory_group_delete(directory=scratch.directory, group=group)
    _log(ctx, group, (Action.DELETE,), cycle_id=_cycle(ctx))
    found, index = _target_group(ctx, name)
    if found is not None:
        raise CheckFailedError("The deleted group is still in the target.", index)
    return "Deleted in the target."
