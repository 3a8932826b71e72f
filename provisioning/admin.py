"""Support staff's view of the Azure side. Secrets are never shown (not even encrypted)."""

from django.contrib import admin

from provisioning.models import (
    AttributeMapping,
    ChangeRecord,
    Directory,
    DirectoryGroup,
    DirectoryUser,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningAuditEvent,
    ProvisioningJob,
    ScimValidationRun,
)


@admin.register(Directory)
class DirectoryAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant_id", "domain", "created_at")
    search_fields = ("name", "domain", "tenant_id")
    readonly_fields = ("tenant_id",)


@admin.register(DirectoryUser)
class DirectoryUserAdmin(admin.ModelAdmin):
    list_display = (
        "user_principal_name",
        "display_name",
        "directory",
        "account_enabled",
        "deleted_at",
    )
    list_filter = ("directory", "account_enabled")
    search_fields = ("user_principal_name", "display_name", "mail", "object_id")
    raw_id_fields = ("manager",)
    readonly_fields = ("object_id",)


@admin.register(DirectoryGroup)
class DirectoryGroupAdmin(admin.ModelAdmin):
    list_display = ("display_name", "directory", "security_enabled")
    list_filter = ("directory",)
    search_fields = ("display_name", "object_id")
    readonly_fields = ("object_id",)


@admin.register(EnterpriseApplication)
class EnterpriseApplicationAdmin(admin.ModelAdmin):
    list_display = ("name", "template", "directory", "object_id")
    list_filter = ("template", "directory")
    readonly_fields = ("object_id", "application_id")


class ObjectMappingInline(admin.TabularInline):
    model = ObjectMapping
    extra = 0
    fields = ("object_type", "name", "enabled", "action_create", "action_update", "action_delete")
    readonly_fields = fields
    can_delete = False


@admin.register(ProvisioningJob)
class ProvisioningJobAdmin(admin.ModelAdmin):
    list_display = ("job_id", "application", "mode", "status", "scope", "has_secret_token")
    list_filter = ("mode", "status", "scope")
    search_fields = ("job_id", "application__name", "tenant_url")
    exclude = ("secret_token_encrypted",)
    readonly_fields = ("job_id", "has_secret_token")
    inlines = [ObjectMappingInline]

    @admin.display(boolean=True, description="Secret Token saved")
    def has_secret_token(self, job):
        return job.has_secret_token


@admin.register(AttributeMapping)
class AttributeMappingAdmin(admin.ModelAdmin):
    list_display = ("target_attribute", "mapping_type", "source_display", "matching_precedence")
    list_filter = ("mapping_type",)
    search_fields = ("target_attribute", "source_attribute", "expression")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProvisioningAuditEvent)
class ProvisioningAuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "application", "activity", "actor_label")
    list_filter = ("activity",)


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "directory", "object_type", "object_id", "change_type", "created_at")
    list_filter = ("object_type", "change_type")


@admin.register(ScimValidationRun)
class ScimValidationRunAdmin(ReadOnlyAdmin):
    """SCIM Validator runs, for support: never the encrypted token."""

    list_display = ("created_at", "directory", "tenant_url", "dialect", "status")
    list_filter = ("status", "dialect")
    search_fields = ("tenant_url",)
    exclude = ("token_encrypted",)
