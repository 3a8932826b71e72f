"""The Azure console: directory, enterprise applications and the Provisioning blades.

Access: every view requires a logged-in Django user who is staff (``is_staff``). Objects are
resolved through selectors scoped to the directory in the URL, so an id from another directory
is a 404.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from provisioning import selectors
from provisioning.defaults import directory_product_name, source_attributes_for
from provisioning.engine.ondemand import (
    MAX_GROUP_MEMBERS,
    group_provisioning_enabled,
    on_demand_group_members,
    provisioning_on_demand_group_run,
    provisioning_on_demand_run,
)
from provisioning.exports import log_entries_csv, log_entries_json
from provisioning.expressions import (
    PARSE_SUCCESS_MESSAGE,
    ExpressionSyntaxError,
    parse_expression,
)
from provisioning.forms import (
    OPERATOR_CHOICES,
    AssignmentForm,
    DirectoryForm,
    DirectoryGroupForm,
    DirectoryUserForm,
    EditAttributeForm,
    GroupMemberAddForm,
    ImportForm,
    NewApplicationForm,
    ObjectMappingForm,
    ProvisioningForm,
    TestConnectionForm,
)
from provisioning.models import (
    AttributeMapping,
    Directory,
    DirectoryGroup,
    DirectoryUser,
    ObjectMapping,
    ProvisioningLogEntry,
)
from provisioning.scoping import (
    ScopingClause,
    ScopingFilter,
    ScopingOperator,
    filters_from_json,
    validate_clause,
)
from provisioning.selectors import log_entry_get, log_entry_list, provisioning_job_status
from provisioning.services import directory as directory_services
from provisioning.services.applications import (
    app_role_assignment_create,
    app_role_assignment_delete,
    enterprise_application_create,
)
from provisioning.services.directory_import import (
    DirectoryImportError,
    ImportProblem,
    directory_import,
)
from provisioning.services.import_jobs import directory_import_job_create
from provisioning.services.jobs import (
    provisioning_job_allow_deletes,
    provisioning_job_restart,
    provisioning_job_start,
    provisioning_job_stop,
    provisioning_job_test_connection,
    provisioning_job_update,
)
from provisioning.services.mappings import (
    attribute_mapping_delete,
    attribute_mapping_save,
    object_mapping_scoping_filter_add,
    object_mapping_scoping_filter_delete,
    object_mapping_scoping_filter_replace,
    object_mapping_update,
)

EXPRESSION_PARSED_TEXT = PARSE_SUCCESS_MESSAGE  # the portal's wording


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


class AzureConsoleMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Staff only: the Azure console is the emulated Entra admin center."""

    raise_exception = False

    def test_func(self) -> bool:
        return bool(self.request.user.is_staff)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["product_name"] = directory_product_name()
        return context


