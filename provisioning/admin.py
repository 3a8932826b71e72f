"""Support staff's view of the Azure side (issue 13). Secrets are never shown (not even
encrypted). What the engine owns is read-only; the job's Start/Stop/Restart/Allow deletes call
the services in :mod:`provisioning.services.jobs` and are audited under the support user's name.

The SCIM request log lives in ``scim_api``, which this app never imports: links to it are built
from admin URL names."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import admin
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from elium_portal.adminkit import (
    EstimatedCountPaginator,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdminMixin,
    SupportAdmin,
    as_uuid,
    recent_filter,
)
from provisioning.models import (
    AppRoleAssignment,
    AttributeMapping,
    ChangeRecord,
    ConnectorObject,
    Directory,
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryUser,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningAuditEvent,
    ProvisioningCycle,
    ProvisioningJob,
    ProvisioningJobState,
    ProvisioningLogEntry,
    ScimValidationRun,
)
from provisioning.scoping import evaluate_scoping, filters_from_json
from provisioning.services.jobs import (
    provisioning_job_allow_deletes,
    provisioning_job_restart,
    provisioning_job_start,
    provisioning_job_stop,
)

RECENT_CYCLES = 10
#: How many directory users a UPN/name prefix may resolve to in a log search.
UPN_MATCHES = 50
#: A Tenant URL that points at an Elium tenant's SCIM base (of this installation or another).
ELIUM_TENANT_PATH = re.compile(r"^/t/[a-z][a-z0-9-]+/scim/v2/?$")


# -- small HTML helpers (escaped by format_html; no script, no <style>) -------------------------


def _link(url: str, text: Any) -> SafeString:
    return format_html('<a href="{}">{}</a>', url, text)


def _admin_url(name: str, *args: Any, query: dict[str, Any] | None = None) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return _table(["Name", "Value"], [(k, _cell(v)) for k, v in value.items()])
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        headers = list(dict.fromkeys(k for item in value for k in item))
        return _table(headers, [[_cell(item.get(h, "")) for h in headers] for item in value])
    if value is None:
        return "—"
    return value


def _table(headers: list[str], rows: list) -> SafeString:
    if not rows:
        return format_html("<p>{}</p>", "None.")
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _elium_target(job: ProvisioningJob) -> bool:
    try:
        return bool(ELIUM_TENANT_PATH.match(urlsplit(job.tenant_url).path))
    except ValueError:
        return False


def scim_requests_url(change_id: uuid.UUID) -> str:
    """The Elium side's inbound requests of one exchange (matched on ``client-request-id``)."""
    return _admin_url("scim_api_scimrequestlog_changelist", query={"q": str(change_id)})


def log_entries_url(**query: Any) -> str:
    return _admin_url("provisioning_provisioninglogentry_changelist", query=query)


# -- directory ----------------------------------------------------------------------------------


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


@admin.register(EnterpriseApplication)
class EnterpriseApplicationAdmin(admin.ModelAdmin):
    list_display = ("name", "template", "directory", "object_id")
    list_filter = ("template", "directory")
    list_select_related = ("directory",)
    readonly_fields = ("object_id", "application_id")
    show_full_result_count = False
    paginator = EstimatedCountPaginator


# -- provisioning job ---------------------------------------------------------------------------


class ObjectMappingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ObjectMapping
    extra = 0
    fields = ("object_type", "name", "enabled", "action_create", "action_update", "action_delete")
    readonly_fields = fields


def _counts(cycle: ProvisioningCycle) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted((cycle.counts or {}).items())) or "—"


