"""Support admin: provisioning log entries, audit events, the change feed, validator runs."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.db.models.functions import Lower

from elium_portal.adminkit import (
    EstimatedCountPaginator,
    SupportAdmin,
    as_uuid,
    recent_filter,
)
from provisioning.admin.common import (
    UPN_MATCHES,
    ApplicationFilter,
    _admin_url,
    _cell,
    _elium_target,
    _link,
    _table,
    log_entries_url,
    scim_requests_url,
)
from provisioning.models import (
    AttributeMapping,
    ChangeRecord,
    DirectoryGroup,
    DirectoryUser,
    ProvisioningAuditEvent,
    ProvisioningLogEntry,
    ScimValidationRun,
)


@admin.register(ProvisioningLogEntry)
class ProvisioningLogEntryAdmin(SupportAdmin):
    """Search by UPN or display name (prefix), object id, target id, change or cycle id."""

    list_display = (
        "activity_at",
        "source_display",
        "object_type",
        "action",
        "status",
        "application",
        "error_code",
    )
    list_filter = (ApplicationFilter, "action", "status", recent_filter("activity_at"))
    list_select_related = ("job__application",)
    search_uuid_fields = ("change_id", "cycle_id", "source_id", "target_id")
    search_exact_fields = ("target_id",)
    search_prefix_fields = ("source_display",)
    fields = (
        "activity_at",
        "action",
        "status",
        "object_type",
        "directory_object",
        "job_link",
        "change_id",
        "cycle_link",
        "initiated_by",
        "source_system",
        "target_system",
        "target_id",
        "target_display",
        "error_code",
        "error_reason",
        "error_recommendation",
        "duration_ms",
        "steps_table",
        "modified_table",
        "scim_requests",
    )
    readonly_fields = fields

    def search_condition(self, request, term):
        condition = super().search_condition(request, term)
        if as_uuid(term) is None:
            # A UPN (or its prefix) names directory users: their entries, by object id.
            object_ids = [
                str(object_id)
                for object_id in DirectoryUser.objects.alias(upn=Lower("user_principal_name"))
                .filter(upn__startswith=term.lower())
                .values_list("object_id", flat=True)[:UPN_MATCHES]
            ]
            if object_ids:
                condition = (condition or Q()) | Q(source_id__in=object_ids)
        return condition

    @admin.display(description="Application", ordering="job__application__name")
    def application(self, entry):
        return entry.job.application.name

    @admin.display(description="Directory object")
    def directory_object(self, entry):
        object_id = as_uuid(entry.source_id)
        if object_id is None:
            return entry.source_id or "—"
        model = DirectoryUser if entry.object_type == "user" else DirectoryGroup
        found = (
            model.objects.filter(
                directory_id=entry.job.application.directory_id, object_id=object_id
            )
            .values_list("pk", flat=True)
            .first()
        )
        label = f"{entry.source_display} ({object_id})"
        if found is None:
            return f"{label} — no longer in the directory"
        return _link(_admin_url(f"provisioning_directory{entry.object_type}_change", found), label)

    @admin.display(description="Job")
    def job_link(self, entry):
        return _link(
            _admin_url("provisioning_provisioningjob_change", entry.job_id),
            f"{entry.job.application.name} ({entry.job.job_id})",
        )

    @admin.display(description="Cycle")
    def cycle_link(self, entry):
        if entry.cycle_id is None:
            return "On demand"
        return _link(log_entries_url(q=str(entry.cycle_id)), entry.cycle_id)

    @admin.display(description="Steps")
    def steps_table(self, entry):
        return _table(
            ["Step", "Type", "Status", "Description", "Details"],
            [
                (
                    s.get("name", ""),
                    s.get("type", ""),
                    s.get("status", ""),
                    s.get("description", ""),
                    _cell(s.get("details") or {}),
                )
                for s in entry.steps or []
                if isinstance(s, dict)
            ],
        )

    @admin.display(description="Modified properties")
    def modified_table(self, entry):
        return _table(
            ["Property", "Old value", "New value"],
            [
                (m.get("displayName", ""), _cell(m.get("oldValue")), _cell(m.get("newValue")))
                for m in entry.modified_properties or []
                if isinstance(m, dict)
            ],
        )

    @admin.display(description="Inbound SCIM requests (Elium side)")
    def scim_requests(self, entry):
        if not _elium_target(entry.job):
            return "The target is not an Elium tenant."
        return _link(
            scim_requests_url(entry.change_id),
            "Requests of this exchange in the SCIM request log",
        )


# -- configuration and audit --------------------------------------------------------------------


@admin.register(AttributeMapping)
class AttributeMappingAdmin(admin.ModelAdmin):
    list_display = ("target_attribute", "mapping_type", "source_display", "matching_precedence")
    list_filter = ("mapping_type",)
    search_fields = ("target_attribute", "source_attribute", "expression")
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(ProvisioningAuditEvent)
class ProvisioningAuditEventAdmin(SupportAdmin):
    list_display = ("created_at", "application", "activity", "actor_label")
    list_filter = ("activity", recent_filter("created_at"))
    list_select_related = ("application",)
    search_exact_fields = ("actor_label",)


@admin.register(ChangeRecord)
class ChangeRecordAdmin(SupportAdmin):
    list_display = ("id", "directory", "object_type", "object_id", "change_type", "created_at")
    list_filter = ("object_type", "change_type")
    list_select_related = ("directory",)
    ordering = ("-id",)
    search_uuid_fields = ("object_id",)


@admin.register(ScimValidationRun)
class ScimValidationRunAdmin(SupportAdmin):
    """SCIM Validator runs, for support: never the encrypted token."""

    list_display = ("created_at", "directory", "tenant_url", "dialect", "status")
    list_filter = ("status", "dialect")
    search_prefix_fields = ("tenant_url",)
    exclude = ("token_encrypted",)
