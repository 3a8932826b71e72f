"""What a cycle loads from PostgreSQL before it talks to the target: the candidates of a full
pass and the objects gone from the directory (in keyset pages), import and scoping of a chunk
of users or groups (:class:`~.sync.Work`), and the manager and member changes of the reference
passes (:class:`~.references.ManagerWork`, :class:`~.references.MembersWork`)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from elium_portal.fastsql import instances_from_rows, select_list
from provisioning.engine.evaluate import CompiledMapping
from provisioning.engine.paths import MANAGER_PATH
from provisioning.engine.references import ManagerWork, MembersWork
from provisioning.engine.sync import ACTIVE, LIVE_STATES, Link, Work
from provisioning.models import (
    AppRoleAssignment,
    ConnectorObject,
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryUser,
    EnterpriseApplication,
    ProvisioningJob,
)
from provisioning.scoping import evaluate_scoping

#: Why an assignment with only "Default Access" is skipped: the portal's NotEffectivelyEntitled
#: ("does not have required entitlement") in the words of the Elium tutorial.
DEFAULT_ACCESS_SKIP_TEXT = (
    "The user does not have the required entitlement: it is assigned to the application "
    "only with the Default Access role, and users with the Default Access role are excluded "
    "from provisioning. Assign it an application-specific role (for example User)."
)


def default_access_excluded(application: EnterpriseApplication) -> bool:
    """Whether the app needs a role other than Default Access to provision a user: its
    connector excludes Default Access and it has a role of its own ("if available")."""
    return (
        application.excludes_default_access and application.roles.filter(is_default=False).exists()
    )


def _links(job: ProvisioningJob, object_type: str, ids: list[uuid.UUID]) -> dict:
    return {
        row.source_id: row
        for row in ConnectorObject.objects.filter(
            job=job, object_type=object_type, source_id__in=ids
        )
    }


def _link_of(row: ConnectorObject | None) -> Link:
    if row is None:
        return Link()
    return Link(target_id=row.target_id, target_state=row.target_state, exported=row.exported)


@functools.cache
def _directory_users_sql() -> str:
    table = DirectoryUser._meta.db_table
    return (
        f'SELECT m."object_id", {select_list(DirectoryUser, "u")} FROM "{table}" u '
        f'LEFT JOIN "{table}" m ON m."id" = u."manager_id" '
        'WHERE u."directory_id" = %s AND u."object_id" = ANY(%s)'
    )


def _directory_users(
    directory_id: int, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[DirectoryUser, uuid.UUID | None]]:
    """The directory's users among ``ids``, each with its manager's object id: one pre-built
    statement, no manager instances (loading them with ``select_related`` was a sixth of the
    engine's CPU in an initial cycle)."""
    with connection.cursor() as cursor:
        cursor.execute(_directory_users_sql(), [directory_id, list(ids)])
        rows = cursor.fetchall()
    instances = instances_from_rows(DirectoryUser, rows, skip=1)
    return {user.object_id: (user, row[0]) for user, row in zip(instances, rows, strict=True)}


def user_works(
    job: ProvisioningJob, mapping: CompiledMapping, ids: list[uuid.UUID]
) -> tuple[list[Work], dict[uuid.UUID, ConnectorObject]]:
    """Import and scoping for a chunk of users (hard-deleted ones have ``source`` None)."""
    application = job.application
    users = _directory_users(application.directory_id, ids)
    links = _links(job, "user", ids)
    sync_all = job.scope == ProvisioningJob.Scope.ALL
    assigned: set[uuid.UUID] = set()
    via_group: set[uuid.UUID] = set()
    with_role: set[uuid.UUID] = set()
    role_required = not sync_all and default_access_excluded(application)
    if not sync_all:
        direct = AppRoleAssignment.objects.filter(
            application=application, principal_user__object_id__in=ids
        )
        assigned = set(direct.values_list("principal_user__object_id", flat=True))
        memberships = DirectoryGroupMember.objects.filter(
            member_user__object_id__in=ids,
            group__app_assignments__application=application,
        )
        via_group = set(memberships.values_list("member_user__object_id", flat=True))
    if role_required:
        with_role = set(
            direct.filter(role__is_default=False).values_list(
                "principal_user__object_id", flat=True
            )
        ) | set(
            # One filter() call: the role is the role of the same (group) assignment.
            DirectoryGroupMember.objects.filter(
                member_user__object_id__in=ids,
                group__app_assignments__application=application,
                group__app_assignments__role__is_default=False,
            ).values_list("member_user__object_id", flat=True)
        )
    works = []
    for object_id in ids:
        found = users.get(object_id)
        row = links.get(object_id)
        if found is None:
            if row is None:
                continue  # not a user of this directory (a nested group id, say)
            works.append(Work("user", object_id, row.display_name, None, link=_link_of(row)))
            continue
        user, manager_object_id = found
        is_assigned = sync_all or object_id in assigned or object_id in via_group
        has_role = not role_required or object_id in with_role
        is_active = user.account_enabled and user.deleted_at is None
        source = user.source_attributes_with(manager_object_id=manager_object_id)
        scoping = evaluate_scoping(mapping.scoping_filters, source)
        entitled = is_assigned and has_role and is_active and scoping.in_scope
        source["IsSoftDeleted"] = "False" if entitled else "True"
        if not is_assigned:
            code, text = "NotEffectivelyEntitled", "This object is not assigned to the application."
        elif not has_role:
            code, text = "NotEffectivelyEntitled", DEFAULT_ACCESS_SKIP_TEXT
        elif user.deleted_at is not None:
            code, text = "NotEffectivelyEntitled", "The user is soft-deleted in the directory."
        elif not user.account_enabled:
            code, text = (
                "NotEffectivelyEntitled",
                "The user's account is disabled (accountEnabled false).",
            )
        elif not scoping.in_scope:
            code, text = "NotInScope", "The user does not pass the mapping's scoping filters."
        else:
            code, text = "", ""
        details = {
            "IsActive": is_active,
            "Assigned": object_id in assigned or object_id in via_group,
            "ScopeSyncAll": sync_all,
            "HasRequiredRole": is_assigned and has_role,
            "IsEffectivelyEntitledForProvisioning": is_assigned and has_role and is_active,
            "IsInProvisioningScope": entitled,
            "ScopeEvaluationResult": scoping.summary,
            "ScopingClauses": [
                {
                    "filter": e.filter_title,
                    "attribute": e.attribute,
                    "operator": str(e.operator),
                    "value": e.value,
                    "actual": e.actual_value,
                    "result": e.result,
                    "reason": e.reason,
                }
                for e in scoping.explanations
            ],
        }
        works.append(
            Work(
                "user",
                object_id,
                user.user_principal_name,
                source,
                entitled=entitled,
                skip_code=code,
                skip_text=text,
                scope_details=details,
                link=_link_of(row),
            )
        )
    return works, links


def group_works(
    job: ProvisioningJob, mapping: CompiledMapping, ids: list[uuid.UUID]
) -> tuple[list[Work], dict[uuid.UUID, ConnectorObject]]:
    application = job.application
    groups = {
        group.object_id: group
        for group in DirectoryGroup.objects.filter(
            directory_id=application.directory_id, object_id__in=ids
        )
    }
    links = _links(job, "group", ids)
    sync_all = job.scope == ProvisioningJob.Scope.ALL
    assigned = set(
        AppRoleAssignment.objects.filter(
            application=application, principal_group__object_id__in=ids
        ).values_list("principal_group__object_id", flat=True)
    )
    works = []
    for object_id in ids:
        group = groups.get(object_id)
        row = links.get(object_id)
        if group is None:
            if row is None:
                continue
            works.append(Work("group", object_id, row.display_name, None, link=_link_of(row)))
            continue
        is_assigned = sync_all or object_id in assigned
        source = group.source_attributes()
        scoping = evaluate_scoping(mapping.scoping_filters, source)
        entitled = is_assigned and scoping.in_scope
        if not is_assigned:
            code, text = "NotEffectivelyEntitled", "This object is not assigned to the application."
        elif not scoping.in_scope:
            code, text = "NotInScope", "The group does not pass the mapping's scoping filters."
        else:
            code, text = "", ""
        works.append(
            Work(
                "group",
                object_id,
                group.display_name,
                source,
                entitled=entitled,
                skip_code=code,
                skip_text=text,
                scope_details={
                    "Assigned": object_id in assigned,
                    "ScopeSyncAll": sync_all,
                    "IsInProvisioningScope": entitled,
                    "ScopeEvaluationResult": scoping.summary,
                },
                link=_link_of(row),
            )
        )
    return works, links


def keyset(queryset, *, size: int, field: str = "object_id") -> Iterator[list]:
    """Values of ``field`` in pages of ``size``, by primary key (flat memory)."""
    last = 0
    while True:
        page = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", field)[:size])
        if not page:
            return
        last = page[-1][0]
        yield [value for _, value in page]


def batches(values: list, size: int) -> Iterator[list]:
    for index in range(0, len(values), size):
        yield values[index : index + size]


def user_candidates(job: ProvisioningJob) -> QuerySet[DirectoryUser]:
    """The users a full pass looks at: every user (scope All), or those assigned, directly or
    through a group, and those the job already knows."""
    application = job.application
    users = DirectoryUser.objects.filter(directory=application.directory)
    if job.scope == ProvisioningJob.Scope.ALL:
        return users
    assigned = AppRoleAssignment.objects.filter(
        application=application, principal_user=OuterRef("pk")
    )
    via_group = DirectoryGroupMember.objects.filter(
        member_user=OuterRef("pk"), group__app_assignments__application=application
    )
    known = ConnectorObject.objects.filter(
        job=job, object_type="user", source_id=OuterRef("object_id")
    )
    return users.filter(Exists(assigned) | Exists(via_group) | Exists(known))


def group_candidates(job: ProvisioningJob) -> QuerySet[DirectoryGroup]:
    """The groups a full pass looks at: every group (scope All), or those assigned and those
    the job already knows."""
    application = job.application
    groups = DirectoryGroup.objects.filter(directory=application.directory)
    if job.scope == ProvisioningJob.Scope.ALL:
        return groups
    assigned = AppRoleAssignment.objects.filter(
        application=application, principal_group=OuterRef("pk")
    )
    known = ConnectorObject.objects.filter(
        job=job, object_type="group", source_id=OuterRef("object_id")
    )
    return groups.filter(Exists(assigned) | Exists(known))


def orphans(job: ProvisioningJob, object_type: str) -> QuerySet[ConnectorObject]:
    """Objects the job knows that are gone from the directory (hard-deleted)."""
    model = DirectoryUser if object_type == "user" else DirectoryGroup
    present = model.objects.filter(
        directory=job.application.directory, object_id=OuterRef("source_id")
    )
    return ConnectorObject.objects.filter(job=job, object_type=object_type).exclude(Exists(present))


def manager_works(job: ProvisioningJob, rows: list[ConnectorObject]) -> list[ManagerWork]:
    """The manager pass for a page of linked users: those whose manager in the target is not
    the (linked) manager the directory says."""
    managers = dict(
        DirectoryUser.objects.filter(
            directory=job.application.directory, object_id__in=[r.source_id for r in rows]
        ).values_list("object_id", "manager__object_id")
    )
    targets = dict(
        ConnectorObject.objects.filter(
            job=job,
            object_type="user",
            source_id__in=[m for m in managers.values() if m],
            target_state__in=LIVE_STATES,
        )
        .exclude(target_id="")
        .values_list("source_id", "target_id")
    )
    works = []
    for row in rows:
        if row.target_state != ACTIVE or not row.target_id or row.source_id not in managers:
            continue
        desired = targets.get(managers[row.source_id])
        current = row.exported.get(MANAGER_PATH)
        if desired != current:
            works.append(
                ManagerWork(
                    row.source_id,
                    row.display_name,
                    row.target_id,
                    current,
                    desired,
                    row.exported,
                )
            )
    return works


def members_works(job: ProvisioningJob, rows: list[ConnectorObject]) -> list[MembersWork]:
    """The member pass for a page of linked groups: the members to add and remove in the
    target."""
    works = []
    for row in rows:
        if row.target_state != ACTIVE or not row.target_id:
            continue
        members = DirectoryGroupMember.objects.filter(
            group__directory=job.application.directory, group__object_id=row.source_id
        )
        user_members = members.filter(member_user__isnull=False).values("member_user__object_id")
        group_members = members.filter(member_group__isnull=False).values("member_group__object_id")
        desired = set(
            ConnectorObject.objects.filter(job=job, target_state__in=LIVE_STATES)
            .filter(
                Q(object_type="user", source_id__in=user_members)
                | Q(object_type="group", source_id__in=group_members)
            )
            .exclude(target_id="")
            .values_list("target_id", flat=True)
        )
        current = set(row.exported.get("members") or [])
        # Every id the group was given that is no longer wanted goes, whether its object is
        # still in the target or not (hard-deleted, or re-created under a new id after a 404):
        # a target need not drop a deleted object's memberships itself.
        add = sorted(desired - current)
        remove = sorted(current - desired)
        if add or remove:
            works.append(
                MembersWork(
                    row.source_id,
                    row.display_name,
                    row.target_id,
                    add,
                    remove,
                    row.exported,
                    sorted(desired),
                )
            )
    return works
