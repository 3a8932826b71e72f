"""Shared pieces of the Azure side's support admin: links into the admin, tables, the app filter."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from provisioning.models import (
    EnterpriseApplication,
    ProvisioningJob,
)

RECENT_CYCLES = 10
#: How many directory users a UPN/name prefix may resolve to in a log search.
UPN_MATCHES = 50
#: A Tenant URL that points at an Elium tenant's SCIM base (of this installation or another).
ELIUM_TENANT_PATH = re.compile(r"^/t/[a-z][a-z0-9-]+/scim/v2/?$")


# -- small HTML helpers (escaped by format_html; no script, no <style>) -------------------------


def _link(url: str, text: Any) -> SafeString:
    return format_html('<a href="{}">{}</a>', url, text)


def _admin_url(name: str, *args: Any, query: dict[str, Any] | None = None) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return _table(["Name", "Value"], [(k, _cell(v)) for k, v in value.items()])
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        headers = list(dict.fromkeys(k for item in value for k in item))
        return _table(headers, [[_cell(item.get(h, "")) for h in headers] for item in value])
    if value is None:
        return "—"
    return value


def _table(headers: list[str], rows: list) -> SafeString:
    if not rows:
        return format_html("<p>{}</p>", "None.")
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _elium_target(job: ProvisioningJob) -> bool:
    try:
        return bool(ELIUM_TENANT_PATH.match(urlsplit(job.tenant_url).path))
    except ValueError:
        return False


def scim_requests_url(change_id: uuid.UUID) -> str:
    """The Elium side's inbound requests of one exchange (matched on ``client-request-id``)."""
    return _admin_url("scim_api_scimrequestlog_changelist", query={"q": str(change_id)})


def log_entries_url(**query: Any) -> str:
    return _admin_url("provisioning_provisioninglogentry_changelist", query=query)


# -- directory ----------------------------------------------------------------------------------


class ApplicationFilter(admin.SimpleListFilter):
    """By application (support knows the app's name, not its job id)."""

    title = "application"
    parameter_name = "app"

    def lookups(self, request, model_admin):
        return list(
            EnterpriseApplication.objects.filter(provisioning_job__isnull=False)
            .order_by("name")
            .values_list("pk", "name")
        )

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(job__application_id=self.value())
        return queryset
