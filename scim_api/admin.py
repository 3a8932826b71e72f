"""Support staff's view of SCIM data: resources and the inbound request log, read-only."""

from django.contrib import admin

from scim_api.models import ScimGroup, ScimGroupMember, ScimRequestLog, ScimUser


class ReadOnlyAdmin(admin.ModelAdmin):
    """SCIM resources are owned by the provisioning client; support staff look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting here would bypass the services (manager references, group versions).
        return False


@admin.register(ScimUser)
class ScimUserAdmin(ReadOnlyAdmin):
    list_display = ["user_name", "display_name", "active", "tenant", "external_id", "last_modified"]
    list_filter = ["active", "tenant"]
    search_fields = ["user_name", "display_name", "external_id", "=id"]
    list_select_related = ["tenant"]
    exclude = ["password"]
    readonly_fields = [
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
class ScimGroupAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "tenant", "external_id", "last_modified"]
    list_filter = ["tenant"]
    search_fields = ["display_name", "external_id", "=id"]
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
class ScimGroupMemberAdmin(ReadOnlyAdmin):
    list_display = ["group", "user", "member_group", "tenant", "created"]
    list_filter = ["tenant"]
    search_fields = ["group__display_name", "user__user_name"]
    list_select_related = ["group", "user", "member_group", "tenant"]
    raw_id_fields = ["group", "user", "member_group"]


@admin.register(ScimRequestLog)
class ScimRequestLogAdmin(ReadOnlyAdmin):
    """Inbound SCIM requests for diagnosis: what the client sent and what it got back."""

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
    list_filter = ["status", "method", "tenant"]
    search_fields = ["path", "query", "=request_id", "client_ip", "request_body", "response_body"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "tenant",
        "request_id",
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
    ]
    show_full_result_count = False
