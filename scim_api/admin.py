"""Support staff's view of SCIM data: resources and the inbound request log, read-only, and
the SCIM side of the tenant page (issue 13). ``provisioning`` is never imported: links to its
log entries are built from admin URL names."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Max, Q, Sum
from django.db.models.functions import TruncHour
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from elium_portal.admin import TenantAdmin, html_table
from elium_portal.adminkit import SupportAdmin, recent_filter
from elium_portal.models import Tenant
from scim_api.feed import attribute_label, change_sentence, shown_value
from scim_api.models import ScimChange, ScimGroup, ScimGroupMember, ScimRequestLog, ScimUser

CHART_HOURS = 7 * 24
CHART_BAR_WIDTH = 4
CHART_HEIGHT = 120


def provisioning_entries_url(client_request_id) -> str | None:
    """The provisioning log entry whose Change ID the request carried (this installation's
    engine), or None when provisioning is not installed."""
    try:
        url = reverse("admin:provisioning_provisioninglogentry_changelist")
    except NoReverseMatch:
        return None
    return f"{url}?{urlencode({'q': str(client_request_id)})}"


@admin.register(ScimUser)
class ScimUserAdmin(SupportAdmin):
    list_display = ["user_name", "display_name", "active", "tenant", "external_id", "last_modified"]
    list_filter = ["active", "tenant"]
    search_uuid_fields = ["id"]
    search_prefix_fields = ["user_name"]
    list_select_related = ["tenant"]
    # The password hash is never shown.
    fields = readonly_fields = [
        "id",
        "tenant",
        "user_name",
        "external_id",
        "display_name",
        "active",
        "data",
        "created",
        "last_modified",
        "version",
    ]


@admin.register(ScimGroup)
class ScimGroupAdmin(SupportAdmin):
    list_display = ["display_name", "tenant", "external_id", "last_modified"]
    list_filter = ["tenant"]
    search_uuid_fields = ["id"]
    search_prefix_fields = ["display_name"]
    list_select_related = ["tenant"]
    readonly_fields = [
        "id",
        "tenant",
        "display_name",
        "external_id",
        "data",
        "created",
        "last_modified",
        "version",
    ]


@admin.register(ScimGroupMember)
class ScimGroupMemberAdmin(SupportAdmin):
    list_display = ["group", "user", "member_group", "tenant", "created"]
    list_filter = ["tenant"]
    search_uuid_fields = ["group_id", "user_id"]
    list_select_related = ["group", "user", "member_group", "tenant"]
    raw_id_fields = ["group", "user", "member_group"]


class StatusFilter(admin.SimpleListFilter):
    """Status classes and the usual codes: fixed lookups (distinct values of a big table would
    be read on every view otherwise)."""

    title = "status"
    parameter_name = "status"
    classes = {"2xx": (200, 300), "4xx": (400, 500), "5xx": (500, 600), "errors": (400, 600)}

    def lookups(self, request, model_admin):
        return [
            ("errors", "Errors (4xx and 5xx)"),
            ("2xx", "Success (2xx)"),
            ("4xx", "Client errors (4xx)"),
            ("5xx", "Server errors (5xx)"),
            *[(str(code), str(code)) for code in (400, 401, 403, 404, 409, 413, 429, 500, 503)],
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value in self.classes:
            low, high = self.classes[value]
            return queryset.filter(status__gte=low, status__lt=high)
        if value and value.isdigit():
            return queryset.filter(status=int(value))
        return queryset


class MethodFilter(admin.SimpleListFilter):
    title = "method"
    parameter_name = "method"

    def lookups(self, request, model_admin):
        return [(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")]

    def queryset(self, request, queryset):
        return queryset.filter(method=self.value()) if self.value() else queryset


@admin.register(ScimRequestLog)
class ScimRequestLogAdmin(SupportAdmin):
    """Inbound SCIM requests for diagnosis: what the client sent and what it got back. Search by
    request id or ``client-request-id`` (= the provisioning log entry's Change ID)."""

    list_display = [
        "created_at",
        "tenant",
        "method",
        "path",
        "status",
        "count",
        "duration_ms",
        "client_ip",
        "token_prefix",
    ]
    list_filter = [StatusFilter, MethodFilter, "tenant", recent_filter("created_at")]
    search_uuid_fields = ["request_id", "client_request_id"]
    list_select_related = ["tenant"]
    readonly_fields = [
        "created_at",
        "tenant",
        "request_id",
        "client_request_id",
        "provisioning_entry",
        "token_prefix",
        "method",
        "path",
        "query",
        "status",
        "count",
        "duration_ms",
        "client_ip",
        "request_body",
        "response_body",
        "changes_made",
    ]

    @admin.display(description="Change feed")
    def changes_made(self, row):
        feed_id = row.client_request_id or row.request_id
        if not ScimChange.objects.filter(request_id=feed_id).exists():
            return "This request changed nothing."
        url = reverse("admin:scim_api_scimchange_changelist")
        return format_html(
            '<a href="{}?{}">{}</a>', url, urlencode({"q": str(feed_id)}), "What it changed"
        )

    @admin.display(description="Provisioning log entry")
    def provisioning_entry(self, row):
        if row.client_request_id is None:
            return "The client sent no client-request-id."
        url = provisioning_entries_url(row.client_request_id)
        if url is None:
            return str(row.client_request_id)
        return format_html('<a href="{}">{}</a>', url, "Provisioning log entry of this exchange")


@admin.register(ScimChange)
class ScimChangeAdmin(SupportAdmin):
    """The change feed of every tenant: each SCIM write in words. Search by the person's or
    group's id or name (beginning), or by the request id, which the inbound request log shares
    (both ways linked)."""

    list_display = ["created_at", "tenant", "activity", "token_prefix", "request"]
    list_filter = ["kind", "tenant", recent_filter("created_at")]
    search_uuid_fields = ["object_id", "group_id", "request_id"]
    search_prefix_fields = ["object_name", "user_name"]
    list_select_related = ["tenant"]
    readonly_fields = fields = [
        "created_at",
        "tenant",
        "activity",
        "kind",
        "object_type",
        "object_id",
        "object_name",
        "user_name",
        "group_id",
        "group_name",
        "changed_attributes",
        "token_prefix",
        "request_id",
        "inbound_requests",
    ]

    @admin.display(description="Activity")
    def activity(self, row):
        return change_sentence(row)

    @admin.display(description="Request id")
    def request(self, row):
        # No query per row: the request log finds the id as request id or client-request-id.
        url = reverse("admin:scim_api_scimrequestlog_changelist")
        return format_html(
            '<a href="{}?{}" title="Inbound SCIM requests with this id">{}</a>',
            url,
            urlencode({"q": str(row.request_id)}),
            row.request_id,
        )

    @admin.display(description="Changed attributes")
    def changed_attributes(self, row):
        return html_table(
            ["Attribute", "Old value", "New value"],
            [
                (
                    attribute_label(str(change.get("attribute", ""))),
                    shown_value(change.get("old")) if "old" in change else "—",
                    shown_value(change.get("new")) if "new" in change else "(secret)",
                )
                for change in row.changes or []
                if isinstance(change, dict)
            ],
        )

    @admin.display(description="Inbound SCIM request")
    def inbound_requests(self, row):
        logged = ScimRequestLog.objects.filter(
            Q(request_id=row.request_id) | Q(client_request_id=row.request_id),
            tenant_id=row.tenant_id,
        ).order_by("-created_at")[:5]
        links = [
            format_html(
                '<a href="{}">{} {} → {}</a>',
                reverse("admin:scim_api_scimrequestlog_change", args=[log.pk]),
                log.method,
                log.path,
                log.status,
            )
            for log in logged
        ]
        if not links:
            return (
                "Not in the request log (a tenant's request log keeps errors only unless set "
                "to all requests)."
            )
        return format_html_join(mark_safe("<br>"), "{}", ((link,) for link in links))


def _hourly(tenant: Tenant, now) -> list[tuple]:
    start = (now - timedelta(hours=CHART_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    rows = (
        ScimRequestLog.objects.filter(tenant=tenant, created_at__gte=start)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(requests=Sum("count"), errors=Sum("count", filter=Q(status__gte=400)))
    )
    by_hour = {row["hour"]: (row["requests"] or 0, row["errors"] or 0) for row in rows}
    return [
        (hour, *by_hour.get(hour, (0, 0)))
        for hour in (start + timedelta(hours=i) for i in range(CHART_HOURS))
    ]


def requests_chart(tenant: Tenant, now=None) -> str:
    """Requests and errors per hour over the last 7 days as an inline SVG (no script: the page
    runs under a strict Content-Security-Policy)."""
    hours = _hourly(tenant, now or timezone.now())
    peak = max((requests for _, requests, _ in hours), default=0) or 1
    width = CHART_HOURS * CHART_BAR_WIDTH

    def bar(index, hour, requests, errors):
        total_h = round(CHART_HEIGHT * requests / peak)
        error_h = round(CHART_HEIGHT * errors / peak)
        x = index * CHART_BAR_WIDTH
        return (
            x,
            CHART_HEIGHT - total_h,
            CHART_BAR_WIDTH - 1,
            total_h,
            f"{hour:%Y-%m-%d %H}:00 UTC — {requests} requests, {errors} errors",
            x,
            CHART_HEIGHT - error_h,
            CHART_BAR_WIDTH - 1,
            error_h,
        )

    bars = format_html_join(
        "",
        '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="#79aec8"></rect>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#ba2121"></rect></g>',
        (
            (b[4], b[0], b[1], b[2], b[3], b[5], b[6], b[7], b[8])
            for b in (bar(i, *h) for i, h in enumerate(hours))
        ),
    )
    total = sum(r for _, r, _ in hours)
    errors = sum(e for _, _, e in hours)
    return format_html(
        '<svg role="img" aria-label="SCIM requests per hour" width="{}" height="{}" '
        'viewBox="0 0 {} {}" style="border:1px solid #ccc;background:#fff">{}</svg>'
        "<p>{} requests logged, {} errors, last 7 days (peak {} per hour). "
        '<span style="color:#79aec8">■</span> requests '
        '<span style="color:#ba2121">■</span> errors. Successful requests are counted only '
        "when the tenant's request log keeps all requests.</p>",
        width,
        CHART_HEIGHT,
        width,
        CHART_HEIGHT,
        bars,
        total,
        errors,
        peak if total else 0,
    )


admin.site.unregister(Tenant)


@admin.register(Tenant)
class TenantScimAdmin(TenantAdmin):
    """The tenant page with its SCIM side: users and groups, last request, hourly chart."""

    readonly_fields = [
        *TenantAdmin.readonly_fields,
        "scim_users_count",
        "scim_groups_count",
        "last_scim_request",
        "scim_requests_chart",
        "change_feed",
    ]

    @admin.display(description="SCIM users")
    def scim_users_count(self, tenant):
        return ScimUser.objects.for_tenant(tenant).count()

    @admin.display(description="SCIM groups")
    def scim_groups_count(self, tenant):
        return ScimGroup.objects.for_tenant(tenant).count()

    @admin.display(description="Last SCIM request")
    def last_scim_request(self, tenant):
        last = ScimRequestLog.objects.filter(tenant=tenant).order_by("-created_at", "-id").first()
        token_use = tenant.scim_tokens.aggregate(last=Max("last_used_at"))["last"]
        logged = "none logged"
        if last is not None:
            url = reverse("admin:scim_api_scimrequestlog_change", args=[last.pk])
            logged = format_html(
                '<a href="{}">{} {} → {}</a> at {}',
                url,
                last.method,
                last.path,
                last.status,
                last.created_at,
            )
        log_url = reverse("admin:scim_api_scimrequestlog_changelist")
        return format_html(
            "Last logged: {} · last token use: {} · {}",
            logged,
            token_use or "never",
            format_html(
                '<a href="{}?{}">all requests</a>',
                log_url,
                urlencode({"tenant__id__exact": tenant.pk}),
            ),
        )

    @admin.display(description="Change feed")
    def change_feed(self, tenant):
        url = reverse("admin:scim_api_scimchange_changelist")
        return format_html(
            '<a href="{}?{}">What SCIM changed in this tenant</a>',
            url,
            urlencode({"tenant__id__exact": tenant.pk}),
        )

    @admin.display(description="SCIM requests and errors per hour (7 days)")
    def scim_requests_chart(self, tenant):
        return requests_chart(tenant)
