"""Enterprise applications: adding one from the gallery, and its user/group assignments."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from provisioning.models import (
    AppRole,
    AppRoleAssignment,
    Directory,
    DirectoryGroup,
    DirectoryUser,
    EnterpriseApplication,
    ProvisioningJob,
)
from provisioning.services.changes import ChangeType, ObjectType, change_record_append
from provisioning.services.mappings import object_mappings_reset

GALLERY_DEFAULT_NAMES = {
    EnterpriseApplication.Template.ELIUM: "Elium",
    EnterpriseApplication.Template.SCIM: "Generic SCIM app",
}


@transaction.atomic
def enterprise_application_create(
    *, directory: Directory, template: str, name: str = ""
) -> EnterpriseApplication:
    """Add an app from the gallery: the app, its "Default Access" role and its own roles
    ("User", and "Admin" for a generic SCIM app), its provisioning job (Manual, Off) and the
    template's default mappings."""
    if template not in EnterpriseApplication.Template.values:
        raise ValidationError({"template": "Select an application from the gallery."})
    name = (name or "").strip() or GALLERY_DEFAULT_NAMES[template]
    application = EnterpriseApplication.objects.create(
        directory=directory, name=name, template=template
    )
    AppRole.objects.create(
        application=application,
        display_name=AppRole.DEFAULT_ACCESS,
        value="",
        description="Default role for users and groups assigned to the application.",
        is_default=True,
    )
    AppRole.objects.create(application=application, display_name=AppRole.USER, value=AppRole.USER)
    if template == EnterpriseApplication.Template.SCIM:
        AppRole.objects.create(application=application, display_name="Admin", value="Admin")
    job = ProvisioningJob.objects.create(application=application)
    object_mappings_reset(job=job)
    return application


@transaction.atomic
def app_role_assignment_create(
    *,
    application: EnterpriseApplication,
    principal: DirectoryUser | DirectoryGroup,
    role: AppRole | None = None,
) -> AppRoleAssignment:
    """Assign a user or group to the app ("Users and groups" → Add user/group → Assign)."""
    directory = application.directory
    if principal.directory_id != directory.pk:
        raise ValueError("principal belongs to another directory")
    if role is None:
        role = application.roles.get(is_default=True)
    if role.application_id != application.pk:
        raise ValueError("role belongs to another application")
    if isinstance(principal, DirectoryGroup) and not principal.security_enabled:
        raise ValidationError("Only security-enabled groups can be assigned to an application.")
    field = "principal_user" if isinstance(principal, DirectoryUser) else "principal_group"
    existing = AppRoleAssignment.objects.filter(
        application=application, role=role, **{field: principal}
    ).first()
    if existing:
        raise ValidationError(f"{principal} is already assigned to {application} as {role}.")
    assignment = AppRoleAssignment.objects.create(
        application=application, role=role, **{field: principal}
    )
    change_record_append(
        directory=directory,
        object_type=ObjectType.ASSIGNMENT,
        object_id=principal.object_id,
        related_object_id=application.object_id,
        change_type=ChangeType.CREATED,
    )
    return assignment


@transaction.atomic
def app_role_assignment_delete(
    *, application: EnterpriseApplication, assignment: AppRoleAssignment
) -> None:
    """Remove an assignment ("Remove" in Users and groups)."""
    if assignment.application_id != application.pk:
        raise ValueError("assignment belongs to another application")
    principal = assignment.principal
    assignment.delete()
    change_record_append(
        directory=application.directory,
        object_type=ObjectType.ASSIGNMENT,
        object_id=principal.object_id,
        related_object_id=application.object_id,
        change_type=ChangeType.DELETED,
    )
