"""Elium console pages backed by SCIM data: the people directory, groups, and the inbound
provisioning requests of the Security page. Everything here is read-only: SCIM-managed data is
changed in Azure AD, not in Elium."""

from __future__ import annotations

import datetime as dt
import itertools
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.generic import TemplateView, View

from elium_portal.access import TenantAdminRequiredMixin, TenantMemberRequiredMixin
from elium_portal.csvsafe import csv_lines
from scim_api import selectors
from scim_api.feed import change_sentence, changes_text
from scim_api.forms import ChangeFeedFilterForm
from scim_api.models import ScimChange, ScimGroupMember
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


class ProvisioningActivityView(TenantAdminRequiredMixin, SettingsPageMixin, TemplateView):
    """Settings › People › Provisioning activity: the tenant's change feed, in words, newest
    first, filtered, by keyset pages (a constant number of queries, no ``COUNT(*)``)."""

    template_name = "scim_api/provisioning_activity.html"
    settings_page = "activity"
    page_size = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = ChangeFeedFilterForm(self.request.GET or None)
        context["form"] = form
        if self.request.GET and not form.is_valid():
            context.update(rows=[], page=None, invalid=True)
            return context
        filters = form.filters() if form.is_bound else {}
        before_text, after_text = self.request.GET.get("before"), self.request.GET.get("after")
        before, after = selectors.Cursor.parse(before_text), selectors.Cursor.parse(after_text)
        context["bad_cursor"] = bool(before_text and not before) or bool(after_text and not after)
        page = selectors.change_feed_page(
            selectors.change_feed(tenant=self.tenant, **filters),
            before=before,
            after=after,
            size=self.page_size,
        )
        query = {k: v for k, v in self.request.GET.items() if k in form.fields and v}
        context.update(
            page=page,
            rows=[(row, change_sentence(row)) for row in page.rows],
            filtered=bool(query),
            query=urlencode(query),
            older_url=_page_url(query, before=page.older),
            newer_url=_page_url(query, after=page.newer),
            newest_url=_page_url(query) if (before or after) else None,
        )
        return context


def _page_url(query: dict, **cursor: selectors.Cursor | None) -> str | None:
    """The link to a page of the same filters: the newest (no cursor), or the one a cursor
    names (None when there is no such page)."""
    params = dict(query)
    for name, value in cursor.items():
        if value is None:
            return None
        params[name] = str(value)
    return "?" + urlencode(params)


CSV_HEADER = [
    "Time (UTC)",
    "Activity",
    "Change",
    "Object type",
    "Object id",
    "Name",
    "Username",
    "Group id",
    "Group",
    "Changed attributes",
    "Token",
    "Request id",
]


class ProvisioningActivityExportView(TenantAdminRequiredMixin, View):
    """The filtered change feed as CSV, streamed (every cell safe to open in a spreadsheet)."""

    def get(self, request, slug):
        form = ChangeFeedFilterForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            problems = "; ".join(
                f"{form.fields[name].label if name in form.fields else name}: {' '.join(errors)}"
                for name, errors in form.errors.items()
            )
            return HttpResponse(
                f"Invalid filter: {problems}", status=400, content_type="text/plain"
            )
        rows = selectors.change_feed(
            tenant=self.tenant, **(form.filters() if form.is_bound else {})
        ).iterator(chunk_size=1000)
        response = StreamingHttpResponse(
            csv_lines(itertools.chain([CSV_HEADER], (_csv_row(row) for row in rows))),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = (
            f'attachment; filename="provisioning-activity-{self.tenant.slug}-{stamp}.csv"'
        )
        return response


def _csv_row(row: ScimChange) -> list:
    return [
        row.created_at.astimezone(dt.UTC).isoformat(),
        change_sentence(row),
        row.get_kind_display(),
        row.get_object_type_display(),
        str(row.object_id),
        row.object_name,
        row.user_name,
        str(row.group_id) if row.group_id else "",
        row.group_name,
        changes_text(row),
        row.token_prefix,
        str(row.request_id),
    ]
