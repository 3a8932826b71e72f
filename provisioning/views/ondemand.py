"""Provision on demand: one user now, or one group with up to five of its members."""

from __future__ import annotations

import uuid

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

    def _selected(self, data) -> tuple[str, uuid.UUID] | None:
        """("user" | "group", object id) from the candidates' ``object`` radio ("user:<id>"),
        or the ``user`` / ``group`` field of Retry and the members form."""
        kind, raw = "", ""
        if data.get("object"):
            kind, _, raw = data["object"].partition(":")
        elif data.get("group"):
            kind, raw = "group", data["group"]
        elif data.get("user"):
            kind, raw = "user", data["user"]
        if kind not in ("user", "group"):
            return None
        try:
            return kind, uuid.UUID(raw)
        except ValueError:
            return None

    def post(self, request, *args, **kwargs):
        if not self.job.is_configured:
            messages.error(request, "Save admin credentials (Automatic mode) first.")
            return redirect(request.path)
        selected = self._selected(request.POST)
        if selected is None:
            messages.error(request, "Select a user or a group.")
            return redirect(request.path)
        kind, object_id = selected
        if kind == "group":
            group = selectors.directory_group_get(directory=self.directory, object_id=object_id)
            return self._post_group(request, group)
        user = selectors.directory_user_get(directory=self.directory, object_id=object_id)
        result = provisioning_on_demand_run(job=self.job, user=user)
        return self.render_to_response(self.get_context_data(result=result, selected=user))

    def _post_group(self, request, group: DirectoryGroup):
        def pick(error: str = "", chosen: list[str] | None = None):
            return self.render_to_response(
                self.get_context_data(
                    group_choice=group,
                    group_members=list(on_demand_group_members(group)[:500]),
                    chosen=chosen or [],
                    pick_error=error,
                )
            )

        if "run" not in request.POST:
            return pick()
        raw = list(dict.fromkeys(request.POST.getlist("members")))
        if len(raw) > MAX_GROUP_MEMBERS:
            return pick(
                f"You can select up to {MAX_GROUP_MEMBERS} members of a group at a time; "
                f"{len(raw)} are selected.",
                raw,
            )
        try:
            ids = [uuid.UUID(value) for value in raw]
        except ValueError:
            return pick("Select members of the group.", [])
        members = list(on_demand_group_members(group).filter(object_id__in=ids))
        if len(members) != len(ids):
            return pick("Select members of the group.", raw)
        try:
            result = provisioning_on_demand_group_run(job=self.job, group=group, members=members)
        except ValidationError as error:
            return pick(" ".join(error.messages), raw)
        return self.render_to_response(self.get_context_data(result=result, selected=group))