@admin.register(ProvisioningJob)
class ProvisioningJobAdmin(ObjectActionsMixin, SupportAdmin):
    """Read-only state of a job; Start, Stop, Restart and Allow deletes for Support admin."""

    list_display = ("job_id", "application", "mode", "status", "state_code", "last_cycle_at")
    list_filter = ("mode", "status", "scope", "state__code")
    list_select_related = ("application", "state", "state__last_cycle")
    search_exact_fields = ("job_id",)
    search_prefix_fields = ("application__name",)
    fields = (
        "job_id",
        "application",
        "mode",
        "status",
        "scope",
        "tenant_url",
        "has_secret_token",
        "state_code",
        "quarantine",
        "last_cycle",
        "progress",
        "escrows",
        "staged_deletes",
        "recent_cycles",
        "logs",
        "cycle_interval_minutes",
        "prevent_accidental_deletion",
        "deletion_threshold",
        "credentials_tested_at",
    )
    readonly_fields = fields
    inlines = [ObjectMappingInline]

    def _state(self, job) -> ProvisioningJobState | None:
        try:
            return job.state
        except ProvisioningJobState.DoesNotExist:
            return None

    def _last_cycle(self, job) -> ProvisioningCycle | None:
        state = self._state(job)
        return state.last_cycle if state and state.last_cycle_id else None

    @admin.display(boolean=True, description="Secret Token saved")
    def has_secret_token(self, job):
        return job.has_secret_token

    @admin.display(description="State", ordering="state__code")
    def state_code(self, job):
        state = self._state(job)
        return state.get_code_display() if state else "Not run"

    @admin.display(description="Last cycle")
    def last_cycle_at(self, job):
        cycle = self._last_cycle(job)
        return cycle.started_at if cycle else "—"

    @admin.display(description="Quarantine")
    def quarantine(self, job):
        state = self._state(job)
        if state is None or not state.is_quarantined:
            return "Not quarantined"
        return format_html(
            "{} since {} (next attempt {})<br>{}",
            state.get_quarantine_reason_display() or state.quarantine_reason,
            state.quarantine_began or state.quarantine_series_began or "—",
            state.quarantine_next_attempt or "—",
            state.quarantine_error or "",
        )

    @admin.display(description="Last cycle")
    def last_cycle(self, job):
        cycle = self._last_cycle(job)
        if cycle is None:
            return "No cycle yet"
        return format_html(
            "{} {} — {} · started {}, ended {} · {} · {}",
            cycle.get_kind_display(),
            _link(log_entries_url(q=str(cycle.cycle_id)), cycle.cycle_id),
            cycle.get_state_display(),
            cycle.started_at,
            cycle.ended_at or "—",
            _counts(cycle),
            cycle.error or "",
        )

    @admin.display(description="Progress")
    def progress(self, job):
        cycle = self._last_cycle(job)
        if cycle is None:
            return "—"
        return format_html(
            '{}% ({} of {}) <span style="display:inline-block;width:200px;height:8px;'
            'background:#ddd"><span style="display:block;height:8px;width:{}%;'
            'background:#417690"></span></span>',
            cycle.progress_percent,
            cycle.processed,
            cycle.total,
            cycle.progress_percent,
        )

    @admin.display(description="Escrows")
    def escrows(self, job):
        return ConnectorObject.objects.filter(job=job, escrow_attempts__gt=0).count()

    @admin.display(description="Staged deletes")
    def staged_deletes(self, job):
        return ConnectorObject.objects.filter(
            job=job, staged_action=ConnectorObject.StagedAction.DELETE
        ).count()

    @admin.display(description="Recent cycles")
    def recent_cycles(self, job):
        cycles = ProvisioningCycle.objects.filter(job=job).order_by("-started_at", "-id")[
            :RECENT_CYCLES
        ]
        return _table(
            ["Cycle", "Kind", "State", "Started", "Ended", "Processed", "Counts"],
            [
                (
                    _link(log_entries_url(q=str(c.cycle_id)), c.cycle_id),
                    c.get_kind_display(),
                    c.get_state_display(),
                    c.started_at,
                    c.ended_at or "—",
                    f"{c.processed}/{c.total}",
                    _counts(c),
                )
                for c in cycles
            ],
        )

    @admin.display(description="Provisioning logs")
    def logs(self, job):
        return format_html(
            "{} · {} · {}",
            _link(log_entries_url(app=job.application_id), "All entries"),
            _link(log_entries_url(app=job.application_id, status="Failure"), "Failures"),
            _link(log_entries_url(app=job.application_id, status="Skipped"), "Skipped"),
        )

    def get_object_actions(self):
        def start(request, job):
            provisioning_job_start(job=job, actor=request.user)
            return f"Provisioning of {job.application} started."

        def stop(request, job):
            provisioning_job_stop(job=job, actor=request.user)
            return f"Provisioning of {job.application} stopped."

        def restart(request, job):
            provisioning_job_restart(job=job, actor=request.user)
            return f"Provisioning of {job.application} restarted."

        def allow_deletes(request, job):
            provisioning_job_allow_deletes(job=job, actor=request.user)
            return f"Deletes allowed for {job.application}; the next cycle exports them."

        return [
            ObjectAction("start", "Start provisioning", start),
            ObjectAction("stop", "Stop provisioning", stop),
            ObjectAction("restart", "Restart provisioning", restart),
            ObjectAction(
                "allow-deletes",
                "Allow deletes",
                allow_deletes,
                description="Lift the TooManyDeletes quarantine",
            ),
        ]


@admin.register(ProvisioningCycle)
class ProvisioningCycleAdmin(SupportAdmin):
    list_display = ("started_at", "job", "kind", "state", "processed", "total", "ended_at")
    list_filter = ("state", "kind", recent_filter("started_at", "started"))
    list_select_related = ("job",)
    search_uuid_fields = ("cycle_id",)
    readonly_fields = ("entries",)

    @admin.display(description="Log entries")
    def entries(self, cycle):
        return _link(log_entries_url(q=str(cycle.cycle_id)), "Log entries of this cycle")


# -- provisioning logs --------------------------------------------------------------------------


class ApplicationFilter(admin.SimpleListFilter):
    """By application (support knows the app's name, not its job id)."""

    title = "application"
    parameter_name = "app"

    def lookups(self, request, model_admin):
        return list(
            EnterpriseApplication.objects.filter(provisioning_job__isnull=False)
            .order_by("name")
            .values_list("pk", "name")
        )

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(job__application_id=self.value())
        return queryset


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