class DirectoryMixin(AzureConsoleMixin):
    """Resolves ``self.directory`` from the ``tenant_id`` URL argument."""

    menu = ""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_staff:
            self.directory = selectors.directory_get(tenant_id=kwargs["tenant_id"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(directory=self.directory, menu=self.menu)
        return context


class ApplicationMixin(DirectoryMixin):
    """Resolves ``self.application`` and ``self.job`` within ``self.directory``."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_staff:
            directory = selectors.directory_get(tenant_id=kwargs["tenant_id"])
            self.application = selectors.application_get(
                directory=directory, object_id=kwargs["app_id"]
            )
            self.job = self.application.provisioning_job
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(app=self.application, job=self.job)
        return context

    def app_url(self, name: str, **kwargs) -> str:
        return reverse(
            f"provisioning:{name}",
            kwargs={
                "tenant_id": self.directory.tenant_id,
                "app_id": self.application.object_id,
                **kwargs,
            },
        )


def _status_context(job, application) -> dict:
    """What the Current status panel shows (shared by the pages that include it)."""
    return provisioning_job_status(job=job)


class CurrentStatusMixin:
    """Adds the Current status panel's context to a page of an application."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["status"] = _status_context(self.job, self.application)
        return context


# --------------------------------------------------------------------------------------------
# Home and directories
# --------------------------------------------------------------------------------------------


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
            if Directory.objects.filter(name=form.cleaned_data["name"].strip()).exists():
                form.add_error("name", "A directory with this name already exists.")
            else:
                directory = directory_services.directory_create(**form.cleaned_data)
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
            watermark=selectors.change_watermark(directory=self.directory),
        )
        return context


class UserListView(DirectoryMixin, TemplateView):
    template_name = "provisioning/user_list.html"
    menu = "users"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "")
        users = selectors.directory_user_list(directory=self.directory, search=search)
        context.update(search=search, users=users[:200], total=users.count())
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
        if "soft_delete" in request.POST and user:
            directory_services.directory_user_soft_delete(directory=self.directory, user=user)
            messages.success(request, f"{user.display_name} was deleted.")
            return redirect(request.path)
        if "restore" in request.POST and user:
            directory_services.directory_user_restore(directory=self.directory, user=user)
            messages.success(request, f"{user.display_name} was restored.")
            return redirect(request.path)
        if "hard_delete" in request.POST and user:
            if user.deleted_at is None:
                messages.error(
                    request,
                    "Delete the user first; only deleted users can be deleted permanently.",
                )
                return redirect(request.path)
            name = user.display_name
            directory_services.directory_user_hard_delete(directory=self.directory, user=user)
            messages.success(request, f"{name} was permanently deleted.")
            return redirect("provisioning:users", tenant_id=self.directory.tenant_id)
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
                _apply_errors(form, error)
        return self.render_to_response(self.get_context_data(form=form))


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

    def _resolve_member(self, value: str):
        kind, _, raw = value.partition(":")
        try:
            object_id = uuid.UUID(raw)
        except ValueError:
            raise Http404("No such member") from None
        if kind == "user":
            return selectors.directory_user_get(directory=self.directory, object_id=object_id)
        return selectors.directory_group_get(directory=self.directory, object_id=object_id)

    def post(self, request, *args, **kwargs):
        group = self.get_group()
        if group is not None and "add_member" in request.POST:
            form = GroupMemberAddForm(request.POST, choices=self.member_choices(group))
            if form.is_valid():
                member = self._resolve_member(form.cleaned_data["member"])
                try:
                    directory_services.directory_group_member_add(
                        directory=self.directory, group=group, member=member
                    )
                    messages.success(request, f"Added {member} to {group}.")
                    return redirect(request.path)
                except ValidationError as error:
                    _apply_errors(form, error)
            return self.render_to_response(self.get_context_data(member_form=form))
        if group is not None and "remove_member" in request.POST:
            member = self._resolve_member(request.POST["remove_member"])
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
                _apply_errors(form, error)
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
            if upload.size > getattr(settings, "PROVISIONING_IMPORT_BACKGROUND_BYTES", 262_144):
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


# --------------------------------------------------------------------------------------------
# Enterprise applications
# --------------------------------------------------------------------------------------------


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

    def forms_kwargs(self):
        users = [
            (f"user:{u.object_id}", f"{u.display_name} ({u.user_principal_name})")
            for u in self.directory.users.active()[:500]
        ]
        groups = [
            (f"group:{g.object_id}", f"{g.display_name} (group)")
            for g in self.directory.groups.filter(security_enabled=True)[:500]
        ]
        roles = [(str(r.role_id), r.display_name) for r in self.application.roles.all()]
        return {"principals": users + groups, "roles": roles}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", AssignmentForm(**self.forms_kwargs()))
        context["assignments"] = selectors.app_assignment_list(application=self.application)
        return context

    def post(self, request, *args, **kwargs):
        if "remove" in request.POST:
            assignment = self.application.assignments.filter(pk=request.POST["remove"]).first()
            if assignment is None:
                raise Http404("No such assignment")
            app_role_assignment_delete(application=self.application, assignment=assignment)
            messages.success(request, f"Removed {assignment.principal} from {self.application}.")
            return redirect(request.path)
        form = AssignmentForm(request.POST, **self.forms_kwargs())
        if form.is_valid():
            kind, _, raw = form.cleaned_data["principal"].partition(":")
            object_id = uuid.UUID(raw)
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
                _apply_errors(form, error)
        return self.render_to_response(self.get_context_data(form=form))


