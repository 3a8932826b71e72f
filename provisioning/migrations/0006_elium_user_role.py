"""The Elium gallery app gets its application-specific role "User": its connector excludes
assignments with only Default Access (``EnterpriseApplication.excludes_default_access``).

Existing Elium apps get the role, and their Default Access assignments move to it: they were
provisioned before the rule existed, and an upgrade must not disable those users."""

from django.db import migrations


def elium_user_role_add(apps, schema_editor):
    EnterpriseApplication = apps.get_model("provisioning", "EnterpriseApplication")
    AppRole = apps.get_model("provisioning", "AppRole")
    AppRoleAssignment = apps.get_model("provisioning", "AppRoleAssignment")
    for application in EnterpriseApplication.objects.filter(template="elium").iterator():
        role, _ = AppRole.objects.get_or_create(
            application=application,
            display_name="User",
            defaults={"value": "User", "is_default": False},
        )
        default_access = AppRoleAssignment.objects.filter(
            application=application, role__is_default=True
        )
        for assignment in default_access.iterator():
            duplicate = AppRoleAssignment.objects.filter(
                application=application,
                role=role,
                principal_user_id=assignment.principal_user_id,
                principal_group_id=assignment.principal_group_id,
            ).exists()
            if duplicate:
                assignment.delete()
            else:
                assignment.role = role
                assignment.save(update_fields=["role"])


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0005_connector_object_reference_escrow"),
    ]

    operations = [
        migrations.RunPython(elium_user_role_add, migrations.RunPython.noop),
    ]
