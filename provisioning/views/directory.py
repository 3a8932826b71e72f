"""The directory blades: the list of directories, a directory's overview, its users and groups
(list, create, edit, delete, members) and the import of users or groups from a file."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from provisioning import selectors
from provisioning.forms import (
    DirectoryForm,
    DirectoryGroupForm,
    DirectoryUserActionForm,
    DirectoryUserForm,
    GroupMemberAddForm,
    GroupMemberRemoveForm,
    ImportForm,
)
from provisioning.models import DirectoryGroup, DirectoryUser
from provisioning.services import directory as directory_services
from provisioning.services.directory_import import (
    DirectoryImportError,
    ImportProblem,
    directory_import,
)
from provisioning.services.import_jobs import directory_import_job_create
from provisioning.views.base import AzureConsoleMixin, DirectoryMixin, apply_errors


class HomeView(AzureConsoleMixin, TemplateView):
    template_name = "provisioning/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", DirectoryForm())
        context["directories"] = selectors.directory_list()
        return context

    def post(self, request, *args, **kwargs):
        form = DirectoryForm(request.POST)
        if form.is_valid():
            try:
                directory = directory_services.directory_create(**form.cleaned_data)
            except IntegrityError:  # created by another request since the form's check
                form.add_error("name", DirectoryForm.NAME_TAKEN)
            else:
                messages.success(request, f"Directory {directory.name} created.")
                return redirect("provisioning:directory", tenant_id=directory.tenant_id)
        return self.render_to_response(self.get_context_data(form=form))


class DirectoryOverviewView(DirectoryMixin, TemplateView):
    template_name = "provisioning/directory_overview.html"
    menu = "overview"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            user_count=self.directory.users.count(),
            group_count=self.directory.groups.count(),
            app_count=self.directory.applications.count(),
        )
        return context


class UserListView(DirectoryMixin, TemplateView):
    template_name = "provisioning/user_list.html"
    menu = "users"
    #: How many users the page lists; a search finds the others.
    page_size = 200

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "")
        users = selectors.directory_user_list(directory=self.directory, search=search)
        total = users.count()
        shown = selectors.first_rows(users, total=total, size=self.page_size)
        context.update(search=search, users=shown, total=total)
        return context


class UserEditView(DirectoryMixin, TemplateView):
    """Create (no ``object_id``) or edit a user."""

    template_name = "provisioning/user_form.html"
    menu = "users"

    def get_user(self) -> DirectoryUser | None:
        object_id = self.kwargs.get("object_id")
        if object_id is None:
            return None
        return selectors.directory_user_get(directory=self.directory, object_id=object_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.get_user()
        context.setdefault(
            "form", DirectoryUserForm(instance=user or DirectoryUser(), directory=self.directory)
        )
        context["subject"] = user
        return context

    def post(self, request, *args, **kwargs):
        user = self.get_user()
        if user is not None:
            actions = DirectoryUserActionForm(request.POST, user=user)
            if not actions.is_valid():
                messages.error(request, " ".join(actions.non_field_errors()))
                return redirect(request.path)
            if actions.cleaned_data["action"]:
                return self.act(actions.cleaned_data["action"], user)
        form = DirectoryUserForm(
            request.POST, instance=user or DirectoryUser(), directory=self.directory
        )
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in form.Meta.fields}
            try:
                if user is None:
                    user = directory_services.directory_user_create(
                        directory=self.directory, **values
                    )
                    messages.success(request, f"Created user {user.display_name}.")
                else:
                    user.refresh_from_db()
                    directory_services.directory_user_update(
                        directory=self.directory, user=user, **values
                    )
                    messages.success(request, f"Saved {user.display_name}.")
                return redirect(
                    "provisioning:user-edit",
                    tenant_id=self.directory.tenant_id,
                    object_id=user.object_id,
                )
            except ValidationError as error:
                apply_errors(form, error)
            except IntegrityError:  # another request took the name since the service's check
                form.add_error("user_principal_name", DirectoryUserForm.UPN_TAKEN)
        return self.render_to_response(self.get_context_data(form=form))

    def act(self, action: str, user: DirectoryUser):
        """Delete (to the recycle bin), Restore, or Delete permanently."""
        request = self.request
        if action == "soft_delete":
            directory_services.directory_user_soft_delete(directory=self.directory, user=user)
            messages.success(request, f"{user.display_name} was deleted.")
            return redirect(request.path)
        if action == "restore":
            directory_services.directory_user_restore(directory=self.directory, user=user)
            messages.success(request, f"{user.display_name} was restored.")
            return redirect(request.path)
        name = user.display_name
        directory_services.directory_user_hard_delete(directory=self.directory, user=user)
        messages.success(request, f"{name} was permanently deleted.")
        return redirect("provisioning:users", tenant_id=self.directory.tenant_id)


class GroupListView(DirectoryMixin, TemplateView):
    template_name = "provisioning/group_list.html"
    menu = "groups"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "")
        groups = selectors.directory_group_list(directory=self.directory, search=search)
        context.update(search=search, groups=groups[:200], total=groups.count())
        return context


class GroupEditView(DirectoryMixin, TemplateView):
    """Create (no ``object_id``) or edit a group and its direct members."""

    template_name = "provisioning/group_form.html"
    menu = "groups"

    def get_group(self) -> DirectoryGroup | None:
        object_id = self.kwargs.get("object_id")
        if object_id is None:
            return None
        return selectors.directory_group_get(directory=self.directory, object_id=object_id)

    def member_choices(self, group: DirectoryGroup) -> list[tuple[str, str]]:
        users = [
            (f"user:{u.object_id}", f"{u.display_name} ({u.user_principal_name})")
            for u in self.directory.users.exclude(memberships__group=group)[:500]
        ]
        groups = [
            (f"group:{g.object_id}", f"{g.display_name} (group)")
            for g in self.directory.groups.exclude(pk=group.pk).exclude(
                parent_memberships__group=group
            )[:200]
        ]
        return users + groups

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        group = self.get_group()
        if group is None:
            context.setdefault("form", DirectoryGroupForm())
        else:
            context.setdefault(
                "form",
                DirectoryGroupForm(
                    initial={
                        "display_name": group.display_name,
                        "mail_nickname": group.mail_nickname,
                        "description": group.description,
                        "security_enabled": group.security_enabled,
                    }
                ),
            )
            context.setdefault(
                "member_form", GroupMemberAddForm(choices=self.member_choices(group))
            )
            context["members"] = group.members.select_related("member_user", "member_group")
        context["subject"] = group
        return context

    def _resolve_member(self, kind: str, object_id: uuid.UUID):
        if kind == "user":
            return selectors.directory_user_get(directory=self.directory, object_id=object_id)
        return selectors.directory_group_get(directory=self.directory, object_id=object_id)

    def post(self, request, *args, **kwargs):
        group = self.get_group()
        if group is not None and "add_member" in request.POST:
            form = GroupMemberAddForm(request.POST, choices=self.member_choices(group))
            if form.is_valid():
                member = self._resolve_member(*form.cleaned_data["member"])
                try:
                    directory_services.directory_group_member_add(
                        directory=self.directory, group=group, member=member
                    )
                    messages.success(request, f"Added {member} to {group}.")
                    return redirect(request.path)
                except ValidationError as error:
                    apply_errors(form, error)
            return self.render_to_response(self.get_context_data(member_form=form))
        if group is not None and "remove_member" in request.POST:
            remove = GroupMemberRemoveForm(request.POST)
            if not remove.is_valid():
                raise Http404("No such member")
            member = self._resolve_member(*remove.cleaned_data["remove_member"])
            directory_services.directory_group_member_remove(
                directory=self.directory, group=group, member=member
            )
            messages.success(request, f"Removed {member} from {group}.")
            return redirect(request.path)
        form = DirectoryGroupForm(request.POST)
        if form.is_valid():
            try:
                if group is None:
                    group = directory_services.directory_group_create(
                        directory=self.directory, **form.cleaned_data
                    )
                    messages.success(request, f"Created group {group.display_name}.")
                else:
                    directory_services.directory_group_update(
                        directory=self.directory, group=group, **form.cleaned_data
                    )
                    messages.success(request, f"Saved {group.display_name}.")
                return redirect(
                    "provisioning:group-edit",
                    tenant_id=self.directory.tenant_id,
                    object_id=group.object_id,
                )
            except ValidationError as error:
                apply_errors(form, error)
        return self.render_to_response(self.get_context_data(form=form))


class ImportView(DirectoryMixin, TemplateView):
    template_name = "provisioning/import.html"
    menu = "import"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportForm())
        return context

    def post(self, request, *args, **kwargs):
        form = ImportForm(request.POST, request.FILES)
        problems = []
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > settings.PROVISIONING_IMPORT_BACKGROUND_BYTES:
                # Large files go to a worker; the next page shows the progress bar.
                try:
                    content = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    problems = [ImportProblem(0, "", "The file must be UTF-8 encoded.")]
                else:
                    job = directory_import_job_create(
                        directory=self.directory,
                        filename=upload.name,
                        content=content,
                        actor=request.user,
                    )
                    return redirect(
                        "provisioning:import-job",
                        tenant_id=self.directory.tenant_id,
                        job_id=job.public_id,
                    )
                return self.render_to_response(self.get_context_data(form=form, problems=problems))
            try:
                result = directory_import(
                    directory=self.directory, content=upload.read(), filename=upload.name
                )
            except DirectoryImportError as error:
                problems = error.problems
            else:
                messages.success(request, f"Imported {upload.name}. {result.summary()}")
                return redirect(request.path)
        return self.render_to_response(self.get_context_data(form=form, problems=problems))


class ImportJobView(DirectoryMixin, TemplateView):
    """Progress of a background import; the progress panel refreshes itself until it ends."""

    template_name = "provisioning/import_job.html"
    menu = "import"

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["provisioning/includes/import_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.directory.imports.filter(public_id=kwargs["job_id"]).first()
        if job is None:
            raise Http404("No such import")
        context["job"] = job
        return context
