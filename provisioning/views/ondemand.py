"""Provision on demand: one user now, or one group with up to five of its members."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.generic import TemplateView

from provisioning import selectors
from provisioning.engine.ondemand import (
    MAX_GROUP_MEMBERS,
    group_provisioning_enabled,
    on_demand_group_members,
    provisioning_on_demand_group_run,
    provisioning_on_demand_run,
)
from provisioning.forms import OnDemandMembersForm, OnDemandSubjectForm
from provisioning.models import DirectoryGroup
from provisioning.views.base import ApplicationMixin


class ProvisionOnDemandView(ApplicationMixin, TemplateView):
    """Search a user (name, UPN, mail) or a group (name); a user runs at once, a group first
    asks which of its members (up to five) to provision with it."""

    template_name = "provisioning/provision_on_demand.html"
    menu = "app-on-demand"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "").strip()
        groups_enabled = group_provisioning_enabled(self.job)
        context.update(
            q=search,
            groups_enabled=groups_enabled,
            max_members=MAX_GROUP_MEMBERS,
            candidates=(
                list(selectors.directory_user_list(directory=self.directory, search=search)[:20])
                if search
                else []
            ),
            group_candidates=(
                list(selectors.directory_group_list(directory=self.directory, search=search)[:20])
                if search and groups_enabled
                else []
            ),
        )
        return context

    def post(self, request, *args, **kwargs):
        if not self.job.is_configured:
            messages.error(request, "Save admin credentials (Automatic mode) first.")
            return redirect(request.path)
        subject = OnDemandSubjectForm(request.POST)
        if not subject.is_valid():
            messages.error(request, " ".join(subject.non_field_errors()))
            return redirect(request.path)
        object_id = subject.cleaned_data["object_id"]
        if subject.cleaned_data["kind"] == "group":
            group = selectors.directory_group_get(directory=self.directory, object_id=object_id)
            return self._post_group(request, group)
        user = selectors.directory_user_get(directory=self.directory, object_id=object_id)
        result = provisioning_on_demand_run(job=self.job, user=user)
        return self.render_to_response(self.get_context_data(result=result, selected=user))

    def _post_group(self, request, group: DirectoryGroup):
        """Without ``run``, ask which members; with it, provision the group and those."""
        form = OnDemandMembersForm(
            request.POST if "run" in request.POST else None,
            group_members=on_demand_group_members(group),
        )
        if form.is_valid():
            try:
                result = provisioning_on_demand_group_run(
                    job=self.job, group=group, members=form.cleaned_data["members"]
                )
            except ValidationError as error:
                form.add_error(None, " ".join(error.messages))
            else:
                return self.render_to_response(self.get_context_data(result=result, selected=group))
        return self.render_to_response(
            self.get_context_data(
                group_choice=group,
                group_members=list(on_demand_group_members(group)[:500]),
                members_form=form,
            )
        )
