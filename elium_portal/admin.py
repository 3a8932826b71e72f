from django.contrib import admin, messages

from elium_portal.models import AuditEvent, Membership, ScimToken, Tenant
from elium_portal.services.tokens import scim_token_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "scim_enabled", "scim_compatibility", "created_at"]
    list_filter = ["scim_enabled", "scim_compatibility"]
    search_fields = ["name", "slug"]
    # The SCIM switches are changed on the tenant's Security page, where every change is
    # audited; support staff see them here.
    readonly_fields = [
        "public_id",
        "created_at",
        "scim_enabled",
        "scim_compatibility",
        "scim_request_log_level",
    ]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]
    list_select_related = ["user", "tenant"]


@admin.register(ScimToken)
class ScimTokenAdmin(admin.ModelAdmin):
    """Tokens are read-only for support staff; the digest is never displayed. Revoking goes
    through the service so it is audited like a revoke in the console."""

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
    search_fields = ["key_id", "tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
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

    @admin.display(description="Token")
    def display_prefix(self, obj):
        return obj.display_prefix

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["view"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.select_related("tenant"):
            if token.revoked_at is None:
                scim_token_revoke(
                    tenant=token.tenant,
                    token=token,
                    actor=request.user,
                    label=f"support:{request.user.get_username()}",
                    ip=request.META.get("REMOTE_ADDR"),
                )
                count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "action", "actor_label", "ip"]
    list_filter = ["action", "tenant"]
    search_fields = ["actor_label", "tenant__slug", "ip"]
    list_select_related = ["tenant"]
    readonly_fields = ["created_at", "tenant", "action", "actor", "actor_label", "ip", "details"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
