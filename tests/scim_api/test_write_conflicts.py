"""A write that PostgreSQL rolls back because it lost a deadlock (or a serialization conflict)
to a concurrent write is run again by the API, whole, instead of answering 503: Azure AD deletes
a user and a group the user is in at the same moment, and the two deletes can deadlock.

The conflict is PostgreSQL's own error, raised by a trigger on the first N attempts (counted
by a sequence, which a rollback does not undo)."""

import pytest
from django.db import connection

from scim_api.api.resources import WRITE_ATTEMPTS
from scim_api.models import ScimChange, ScimUser
from tests.factories import ScimUserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TABLE = ScimUser._meta.db_table


@pytest.fixture
def conflicts():
    """``conflicts(n, sqlstate)``: the next ``n`` updates of a SCIM user fail with ``sqlstate``."""

    def arm(times: int, sqlstate: str = "40P01") -> None:
        with connection.cursor() as cursor:
            cursor.execute("CREATE SEQUENCE IF NOT EXISTS test_write_conflicts")
            cursor.execute("SELECT setval('test_write_conflicts', 1, false)")
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION test_write_conflict() RETURNS trigger AS $$
                BEGIN
                    IF nextval('test_write_conflicts') <= {int(times)} THEN
                        RAISE EXCEPTION 'conflict for the test' USING ERRCODE = '{sqlstate}';
                    END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql"""
            )
            cursor.execute(
                f'CREATE TRIGGER test_write_conflict BEFORE UPDATE ON "{TABLE}" '
                "FOR EACH ROW EXECUTE FUNCTION test_write_conflict()"
            )

    yield arm
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TRIGGER IF EXISTS test_write_conflict ON "{TABLE}"')
        cursor.execute("DROP FUNCTION IF EXISTS test_write_conflict()")
        cursor.execute("DROP SEQUENCE IF EXISTS test_write_conflicts")


def _rename(scim, user, name: str):
    return scim.patch(
        f"/Users/{user.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": name}],
        },
    )


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])  # deadlock, serialization failure
def test_a_write_that_lost_a_conflict_is_run_again(scim, tenant, conflicts, sqlstate):
    user = ScimUserFactory(tenant=tenant, display_name="Before")
    conflicts(WRITE_ATTEMPTS - 1, sqlstate)

    response = _rename(scim, user, "After")

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert (user.display_name, user.version) == ("After", 2)  # written once
    assert ScimChange.objects.filter(object_id=user.id).count() == 1


def test_a_write_that_keeps_losing_is_a_503_and_changes_nothing(scim, tenant, conflicts):
    user = ScimUserFactory(tenant=tenant, display_name="Before")
    conflicts(WRITE_ATTEMPTS)

    response = _rename(scim, user, "After")

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    user.refresh_from_db()
    assert (user.display_name, user.version) == ("Before", 1)
    assert not ScimChange.objects.filter(object_id=user.id).exists()


def test_other_database_errors_are_not_run_again(scim, tenant, conflicts):
    user = ScimUserFactory(tenant=tenant, display_name="Before")
    conflicts(1, "57014")  # query_canceled: an OperationalError, but no lost conflict

    assert _rename(scim, user, "After").status_code == 503
    assert _rename(scim, user, "After").status_code == 200  # the trigger fired once: not retried