class ApplicationAuditLogView(ApplicationMixin, TemplateView):
    template_name = "provisioning/app_audit.html"
    menu = "app-audit"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["events"] = selectors.audit_event_list(application=self.application)[:200]
        return context


# --------------------------------------------------------------------------------------------
# Provisioning blade
# --------------------------------------------------------------------------------------------


class ProvisioningView(CurrentStatusMixin, ApplicationMixin, TemplateView):
    template_name = "provisioning/provisioning.html"
    menu = "app-provisioning"

    def initial(self) -> dict:
        job = self.job
        return {
            "mode": job.mode,
            "tenant_url": job.tenant_url,
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
                _apply_errors(form, error)
            else:
                messages.success(request, f"Successfully updated {self.application.name}")
                return redirect(request.path)
        # Never echo the secret back into the re-rendered form.
        data = request.POST.copy()
        data["secret_token"] = ""
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
        initial["tenant_url"] = form.cleaned_data.get("tenant_url", "")
        return view.render_to_response(
            view.get_context_data(
                form=ProvisioningForm(initial={**initial, "mode": "automatic"}),
                notification=payload,
                started=True,
            )
        )


class ExpressionValidateView(AzureConsoleMixin, View):
    """Live parse feedback for the Edit Attribute dialog's Expression box."""

    def post(self, request, *args, **kwargs):
        text = request.POST.get("expression", "")
        try:
            parse_expression(text)
        except ExpressionSyntaxError as error:
            return JsonResponse(
                {
                    "ok": False,
                    "message": error.message,
                    "line": error.line,
                    "column": error.column,
                    "position": error.position,
                }
            )
        return JsonResponse({"ok": True, "message": EXPRESSION_PARSED_TEXT})


class MappingMixin(ApplicationMixin):
    menu = "app-provisioning"

    def dispatch(self, request, *args, **kwargs):
        if kwargs["object_type"] not in ObjectMapping.ObjectType.values:
            raise Http404("No such mapping")
        if request.user.is_authenticated and request.user.is_staff:
            directory = selectors.directory_get(tenant_id=kwargs["tenant_id"])
            application = selectors.application_get(directory=directory, object_id=kwargs["app_id"])
            self.mapping = selectors.object_mapping_get(
                application=application, object_type=kwargs["object_type"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["mapping"] = self.mapping
        context["target_label"] = (
            "customappsso" if self.application.template == "scim" else self.application.name
        )
        return context

    def mapping_url(self, name: str = "mapping", **kwargs) -> str:
        return self.app_url(name, object_type=self.mapping.object_type, **kwargs)


class AttributeMappingView(MappingMixin, TemplateView):
    template_name = "provisioning/attribute_mapping.html"

    def make_form(self, data=None) -> ObjectMappingForm:
        mapping = self.mapping
        form = ObjectMappingForm(
            data,
            initial={
                "enabled": "yes" if mapping.enabled else "no",
                "action_create": mapping.action_create,
                "action_update": mapping.action_update,
                "action_delete": mapping.action_delete,
            },
        )
        # The users mapping cannot be disabled: the toggle is shown but locked.
        form.fields["enabled"].disabled = mapping.object_type == ObjectMapping.ObjectType.USER
        return form

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        mapping = self.mapping
        context.setdefault("form", self.make_form())
        context["attributes"] = mapping.attributes.all()
        context["filter_count"] = len(mapping.scoping_filters or [])
        return context

    def post(self, request, *args, **kwargs):
        if "delete" in request.POST:
            attribute = self.mapping.attributes.filter(pk=request.POST["delete"]).first()
            if attribute is None:
                raise Http404("No such attribute mapping")
            try:
                attribute_mapping_delete(attribute=attribute, actor=request.user)
                messages.success(request, f"Deleted the mapping to {attribute.target_attribute}.")
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            return redirect(request.path)
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                object_mapping_update(mapping=self.mapping, actor=request.user, **form.cleaned_data)
                messages.success(request, f"Saved {self.mapping.name}.")
                return redirect(request.path)
            except ValidationError as error:
                _apply_errors(form, error)
        return self.render_to_response(self.get_context_data(form=form))


class EditAttributeView(MappingMixin, TemplateView):
    """The Edit Attribute dialog (``pk`` absent = Add New Mapping)."""

    template_name = "provisioning/edit_attribute.html"

    def get_attribute(self) -> AttributeMapping | None:
        pk = self.kwargs.get("pk")
        if pk is None:
            return None
        attribute = self.mapping.attributes.filter(pk=pk).first()
        if attribute is None:
            raise Http404("No such attribute mapping")
        return attribute

    def make_form(self, data=None):
        attribute = self.get_attribute()
        initial = {"apply": AttributeMapping.Apply.ALWAYS, "mapping_type": "Direct"}
        extra_sources = []
        if attribute is not None:
            initial = {
                "mapping_type": attribute.mapping_type,
                "source_attribute": attribute.source_attribute,
                "constant_value": attribute.constant_value,
                "expression": attribute.expression,
                "default_value": attribute.default_value,
                "target_attribute": attribute.target_attribute,
                "match_objects": "yes" if attribute.is_matching else "no",
                "matching_precedence": attribute.matching_precedence,
                "apply": attribute.apply,
            }
            if attribute.source_attribute:
                extra_sources.append(attribute.source_attribute)
        extension_keys = set()
        for user in self.directory.users.exclude(extension_attributes={})[:50]:
            extension_keys.update(user.extension_attributes)
        if self.mapping.object_type == "user":
            extra_sources.extend(extension_keys)
        return EditAttributeForm(
            data,
            initial=initial,
            object_type=self.mapping.object_type,
            extra_sources=extra_sources,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.make_form())
        context["attribute"] = self.get_attribute()
        context["expression_parsed_text"] = EXPRESSION_PARSED_TEXT
        return context

    def post(self, request, *args, **kwargs):
        form = self.make_form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                attribute_mapping_save(
                    mapping=self.mapping,
                    instance=self.get_attribute(),
                    mapping_type=data["mapping_type"],
                    source_attribute=data["source_attribute"],
                    constant_value=data["constant_value"],
                    expression=data["expression"],
                    default_value=data["default_value"],
                    target_attribute=data["target_attribute"],
                    matching_precedence=data["matching_precedence"] or 0,
                    apply=data["apply"],
                    actor=request.user,
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"Saved the mapping to {data['target_attribute']}.")
                return HttpResponseRedirect(self.mapping_url())
        return self.render_to_response(self.get_context_data(form=form))


class SourceObjectScopeView(MappingMixin, TemplateView):
    template_name = "provisioning/scope.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filters"] = list(enumerate(filters_from_json(self.mapping.scoping_filters)))
        return context

    def post(self, request, *args, **kwargs):
        try:
            index = int(request.POST.get("delete", ""))
            object_mapping_scoping_filter_delete(
                mapping=self.mapping, index=index, actor=request.user
            )
        except (ValueError, IndexError):
            raise Http404("No such scoping filter") from None
        messages.success(request, "Scoping filter deleted.")
        return redirect(request.path)


class ScopingFilterEditView(MappingMixin, TemplateView):
    """Add Scoping Filter (``index`` absent) or edit one: clause rows posted as
    ``clause-<n>-attribute|operator|value``; "Add New Scoping Clause" adds a row."""

    template_name = "provisioning/scoping_filter.html"

    def existing(self) -> ScopingFilter | None:
        index = self.kwargs.get("index")
        if index is None:
            return None
        filters = filters_from_json(self.mapping.scoping_filters)
        if not 0 <= index < len(filters):
            raise Http404("No such scoping filter")
        return filters[index]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        existing = self.existing()
        if "rows" not in context:
            rows = [
                {"attribute": c.attribute, "operator": str(c.operator), "value": c.value}
                for c in (existing.clauses if existing else ())
            ]
            context["rows"] = [{"errors": {}, **row} for row in rows]
            context["title"] = existing.title if existing else ""
            context["new_row"] = {"attribute": "", "operator": "EQUALS", "value": "", "errors": {}}
        context["source_attributes"] = source_attributes_for(self.mapping.object_type)
        context["operators"] = OPERATOR_CHOICES
        context["unary_operators"] = [op.value for op in ScopingOperator if not op.takes_value]
        return context

    def post(self, request, *args, **kwargs):
        post = request.POST
        rows = []
        count = int(post.get("clause_count", "0") or 0)
        for n in range(min(count, 50)):
            if post.get("remove_clause") == str(n):
                continue
            if f"clause-{n}-attribute" not in post:
                continue
            rows.append(
                {
                    "attribute": post.get(f"clause-{n}-attribute", "").strip(),
                    "operator": post.get(f"clause-{n}-operator", ""),
                    "value": post.get(f"clause-{n}-value", ""),
                    "errors": {},
                }
            )
        title = post.get("title", "").strip()
        new_row = {
            "attribute": post.get("new-attribute", "").strip(),
            "operator": post.get("new-operator", "EQUALS"),
            "value": post.get("new-value", ""),
            "errors": {},
        }
        errors: list[str] = []
        if "add_clause" in post:
            problems = validate_clause(new_row["attribute"], new_row["operator"], new_row["value"])
            if problems:
                new_row["errors"] = problems
            else:
                rows.append(new_row)
                new_row = {"attribute": "", "operator": "EQUALS", "value": "", "errors": {}}
            return self.render_rows(rows, title, new_row, errors)
        if "remove_clause" in post:
            return self.render_rows(rows, title, new_row, errors)
        # Ok: a pending new clause row counts when filled in.
        if new_row["attribute"]:
            problems = validate_clause(new_row["attribute"], new_row["operator"], new_row["value"])
            if problems:
                new_row["errors"] = problems
                return self.render_rows(rows, title, new_row, errors)
            rows.append(new_row)
            new_row = {"attribute": "", "operator": "EQUALS", "value": "", "errors": {}}
        valid = True
        for row in rows:
            row["errors"] = validate_clause(row["attribute"], row["operator"], row["value"])
            valid = valid and not row["errors"]
        if not title:
            errors.append("Scoping Filter Title: This field is required.")
        if not rows:
            errors.append("Add at least one scoping clause.")
        if errors or not valid:
            return self.render_rows(rows, title, new_row, errors)
        scoping_filter = ScopingFilter(
            title=title,
            clauses=tuple(
                ScopingClause(
                    attribute=row["attribute"],
                    operator=ScopingOperator(row["operator"]),
                    value=row["value"] if ScopingOperator(row["operator"]).takes_value else "",
                )
                for row in rows
            ),
        )
        try:
            if self.kwargs.get("index") is None:
                object_mapping_scoping_filter_add(
                    mapping=self.mapping, scoping_filter=scoping_filter, actor=request.user
                )
            else:
                object_mapping_scoping_filter_replace(
                    mapping=self.mapping,
                    index=self.kwargs["index"],
                    scoping_filter=scoping_filter,
                    actor=request.user,
                )
        except ValidationError as error:
            return self.render_rows(rows, title, new_row, error.messages)
        messages.success(request, f"Saved scoping filter {title}.")
        return HttpResponseRedirect(self.mapping_url("scope"))

    def render_rows(self, rows, title, new_row, errors):
        return self.render_to_response(
            self.get_context_data(rows=rows, title=title, new_row=new_row, form_errors=errors)
        )


# --------------------------------------------------------------------------------------------
# Current status, provisioning logs, provision on demand (the provisioning engine)
# --------------------------------------------------------------------------------------------


class ProvisioningStatusView(ApplicationMixin, TemplateView):
    """The Current status panel alone, for htmx's polling while a cycle runs."""

    template_name = "provisioning/includes/current_status.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["status"] = _status_context(self.job, self.application)
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
            handler(job=self.job, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
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
            "date_range": get.get("date", "30d"),
            "cycle_id": get.get("cycle_id", ""),
            "change_id": get.get("change_id", ""),
            "job_id": get.get("job_id", ""),
        }

    def get(self, request, *args, **kwargs):
        from django.http import HttpResponse

        download = request.GET.get("download")
        if download in ("csv", "json"):
            entries = log_entry_list(job=self.job, **self.filters())
            if download == "csv":
                body, content_type = log_entries_csv(entries), "text/csv"
            else:
                body, content_type = log_entries_json(entries), "application/json"
            response = HttpResponse(body, content_type=content_type)
            response["Content-Disposition"] = f'attachment; filename="ProvisioningLogs.{download}"'
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
