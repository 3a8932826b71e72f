"""The schema the migrations build is the schema the models declare, and none of its indexes is
paid for without being used.

Django gives every foreign key an index of its own. Where a composite index or a unique
constraint already starts with that column, PostgreSQL uses the longer one wherever it would
use the shorter, and the shorter is only written: one more index entry on every insert, and on
every update that changes an indexed column (then no update of the row is HOT and each of its
indexes gets an entry). Such keys are declared with ``db_index=False``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db

OUR_APPS = ("elium_portal", "scim_api", "provisioning")

#: A plain btree index (no expression, no predicate, not unique) and another btree index of the
#: same table, without a predicate, whose first columns are its columns, with the same operator
#: classes, collations and orders.
REDUNDANT_SQL = """
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, i.indisunique AS is_unique,
           i.indexprs IS NULL AS no_expressions, i.indpred IS NULL AS no_predicate,
           string_to_array(i.indkey::text, ' ')::int[] AS keys,
           string_to_array(i.indclass::text, ' ')::oid[] AS classes,
           string_to_array(i.indcollation::text, ' ')::oid[] AS collations,
           string_to_array(i.indoption::text, ' ')::int[] AS options,
           am.amname AS method
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    WHERE i.indrelid::regclass::text = ANY(%s)
)
SELECT a.indrelid::regclass::text, a.indexrelid::regclass::text, b.indexrelid::regclass::text
FROM idx a JOIN idx b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
WHERE a.method = 'btree' AND b.method = 'btree'
  AND NOT a.is_unique AND a.no_expressions AND a.no_predicate AND b.no_predicate
  AND NOT 0 = ANY(a.keys)
  AND b.keys[1:cardinality(a.keys)] = a.keys
  AND b.classes[1:cardinality(a.keys)] = a.classes
  AND b.collations[1:cardinality(a.keys)] = a.collations
  AND b.options[1:cardinality(a.keys)] = a.options
  -- of two identical indexes, one is reported
  AND (cardinality(b.keys) > cardinality(a.keys) OR b.is_unique OR a.indexrelid > b.indexrelid)
ORDER BY 1, 2, 3
"""


def _our_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for label in OUR_APPS
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed
    )


def redundant_indexes() -> list[tuple[str, str, str]]:
    """(table, index, the index that makes it redundant) on this project's tables."""
    with connection.cursor() as cursor:
        cursor.execute(REDUNDANT_SQL, [_our_tables()])
        return cursor.fetchall()


def test_no_index_is_the_leading_part_of_another():
    assert redundant_indexes() == []


def test_the_check_finds_an_index_another_one_starts_with():
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE INDEX "probe_tenant_created" ON "scim_api_scimuser" ("tenant_id", "created")'
        )
        cursor.execute('CREATE INDEX "probe_tenant" ON "scim_api_scimgroup" ("tenant_id")')
        # Not redundant: another order, another operator class, or a partial covering index.
        cursor.execute('CREATE INDEX "probe_created" ON "scim_api_scimuser" ("created", "id")')
        cursor.execute(
            'CREATE INDEX "probe_name" ON "scim_api_scimuser" ("user_name" varchar_pattern_ops)'
        )
        cursor.execute(
            'CREATE INDEX "probe_partial" ON "scim_api_scimuser" ("active", "id") WHERE "active"'
        )
        cursor.execute('CREATE INDEX "probe_active" ON "scim_api_scimuser" ("active")')
    found = {(table, index) for table, index, _ in redundant_indexes()}
    assert found == {
        ("scim_api_scimuser", "probe_tenant_created"),
        ("scim_api_scimgroup", "probe_tenant"),
    }


def test_every_model_change_has_its_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:  # what --check does when a migration is missing
        pytest.fail(f"makemigrations --check exited {exit_.code}:\n{out.getvalue()}")
