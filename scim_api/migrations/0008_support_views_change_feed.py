"""Support staff see the change feed (issue 13, point 6)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; the groups need them now.
    app_config = apps.get_app_config("scim_api")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="scim_api", codename="view_scimchange")
    for group in Group.objects.filter(name__in=["Support", "Support admin"]):
        group.permissions.add(*view)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="scim_api", codename="view_scimchange")
    for group in Group.objects.filter(name__in=["Support", "Support admin"]):
        group.permissions.remove(*view)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("scim_api", "0007_change_feed"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
