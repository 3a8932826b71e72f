"""Foreign keys whose column another index of the table starts with lose their own index
(tests/architecture/test_schema.py). Only the index is dropped: Django's AlterField would
also drop the foreign key and add it back, checking every row of the table again."""

import django.db.models.deletion
from django.db import migrations, models


#: (table, column, the foreign key's own index)
COVERED = [
    ("elium_portal_auditevent", "tenant_id", "elium_portal_auditevent_tenant_id_1faceb35"),
    ("elium_portal_membership", "tenant_id", "elium_portal_membership_tenant_id_56bf4b69"),
    ("elium_portal_scimtokenaddress", "token_id", "elium_portal_scimtokenaddress_token_id_79952126"),
    ("elium_portal_tokenformsubmission", "tenant_id", "elium_portal_tokenformsubmission_tenant_id_ebbd5808"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('elium_portal', '0010_token_cache_notify'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='auditevent',
                    name='tenant',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='audit_events', to='elium_portal.tenant'),
                ),
                migrations.AlterField(
                    model_name='membership',
                    name='tenant',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='elium_portal.tenant'),
                ),
                migrations.AlterField(
                    model_name='scimtokenaddress',
                    name='token',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='addresses', to='elium_portal.scimtoken'),
                ),
                migrations.AlterField(
                    model_name='tokenformsubmission',
                    name='tenant',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='elium_portal.tenant'),
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
