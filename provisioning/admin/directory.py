"""Support admin: the directory, its users and groups (assignments, scope, last outcome)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from elium_portal.adminkit import (
    EstimatedCountPaginator,
    SupportAdmin,
)
from provisioning.admin.common import (
    _admin_url,
    _link,
    _table,
    log_entries_url,
)
from provisioning.models import (
    AppRoleAssignment,
    ConnectorObject,
    Directory,
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryUser,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningJob,
    ProvisioningLogEntry,
)
from provisioning.scoping import evaluate_scoping, filters_from_json


@admin.register(Directory)
class DirectoryAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant_id", "domain", "created_at")
    search_fields = ("name", "domain", "=tenant_id")
    readonly_fields = ("tenant_id",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator


def _provisioning_rows(obj: DirectoryUser | DirectoryGroup, object_type: str) -> SafeString:
    """Per application of the directory: assignments (app, role), scope result, link in the
    connector data store and the last provisioning outcome, with links. A constant number of
    queries whatever the number of applications."""
    directory_id = obj.directory_id
    applications = list(
        EnterpriseApplication.objects.filter(directory_id=directory_id)
        .select_related("provisioning_job")
        .order_by("name")
    )
    if object_type == "user":
        group_ids = list(
            DirectoryGroupMember.objects.filter(member_user=obj).values_list("group_id", flat=True)
        )
        assignment_filter = Q(principal_user=obj) | Q(principal_group_id__in=group_ids)
        source = obj.source_attributes()
    else:
        assignment_filter = Q(principal_group=obj)
        source = obj.source_attributes()
    assignments: dict[int, list[str]] = {}
    for assignment in AppRoleAssignment.objects.filter(
        Q(application__directory_id=directory_id) & assignment_filter
    ).select_related("role", "principal_group"):
        via = (
            f" (via group {assignment.principal_group.display_name})"
            if assignment.principal_group_id and object_type == "user"
            else ""
        )
        assignments.setdefault(assignment.application_id, []).append(
            f"{assignment.role.display_name}{via}"
        )
    job_ids = [a.provisioning_job.pk for a in applications if _has_job(a)]
    mappings = {
        m.job_id: m
        for m in ObjectMapping.objects.filter(job_id__in=job_ids, object_type=object_type)
    }
    links = {
        c.job_id: c
        for c in ConnectorObject.objects.filter(
            job_id__in=job_ids, object_type=object_type, source_id=obj.object_id
        )
    }
    last_entries = {
        e.job_id: e
        for e in ProvisioningLogEntry.objects.filter(
            source_id=str(obj.object_id), job_id__in=job_ids
        )
        .order_by("job_id", "-activity_at", "-id")
        .distinct("job_id")
    }
    rows = []
    for application in applications:
        job = application.provisioning_job if _has_job(application) else None
        roles = ", ".join(assignments.get(application.pk, [])) or "Not assigned"
        if job is None:
            rows.append((application.name, roles, "No provisioning job", "—", "—"))
            continue
        mapping = mappings.get(job.pk)
        rows.append(
            (
                _link(_admin_url("provisioning_provisioningjob_change", job.pk), application.name),
                roles,
                _scope_result(job, mapping, source, assigned=application.pk in assignments),
                _link_state(links.get(job.pk)),
                _last_outcome(last_entries.get(job.pk), obj),
            )
        )
    return _table(
        ["Application (job)", "Assignments (role)", "Scope", "Target", "Last provisioning"], rows
    )


def _has_job(application: EnterpriseApplication) -> bool:
    try:
        return application.provisioning_job is not None
    except ProvisioningJob.DoesNotExist:
        return False


def _scope_result(
    job: ProvisioningJob, mapping: ObjectMapping | None, source: dict, *, assigned: bool
) -> SafeString | str:
    if mapping is None or not mapping.enabled:
        return "Not provisioned (mapping disabled)"
    if job.scope == ProvisioningJob.Scope.ASSIGNED and not assigned:
        return "Out of scope: not assigned to the application"
    result = evaluate_scoping(filters_from_json(mapping.scoping_filters), source)
    if result.in_scope:
        return result.summary
    failing = [
        f"{e.filter_title}: {e.attribute} {e.operator} {e.value!r} — {e.reason}"
        for e in result.explanations
        if not e.result
    ]
    return format_html(
        "{}<ul>{}</ul>",
        result.summary,
        format_html_join("", "<li>{}</li>", ((f,) for f in failing)),
    )


def _link_state(link: ConnectorObject | None) -> str:
    if link is None:
        return "Never provisioned"
    parts = [link.get_target_state_display()]
    if link.target_id:
        parts.append(f"id {link.target_id}")
    if link.staged_action:
        parts.append(f"staged {link.staged_action}")
    if link.escrow_attempts:
        parts.append(f"escrowed ({link.escrow_attempts} attempts, {link.escrow_error_code})")
    return "; ".join(parts)


def _last_outcome(entry: ProvisioningLogEntry | None, obj) -> SafeString | str:
    if entry is None:
        return "No log entry"
    text = f"{entry.action} {entry.status} at {entry.activity_at:%Y-%m-%d %H:%M:%S}"
    return format_html(
        "{} · {}",
        _link(_admin_url("provisioning_provisioninglogentry_change", entry.pk), text),
        _link(log_entries_url(q=str(obj.object_id)), "all entries"),
    )


@admin.register(DirectoryUser)
class DirectoryUserAdmin(SupportAdmin):
    """Read-only: directory edits go through the console, whose services write the change feed
    the engine reads (an admin edit would not be provisioned)."""

    list_display = (
        "user_principal_name",
        "display_name",
        "directory",
        "account_enabled",
        "deleted_at",
    )
    list_filter = ("directory", "account_enabled")
    list_select_related = ("directory",)
    search_uuid_fields = ("object_id",)
    search_prefix_fields = ("user_principal_name", "display_name")
    exclude = ("manager",)
    readonly_fields = ("provisioning", "manager_link")

    @admin.display(description="Provisioning per application")
    def provisioning(self, obj):
        return _provisioning_rows(obj, "user")

    @admin.display(description="Manager")
    def manager_link(self, obj):
        if obj.manager_id is None:
            return "—"
        return _link(_admin_url("provisioning_directoryuser_change", obj.manager_id), obj.manager)

    def get_fields(self, request, obj=None):
        names = [f.name for f in DirectoryUser._meta.fields if f.name not in ("id", "manager")]
        return ["provisioning", *names, "manager_link"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


@admin.register(DirectoryGroup)
class DirectoryGroupAdmin(SupportAdmin):
    """Read-only, as directory users."""

    list_display = ("display_name", "directory", "security_enabled")
    list_filter = ("directory",)
    list_select_related = ("directory",)
    search_uuid_fields = ("object_id",)
    search_prefix_fields = ("display_name",)

    @admin.display(description="Provisioning per application")
    def provisioning(self, obj):
        return _provisioning_rows(obj, "group")

    def get_fields(self, request, obj=None):
        names = [f.name for f in DirectoryGroup._meta.fields if f.name != "id"]
        return ["provisioning", *names]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)
