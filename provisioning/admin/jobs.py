"""Support admin: enterprise applications, provisioning jobs (read-only state, audited
actions) and their cycles."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from elium_portal.adminkit import (
    EstimatedCountPaginator,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdminMixin,
    SupportAdmin,
    recent_filter,
)
from provisioning.admin.common import (
    RECENT_CYCLES,
    _link,
    _table,
    log_entries_url,
)
from provisioning.models import (
    ConnectorObject,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningCycle,
    ProvisioningJob,
    ProvisioningJobState,
)
from provisioning.services.jobs import (
    provisioning_job_allow_deletes,
    provisioning_job_restart,
    provisioning_job_start,
    provisioning_job_stop,
)


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
        "auth_method",
        "has_secret_token",
        "oauth_token_url",
        "oauth_client_id",
        "has_client_secret",
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

    @admin.display(boolean=True, description="Client Secret saved")
    def has_client_secret(self, job):
        return job.has_client_secret

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
