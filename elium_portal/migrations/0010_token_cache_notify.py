"""Notify the SCIM token caches (elium_portal/services/token_cache.py) of every committed change
to a token or a tenant.

Statement-level triggers on the tenant table and on token inserts, deletes and truncates; on
token updates a row-level trigger whose ``WHEN`` ignores the once-a-minute ``last_used_at`` /
``last_used_ip`` bookkeeping, so that a token in use does not empty every process's cache once a
minute. Comparing the rows as JSON minus those two columns keeps a column added later covered.
PostgreSQL delivers a notification only on commit, and one per transaction for a repeated
channel and payload.
"""

from django.db import migrations

FUNCTION = "elium_scim_token_cache_notify"
CHANNEL = "elium_scim_token_cache"  # token_cache.CHANNEL, written out: a migration is frozen
BOOKKEEPING = "- 'last_used_at' - 'last_used_ip'"

FORWARD = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER token_cache_tenant_change
    AFTER INSERT OR UPDATE OR DELETE ON elium_portal_tenant
    FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}();
CREATE TRIGGER token_cache_tenant_truncate
    AFTER TRUNCATE ON elium_portal_tenant
    FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}();

CREATE TRIGGER token_cache_token_insert_delete
    AFTER INSERT OR DELETE ON elium_portal_scimtoken
    FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}();
CREATE TRIGGER token_cache_token_truncate
    AFTER TRUNCATE ON elium_portal_scimtoken
    FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}();
CREATE TRIGGER token_cache_token_update
    AFTER UPDATE ON elium_portal_scimtoken
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) {BOOKKEEPING}) IS DISTINCT FROM (to_jsonb(NEW) {BOOKKEEPING}))
    EXECUTE FUNCTION {FUNCTION}();
"""

REVERSE = f"""
DROP TRIGGER IF EXISTS token_cache_token_update ON elium_portal_scimtoken;
DROP TRIGGER IF EXISTS token_cache_token_truncate ON elium_portal_scimtoken;
DROP TRIGGER IF EXISTS token_cache_token_insert_delete ON elium_portal_scimtoken;
DROP TRIGGER IF EXISTS token_cache_tenant_truncate ON elium_portal_tenant;
DROP TRIGGER IF EXISTS token_cache_tenant_change ON elium_portal_tenant;
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("elium_portal", "0009_audit_actor_index"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
