"""Foreign keys whose column another index of the table starts with lose their own index
(tests/architecture/test_schema.py). Only the index is dropped: Django's AlterField would
also drop the foreign key and add it back, checking every row of the table again."""

import django.db.models.deletion
from django.db import migrations, models


#: (table, column, the foreign key's own index)
COVERED = [
    ("scim_api_scimgroup", "tenant_id", "scim_api_scimgroup_tenant_id_dc841767"),
    ("scim_api_scimgroupmember", "group_id", "scim_api_scimgroupmember_group_id_28fed0b1"),
    ("scim_api_scimgroupmember", "user_id", "scim_api_scimgroupmember_user_id_8e831c51"),
    ("scim_api_scimrequestlog", "tenant_id", "scim_api_scimrequestlog_tenant_id_3006e1d1"),
    ("scim_api_scimuser", "tenant_id", "scim_api_scimuser_tenant_id_7458d6ca"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('elium_portal', '0011_fk_indexes_covered'),
        ('scim_api', '0011_resource_count_writes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='scimgroup',
                    name='tenant',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='scim_groups', to='elium_portal.tenant'),
                ),
                migrations.AlterField(
                    model_name='scimgroupmember',
                    name='group',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='scim_api.scimgroup'),
                ),
                migrations.AlterField(
                    model_name='scimgroupmember',
                    name='user',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='group_memberships', to='scim_api.scimuser'),
                ),
                migrations.AlterField(
                    model_name='scimrequestlog',
                    name='tenant',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='scim_requests', to='elium_portal.tenant'),
                ),
                migrations.AlterField(
                    model_name='scimuser',
                    name='tenant',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='scim_users', to='elium_portal.tenant'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
                )
                for table, column, index in COVERED
            ],
        ),
    ]
