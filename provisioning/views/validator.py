"""Enterprise applications › SCIM Validator: start a run (queued on a worker), watch its
progress, read each check's deciding requests and responses, download the result as JSON."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from provisioning import selectors
from provisioning.forms import ScimValidatorForm
from provisioning.models import EnterpriseApplication, ScimValidationRun
from provisioning.services.validator_runs import scim_validation_run_create
from provisioning.views.base import DirectoryMixin, apply_errors

HISTORY = 20


class ScimValidatorView(DirectoryMixin, TemplateView):
    template_name = "provisioning/scim_validator.html"
    menu = "validator"

    def _application(self, object_id) -> EnterpriseApplication | None:
        if not object_id:
            return None
        return selectors.application_get(directory=self.directory, object_id=object_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "form" not in context:
            initial = {}
            try:
                application = self._application(self.request.GET.get("app"))
            except ValidationError:
                application = None
            if application is not None:
                job = application.provisioning_job
                initial = {"app": application.object_id, "tenant_url": job.tenant_url}
                if job.uses_oauth:
                    initial.update(
                        auth_method="oauth",
                        oauth_token_url=job.oauth_token_url,
                        oauth_client_id=job.oauth_client_id,
                    )
            context["form"] = ScimValidatorForm(initial=initial)
            context["application"] = application
        context["runs"] = self.directory.scim_validation_runs.all()[:HISTORY]
        return context

    def post(self, request, *args, **kwargs):
        form = ScimValidatorForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            application = self._application(data["app"])
            try:
                run = scim_validation_run_create(
                    directory=self.directory,
                    tenant_url=data["tenant_url"],
                    token=data["secret_token"],
                    **(
                        {
                            "oauth_token_url": data["oauth_token_url"],
                            "oauth_client_id": data["oauth_client_id"],
                            "oauth_client_secret": data["oauth_client_secret"],
                        }
                        if data["auth_method"] == "oauth"
                        else {}
                    ),
                    groups=data["groups"],
                    dialect=data["dialect"],
                    lifecycle=data["lifecycle"],
                    saved_token_of=application.provisioning_job if application else None,
                    actor=request.user,
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                return redirect(
                    "provisioning:scim-validator-run",
                    tenant_id=self.directory.tenant_id,
                    run_id=run.public_id,
                )
        return self.render_to_response(self.get_context_data(form=form))


class _RunMixin(DirectoryMixin):
    def get_run(self, run_id) -> ScimValidationRun:
        run = self.directory.scim_validation_runs.filter(public_id=run_id).first()
        if run is None:
            raise Http404("No such validation run")
        return run


class ScimValidationRunView(_RunMixin, TemplateView):
    """A run's progress (the panel refreshes itself until the run ends), then its results."""

    template_name = "provisioning/scim_validation_run.html"
    menu = "validator"

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["provisioning/includes/validation_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.get_run(kwargs["run_id"])
        context["run"] = run
        context["results"] = _displayed(run.result) if run.result else []
        return context


def _json(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _displayed(report: dict) -> list[dict]:
    """The stored report's results with each exchange as the text the table expands to."""
    results = []
    for result in report.get("results", []):
        exchanges = []
        for index, x in enumerate(result.get("exchanges", [])):
            lines = [f"{x['method']} {x['url']}"]
            if x.get("request_body") is not None:
                lines.append(_json(x["request_body"]))
            if x["method"] != "LOG":
                lines.append(f"→ {x.get('status') or 'no response'}")
            if x.get("response_body") is not None:
                lines.append(_json(x["response_body"]))
            exchanges.append(
                {"text": "\n".join(lines), "deciding": index == result.get("deciding")}
            )
        results.append({**result, "exchanges": exchanges})
    return results


class ScimValidationRunJsonView(_RunMixin, View):
    def get(self, request, *args, **kwargs):
        run = self.get_run(kwargs["run_id"])
        if run.result is None:
            raise Http404("The run has no result yet")
        response = HttpResponse(json.dumps(run.result, indent=2), content_type="application/json")
        response["Content-Disposition"] = (
            f'attachment; filename="scim-validation-{run.public_id}.json"'
        )
        return response
