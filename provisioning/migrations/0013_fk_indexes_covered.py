"""Foreign keys whose column another index of the table starts with lose their own index
(tests/architecture/test_schema.py). Only the index is dropped: Django's AlterField would
also drop the foreign key and add it back, checking every row of the table again."""

import django.db.models.deletion
from django.db import migrations, models


#: (table, column, the foreign key's own index)
COVERED = [
    ("provisioning_approle", "application_id", "provisioning_approle_application_id_9e7fa8b9"),
    ("provisioning_attributemapping", "object_mapping_id", "provisioning_attributemapping_object_mapping_id_3eeb5c3f"),
    ("provisioning_changerecord", "directory_id", "provisioning_changerecord_directory_id_3f053dad"),
    ("provisioning_connectorobject", "job_id", "provisioning_connectorobject_job_id_209788db"),
    ("provisioning_directorygroup", "directory_id", "provisioning_directorygroup_directory_id_d521a0e6"),
    ("provisioning_directoryuser", "directory_id", "provisioning_directoryuser_directory_id_bfa83119"),
    ("provisioning_objectmapping", "job_id", "provisioning_objectmapping_job_id_fce2ab9a"),
    ("provisioning_provisioningcycle", "job_id", "provisioning_provisioningcycle_job_id_d660695d"),
    ("provisioning_provisioninglogentry", "job_id", "provisioning_provisioninglogentry_job_id_4ddb5002"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0012_validation_run_recovery'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='approle',
                    name='application',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='roles', to='provisioning.enterpriseapplication'),
                ),
                migrations.AlterField(
                    model_name='attributemapping',
                    name='object_mapping',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='attributes', to='provisioning.objectmapping'),
                ),
                migrations.AlterField(
                    model_name='changerecord',
                    name='directory',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='provisioning.directory'),
                ),
                migrations.AlterField(
                    model_name='connectorobject',
                    name='job',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='connector_objects', to='provisioning.provisioningjob'),
                ),
                migrations.AlterField(
                    model_name='directorygroup',
                    name='directory',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='groups', to='provisioning.directory'),
                ),
                migrations.AlterField(
                    model_name='directoryuser',
                    name='directory',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='users', to='provisioning.directory'),
                ),
                migrations.AlterField(
                    model_name='objectmapping',
                    name='job',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='mappings', to='provisioning.provisioningjob'),
                ),
                migrations.AlterField(
                    model_name='provisioningcycle',
                    name='job',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='cycles', to='provisioning.provisioningjob'),
                ),
                migrations.AlterField(
                    model_name='provisioninglogentry',
                    name='job',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='log_entries', to='provisioning.provisioningjob'),
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
