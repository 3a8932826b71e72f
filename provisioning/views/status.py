"""The monitoring blades of an application: the Current status panel (and its Start, Stop,
Restart and Allow deletes buttons), the provisioning logs with their downloads, and the audit
logs."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from provisioning import selectors
from provisioning.exports import log_entries_csv_zip, log_entries_json
from provisioning.models import ProvisioningLogEntry
from provisioning.selectors import log_entry_get, log_entry_list, provisioning_job_status
from provisioning.services.jobs import (
    provisioning_job_allow_deletes,
    provisioning_job_restart,
    provisioning_job_start,
    provisioning_job_stop,
)
from provisioning.views.base import ApplicationMixin

RESTARTED_WHILE_OFF = (
    "Provisioning state was cleared, but Provisioning Status is Off: no cycle runs until you "
    "start provisioning. The next cycle will be an initial cycle."
)


def status_context(job, application) -> dict:
    """What the Current status panel shows (shared by the pages that include it)."""
    return provisioning_job_status(job=job)


class CurrentStatusMixin:
    """Adds the Current status panel's context to a page of an application."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["status"] = status_context(self.job, self.application)
        return context


class ProvisioningStatusView(ApplicationMixin, TemplateView):
    """The Current status panel alone, for htmx's polling while a cycle runs."""

    template_name = "provisioning/includes/current_status.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["status"] = status_context(self.job, self.application)
        return context


class ProvisioningControlView(ApplicationMixin, View):
    """Start / Stop / Restart provisioning, Allow deletes."""

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        handlers = {
            "start": (provisioning_job_start, "Provisioning started."),
            "stop": (
                provisioning_job_stop,
                "Provisioning stopped. A cycle in progress completes first.",
            ),
            "restart": (
                provisioning_job_restart,
                "Provisioning restarted: the next cycle is an initial cycle.",
            ),
            "allow_deletes": (
                provisioning_job_allow_deletes,
                "Deletes were allowed; they are exported by the next cycle.",
            ),
        }
        if action not in handlers:
            raise Http404("No such action")
        handler, text = handlers[action]
        try:
            outcome = handler(job=self.job, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if action == "restart" and not outcome:
                messages.warning(request, RESTARTED_WHILE_OFF)
            else:
                messages.success(request, text)
        back = request.POST.get("next", "")
        if not back.startswith("/azure/"):
            back = self.app_url("app-overview")
        return redirect(back)


class ProvisioningLogListView(ApplicationMixin, TemplateView):
    template_name = "provisioning/provisioning_logs.html"
    menu = "app-logs"
    page_size = 100

    def filters(self) -> dict:
        get = self.request.GET
        return {
            "search": get.get("search", ""),
            "status": get.get("status", ""),
            "action": get.get("action", ""),
            "date_range": get.get("date", "24h"),  # the portal opens on the last 24 hours
            "cycle_id": get.get("cycle_id", ""),
            "change_id": get.get("change_id", ""),
            "job_id": get.get("job_id", ""),
        }

    def get(self, request, *args, **kwargs):
        download = request.GET.get("download")
        if download in ("csv", "json"):
            entries = log_entry_list(job=self.job, **self.filters())
            if download == "csv":
                body, content_type, name = (
                    log_entries_csv_zip(entries),
                    "application/zip",
                    "ProvisioningLogs.zip",
                )
            else:
                body, content_type, name = (
                    log_entries_json(entries),
                    "application/json",
                    "ProvisioningLogs.json",
                )
            response = HttpResponse(body, content_type=content_type)
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filters = self.filters()
        try:
            page = max(1, int(self.request.GET.get("page", "1")))
        except ValueError:
            page = 1
        entries = log_entry_list(job=self.job, **filters)
        offset = (page - 1) * self.page_size
        rows = list(entries[offset : offset + self.page_size + 1])
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("download", None)
        context.update(
            filters=filters,
            entries=rows[: self.page_size],
            page=page,
            has_next=len(rows) > self.page_size,
            query=query.urlencode(),
            statuses=ProvisioningLogEntry.Status.values,
            actions=ProvisioningLogEntry.Action.values,
        )
        return context


class ProvisioningLogDetailView(ApplicationMixin, TemplateView):
    template_name = "provisioning/provisioning_log_detail.html"
    menu = "app-logs"
    tabs = (
        ("steps", "Steps"),
        ("troubleshooting", "Troubleshooting & Recommendations"),
        ("modified", "Modified Properties"),
        ("summary", "Summary"),
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entry = log_entry_get(job=self.job, change_id=kwargs["change_id"])
        if entry is None:
            raise Http404("No such log entry")
        tab = self.request.GET.get("tab", "steps")
        if tab not in dict(self.tabs):
            tab = "steps"
        context.update(entry=entry, tab=tab, tabs=self.tabs)
        return context


class ApplicationAuditLogView(ApplicationMixin, TemplateView):
    template_name = "provisioning/app_audit.html"
    menu = "app-audit"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["events"] = selectors.audit_event_list(application=self.application)[:200]
        return context
