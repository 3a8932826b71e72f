"""Elium console pages backed by SCIM data: the people directory, groups, and the inbound
provisioning requests of the Security page. Everything here is read-only: SCIM-managed data is
changed in Azure AD, not in Elium."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.views.generic import TemplateView

from elium_portal.access import TenantAdminRequiredMixin, TenantMemberRequiredMixin
from scim_api import selectors
from scim_api.models import ScimGroupMember
from scim_api.schema import ENTERPRISE_USER
from scim_api.services.common import parse_uuid


class SettingsPageMixin:
    settings_page = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["settings_page"] = self.settings_page
        return context


class PeopleView(TenantMemberRequiredMixin, SettingsPageMixin, TemplateView):
    template_name = "scim_api/people.html"
    settings_page = "people"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "")
        state = self.request.GET.get("state", "all")
        if state not in ("all", "active", "deactivated"):
            state = "all"
        page = Paginator(
            selectors.people_directory(tenant=self.tenant, search=search, state=state),
            self.paginate_by,
        ).get_page(self.request.GET.get("page"))
        context.update(page=page, search=search, state=state)
        return context


class PersonView(TenantMemberRequiredMixin, SettingsPageMixin, TemplateView):
    template_name = "scim_api/person.html"
    settings_page = "people"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        person_id = parse_uuid(kwargs["person_id"])
        person = (
            selectors.people_directory(tenant=self.tenant).filter(id=person_id).first()
            if person_id
            else None
        )
        if person is None:
            raise Http404("No such person")
        enterprise = person.data.get(ENTERPRISE_USER) or {}
        manager_id = (enterprise.get("manager") or {}).get("value")
        manager = (
            selectors.people_directory(tenant=self.tenant).filter(id=parse_uuid(manager_id)).first()
            if parse_uuid(manager_id)
            else None
        )
        groups = selectors.groups_of_users(tenant=self.tenant, user_ids=[person.id])
        context.update(
            person=person,
            name=person.data.get("name") or {},
            enterprise={k: v for k, v in enterprise.items() if k != "manager"},
            manager=manager,
            groups=groups.get(person.id, []),
            emails=person.data.get("emails") or [],
            phones=person.data.get("phoneNumbers") or [],
        )
        return context


class GroupsView(TenantMemberRequiredMixin, SettingsPageMixin, TemplateView):
    template_name = "scim_api/groups.html"
    settings_page = "groups"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "")
        page = Paginator(selectors.group_directory(tenant=self.tenant, search=search), 50).get_page(
            self.request.GET.get("page")
        )
        context.update(page=page, search=search)
        return context


class GroupView(TenantMemberRequiredMixin, SettingsPageMixin, TemplateView):
    template_name = "scim_api/group.html"
    settings_page = "groups"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        group_id = parse_uuid(kwargs["group_id"])
        group = (
            selectors.group_directory(tenant=self.tenant).filter(id=group_id).first()
            if group_id
            else None
        )
        if group is None:
            raise Http404("No such group")
        members = (
            ScimGroupMember.objects.filter(tenant=self.tenant, group=group)
            .select_related("user", "member_group")
            .order_by("id")
        )
        context.update(
            group=group,
            page=Paginator(members, 100).get_page(self.request.GET.get("page")),
        )
        return context


class ProvisioningRequestsView(TenantAdminRequiredMixin, TemplateView):
    """The Security page's "Recent provisioning requests" panel (loaded with htmx)."""

    template_name = "scim_api/includes/recent_requests.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["requests"] = selectors.recent_requests(tenant=self.tenant)
        return context
