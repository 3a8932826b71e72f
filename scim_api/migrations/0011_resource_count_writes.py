"""Each count slot also adds up the rows ever inserted or deleted (``ScimResourceCount.writes``):
a tenant's sum changes with every committed insert or delete and with nothing else, which is how
:mod:`scim_api.paging` knows that the page positions it remembers still hold (issue 11)."""

from django.db import migrations, models

COUNTS = "scim_api_scimresourcecount"
SLOT = "pg_backend_pid() % 32"  # ScimResourceCount.SLOTS

FORWARD = f"""
CREATE OR REPLACE FUNCTION scim_api_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTS} (tenant_id, resource, slot, n, writes)
    SELECT tenant_id, TG_ARGV[0], {SLOT}, count(*), count(*) FROM inserted GROUP BY tenant_id
    ON CONFLICT (tenant_id, resource, slot)
    DO UPDATE SET n = {COUNTS}.n + EXCLUDED.n, writes = {COUNTS}.writes + EXCLUDED.writes;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION scim_api_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTS} (tenant_id, resource, slot, n, writes)
    SELECT tenant_id, TG_ARGV[0], {SLOT}, -count(*), count(*) FROM deleted GROUP BY tenant_id
    ON CONFLICT (tenant_id, resource, slot)
    DO UPDATE SET n = {COUNTS}.n + EXCLUDED.n, writes = {COUNTS}.writes + EXCLUDED.writes;
    RETURN NULL;
END $$;

-- A truncation keeps the slots, emptied, and still adds to their writes: a tenant's sum of
-- writes never goes back to a value it had.
CREATE OR REPLACE FUNCTION scim_api_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNTS} SET n = 0, writes = writes + 1 WHERE resource = TG_ARGV[0];
    RETURN NULL;
END $$;
"""

BACKWARD = f"""
CREATE OR REPLACE FUNCTION scim_api_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTS} (tenant_id, resource, slot, n)
    SELECT tenant_id, TG_ARGV[0], {SLOT}, count(*) FROM inserted GROUP BY tenant_id
    ON CONFLICT (tenant_id, resource, slot) DO UPDATE SET n = {COUNTS}.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION scim_api_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTS} (tenant_id, resource, slot, n)
    SELECT tenant_id, TG_ARGV[0], {SLOT}, -count(*) FROM deleted GROUP BY tenant_id
    ON CONFLICT (tenant_id, resource, slot) DO UPDATE SET n = {COUNTS}.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION scim_api_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {COUNTS} WHERE resource = TG_ARGV[0];
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("scim_api", "0010_change_feed_tenant_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="scimresourcecount",
            name="writes",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
