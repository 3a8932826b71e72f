"""The support roles (issue 13): "Support" views what support staff need, never a secret;
"Support admin" also acts. Each app grants its own permissions; the groups are shared."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APP = "elium_portal"
SUPPORT = ["view_tenant", "view_membership", "view_scimtoken", "view_auditevent"]
SUPPORT_ADMIN_EXTRA = ["operate_tenant"]


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; the groups need them now.
    app_config = apps.get_app_config(APP)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.get_or_create(name="Support")
    support_admin, _ = Group.objects.get_or_create(name="Support admin")
    viewing = Permission.objects.filter(content_type__app_label=APP, codename__in=SUPPORT)
    acting = Permission.objects.filter(
        content_type__app_label=APP, codename__in=SUPPORT_ADMIN_EXTRA
    )
    support.permissions.add(*viewing)
    support_admin.permissions.add(*viewing, *acting)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label=APP)
    for group in Group.objects.filter(name__in=["Support", "Support admin"]):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("elium_portal", "0007_support_admin"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
