"""Support staff see SCIM Validator runs (the run's token is never shown)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    app_config = apps.get_app_config("provisioning")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(
        content_type__app_label="provisioning", codename="view_scimvalidationrun"
    )
    for group in Group.objects.filter(name__in=["Support", "Support admin"]):
        group.permissions.add(*view)


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0009_merge_validator_runs")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
