"""Support staff's view of tenants, their tokens and security log (issue 13).

``Support`` views; ``Support admin`` may also disable SCIM, revoke tokens and clear sign-in
lockouts — each through a service, audited under the support user's name. The SCIM side of the
tenant page (request counts, the chart) is added by ``scim_api.admin``, which knows this app
(never the other way round)."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from elium_portal.adminkit import (
    EstimatedCountPaginator,
    GuardedActionsMixin,
    ObjectAction,
    ObjectActionsMixin,
    SupportAdmin,
    client_ip,
    recent_filter,
)
from elium_portal.models import AuditEvent, Membership, ScimToken, Tenant
from elium_portal.services.support import (
    support_label,
    tenant_login_lockouts_reset,
    tenant_tokens_revoke_all,
)
from elium_portal.services.tokens import scim_token_revoke, tenant_scim_set_enabled


def html_table(headers, rows):
    if not rows:
        return format_html("<p>{}</p>", "None.")
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(ObjectActionsMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "scim_enabled", "scim_compatibility", "created_at"]
    list_filter = ["scim_enabled", "scim_compatibility"]
    search_fields = ["name", "slug"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # The SCIM switches are changed on the tenant's Security page (or by the actions here),
    # where every change is audited; support staff see them here.
    readonly_fields = [
        "public_id",
        "created_at",
        "scim_enabled",
        "scim_compatibility",
        "scim_request_log_level",
        "tokens",
        "members_count",
    ]
    inlines = [MembershipInline]

    @admin.display(description="SCIM secret tokens")
    def tokens(self, tenant):
        rows = [
            (
                token.display_prefix,
                token.created_at,
                token.last_used_at or "never",
                token.expires_at or "never",
                token.revoked_at or "—",
            )
            for token in ScimToken.objects.for_tenant(tenant).order_by("-created_at")[:20]
        ]
        return html_table(["Token", "Created", "Last used", "Expires", "Revoked"], rows)

    @admin.display(description="Members")
    def members_count(self, tenant):
        return Membership.objects.filter(tenant=tenant).count()

    def get_object_actions(self):
        def disable_scim(request, tenant):
            changed = tenant_scim_set_enabled(
                tenant=tenant, enabled=False, actor=request.user, ip=client_ip(request)
            )
            return "SCIM provisioning disabled." if changed else "SCIM was already disabled."

        def revoke_tokens(request, tenant):
            count = tenant_tokens_revoke_all(
                tenant=tenant, actor=request.user, ip=client_ip(request)
            )
            return f"Revoked {count} token(s)."

        def unlock(request, tenant):
            usernames = tenant_login_lockouts_reset(
                tenant=tenant, actor=request.user, ip=client_ip(request)
            )
            if not usernames:
                return "No member of this tenant had failed sign-ins."
            return f"Cleared sign-in lockouts of {', '.join(usernames)}."

        return [
            ObjectAction(
                "disable-scim",
                "Disable SCIM",
                disable_scim,
                shown=lambda tenant: tenant.scim_enabled,
            ),
            ObjectAction("revoke-tokens", "Revoke all tokens", revoke_tokens),
            ObjectAction(
                "unlock",
                "Unlock sign-ins",
                unlock,
                description="Clear the failed sign-ins (and lockouts) of this tenant's members",
            ),
        ]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["=user__username", "=tenant__slug"]
    autocomplete_fields = ["user", "tenant"]
    list_select_related = ["user", "tenant"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(ScimToken)
class ScimTokenAdmin(GuardedActionsMixin, admin.ModelAdmin):
    """Tokens are read-only for support staff; the digest is never displayed. Revoking (Support
    admin) goes through the service so it is audited like a revoke in the console."""

    list_display = [
        "display_prefix",
        "tenant",
        "created_at",
        "created_by_label",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["=key_id", "=tenant__slug"]
    list_select_related = ["tenant"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = [
        "display_prefix",
        "tenant",
        "created_at",
        "created_by_label",
        "last_used_at",
        "last_used_ip",
        "expires_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def has_operate_permission(self, request):
        return request.user.has_perm("elium_portal.operate_tenant")

    @admin.display(description="Token")
    def display_prefix(self, obj):
        return obj.display_prefix

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["operate"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.select_related("tenant"):
            if token.revoked_at is None:
                scim_token_revoke(
                    tenant=token.tenant,
                    token=token,
                    actor=request.user,
                    label=support_label(request.user),
                    ip=client_ip(request),
                )
                count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(SupportAdmin):
    list_display = ["created_at", "tenant", "action", "actor_label", "ip"]
    list_filter = ["action", "tenant", recent_filter("created_at")]
    search_exact_fields = ["actor_label"]
    list_select_related = ["tenant"]
    readonly_fields = ["created_at", "tenant", "action", "actor", "actor_label", "ip", "details"]
