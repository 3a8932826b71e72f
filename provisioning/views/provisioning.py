"""The Provisioning blade of an application: mode, admin credentials (Tenant URL, and a Secret
Token or the OAuth2 client credentials grant's Token Endpoint, Client Identifier and Client
Secret) with Test Connection, notifications, deletion threshold, scope and status."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from provisioning.forms import ProvisioningForm, TestConnectionForm
from provisioning.services.jobs import provisioning_job_test_connection, provisioning_job_update
from provisioning.views.base import ApplicationMixin, apply_errors
from provisioning.views.status import CurrentStatusMixin


class ProvisioningView(CurrentStatusMixin, ApplicationMixin, TemplateView):
    template_name = "provisioning/provisioning.html"
    menu = "app-provisioning"

    def initial(self) -> dict:
        job = self.job
        return {
            "mode": job.mode,
            "tenant_url": job.tenant_url,
            "auth_method": job.auth_method,
            "oauth_token_url": job.oauth_token_url,
            "oauth_client_id": job.oauth_client_id,
            "notification_email": job.notification_email,
            "send_failure_email": job.send_failure_email,
            "prevent_accidental_deletion": job.prevent_accidental_deletion,
            "deletion_threshold": job.deletion_threshold,
            "scope": job.scope,
            "status": job.status,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ProvisioningForm(initial=self.initial()))
        context["mappings"] = self.job.mappings.all()
        context.setdefault(
            "started", self.job.mode == "automatic" or bool(self.request.GET.get("start"))
        )
        return context

    def post(self, request, *args, **kwargs):
        form = ProvisioningForm(request.POST)
        if form.is_valid():
            try:
                provisioning_job_update(job=self.job, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"Successfully updated {self.application.name}")
                return redirect(request.path)
        # Never echo a secret back into the re-rendered form.
        data = request.POST.copy()
        data["secret_token"] = ""
        data["oauth_client_secret"] = ""
        form.data = data
        messages.error(
            request,
            "We encountered an error while updating provisioning configuration for "
            f"'{self.application.name}'.",
        )
        return self.render_to_response(self.get_context_data(form=form, started=True))


class TestConnectionView(ApplicationMixin, View):
    """POST the credentials being edited; JSON for the page's script, or the blade re-rendered
    with the notification when scripts are off. Nothing is saved."""

    def post(self, request, *args, **kwargs):
        form = TestConnectionForm(request.POST)
        form.is_valid()
        result = provisioning_job_test_connection(
            job=self.job,
            tenant_url=form.cleaned_data.get("tenant_url", ""),
            secret_token=form.cleaned_data.get("secret_token", ""),
            auth_method=form.cleaned_data.get("auth_method") or "bearer",
            oauth_token_url=form.cleaned_data.get("oauth_token_url", ""),
            oauth_client_id=form.cleaned_data.get("oauth_client_id", ""),
            oauth_client_secret=form.cleaned_data.get("oauth_client_secret", ""),
            actor=request.user,
        )
        payload = {
            "ok": result.ok,
            "title": result.title,
            "message": result.message,
            "error_code": result.error_code,
            "details": result.details,
            "request_id": result.request_id,
        }
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse(payload)
        view = ProvisioningView()
        view.setup(request, *args, **kwargs)
        view.directory, view.application, view.job = self.directory, self.application, self.job
        initial = view.initial()
        for name in ("tenant_url", "oauth_token_url", "oauth_client_id"):
            initial[name] = form.cleaned_data.get(name, "")
        initial["auth_method"] = form.cleaned_data.get("auth_method") or "bearer"
        return view.render_to_response(
            view.get_context_data(
                form=ProvisioningForm(initial={**initial, "mode": "automatic"}),
                notification=payload,
                started=True,
            )
        )
