"""The enterprise applications blades: the list, the gallery (new application), an
application's overview and its Users and groups (assignments)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from provisioning import selectors
from provisioning.forms import AssignmentForm, NewApplicationForm, RowButtonForm
from provisioning.services.applications import (
    app_role_assignment_create,
    app_role_assignment_delete,
    enterprise_application_create,
)
from provisioning.views.base import ApplicationMixin, DirectoryMixin, apply_errors
from provisioning.views.status import CurrentStatusMixin


class ApplicationListView(DirectoryMixin, TemplateView):
    template_name = "provisioning/app_list.html"
    menu = "apps"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["apps"] = selectors.application_list(directory=self.directory)
        return context


class ApplicationGalleryView(DirectoryMixin, TemplateView):
    template_name = "provisioning/app_gallery.html"
    menu = "apps"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["gallery"] = [
            {
                "template": "elium",
                "name": "Elium",
                "publisher": "Elium",
                "description": "Knowledge sharing platform. Automatic user provisioning (users "
                "only).",
            },
            {
                "template": "scim",
                "name": "Generic SCIM app",
                "publisher": "Microsoft",
                "description": "Integrate any other application you don't find in the gallery "
                "(Non-gallery) that supports SCIM 2.0: users and groups.",
            },
        ]
        context.setdefault("form", NewApplicationForm())
        return context

    def post(self, request, *args, **kwargs):
        form = NewApplicationForm(request.POST)
        if form.is_valid():
            application = enterprise_application_create(
                directory=self.directory,
                template=form.cleaned_data["template"],
                name=form.cleaned_data["name"],
            )
            messages.success(request, f"Successfully added application {application.name}.")
            return redirect(
                "provisioning:app-overview",
                tenant_id=self.directory.tenant_id,
                app_id=application.object_id,
            )
        return self.render_to_response(self.get_context_data(form=form))


class ApplicationOverviewView(CurrentStatusMixin, ApplicationMixin, TemplateView):
    template_name = "provisioning/app_overview.html"
    menu = "app-overview"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["assignment_count"] = self.application.assignments.count()
        return context


class ApplicationUsersGroupsView(ApplicationMixin, TemplateView):
    template_name = "provisioning/app_users_groups.html"
    menu = "app-users"

    #: How many users (and as many groups) the picker lists; a search finds the others.
    picker_size = 50

    def search(self) -> str:
        return (self.request.POST.get("q") or self.request.GET.get("q") or "").strip()

    def forms_kwargs(self):
        """The picker's choices: the users and security groups matching the search (the first
        ones without a search), so a directory of thousands stays usable."""
        search = self.search()
        users = selectors.directory_user_list(directory=self.directory, search=search).active()
        groups = selectors.directory_group_list(directory=self.directory, search=search).filter(
            security_enabled=True
        )
        self.user_total, self.group_total = users.count(), groups.count()
        users = [
            (f"user:{u.object_id}", f"{u.display_name} ({u.user_principal_name})")
            for u in selectors.first_rows(
                users.order_by("display_name", "pk"), total=self.user_total, size=self.picker_size
            )
        ]
        groups = [
            (f"group:{g.object_id}", f"{g.display_name} (group)")
            for g in selectors.first_rows(
                groups.order_by("display_name", "pk"), total=self.group_total, size=self.picker_size
            )
        ]
        roles = [(str(r.role_id), r.display_name) for r in self.application.roles.all()]
        return {"principals": users + groups, "roles": roles}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", AssignmentForm(**self.forms_kwargs()))
        context["assignments"] = selectors.app_assignment_list(application=self.application)
        shown = min(self.user_total, self.picker_size) + min(self.group_total, self.picker_size)
        context.update(
            q=self.search(),
            picker_total=self.user_total + self.group_total,
            picker_shown=shown,
        )
        return context

    def post(self, request, *args, **kwargs):
        if "remove" in request.POST:
            row = RowButtonForm(request.POST, button="remove").row_id
            assignment = self.application.assignments.filter(pk=row).first() if row else None
            if assignment is None:
                raise Http404("No such assignment")
            app_role_assignment_delete(application=self.application, assignment=assignment)
            messages.success(request, f"Removed {assignment.principal} from {self.application}.")
            return redirect(request.path)
        form = AssignmentForm(request.POST, **self.forms_kwargs())
        if form.is_valid():
            kind, object_id = form.cleaned_data["principal"]
            if kind == "user":
                principal = selectors.directory_user_get(
                    directory=self.directory, object_id=object_id
                )
            else:
                principal = selectors.directory_group_get(
                    directory=self.directory, object_id=object_id
                )
            role = self.application.roles.get(role_id=form.cleaned_data["role"])
            try:
                app_role_assignment_create(
                    application=self.application, principal=principal, role=role
                )
                messages.success(request, f"Assigned {principal} to {self.application}.")
                return redirect(request.path)
            except ValidationError as error:
                apply_errors(form, error)
            except IntegrityError:  # assigned by another request since the service's check
                form.add_error(
                    None, f"{principal} is already assigned to {self.application} as {role}."
                )
        return self.render_to_response(self.get_context_data(form=form))
