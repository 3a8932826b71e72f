"""A user PATCH or DELETE runs without a transaction of its own: it reads the user, and
writes on the condition that the version is still the one it read. A writer that commits in
between must never be overwritten: the PATCH is applied again to what that writer left, the
DELETE reads again, and only the write that happened is recorded in the change feed.

The concurrent writer is a real second connection that commits between the request's read and
its write (hooked into a call the service makes in between)."""

import psycopg
import pytest
from django.db import connection

from scim_api.models import ScimChange, ScimGroupMember, ScimUser
from scim_api.services import users as user_services
from tests.factories import ScimGroupFactory, ScimUserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _other_connection():
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context"):
        params.pop(key, None)
    return psycopg.connect(**params, autocommit=True)


@pytest.fixture
def interleave(monkeypatch):
    """``interleave(sql, params, times, after=…)``: run ``sql`` on another connection,
    committed, right after each of the next ``times`` calls of the service's ``after`` (made
    between its read and its write); returns the list of calls."""

    def arm(sql: str, params: list, times: int = 1, after: str = "apply_patch") -> list[int]:
        calls = []
        original = getattr(user_services, after)

        def call_then_interfere(*args, **kwargs):
            result = original(*args, **kwargs)
            calls.append(1)
            if len(calls) <= times:
                with _other_connection() as other:
                    other.execute(sql, params)
            return result

        monkeypatch.setattr(user_services, after, call_then_interfere)
        return calls

    return arm


def _patch(scim, user, operations, **kwargs):
    return scim.patch(
        f"/Users/{user.id}", {"schemas": [PATCH_OP], "Operations": operations}, **kwargs
    )


def test_a_concurrent_write_is_kept_and_the_patch_applied_on_top(scim, tenant, interleave):
    user = ScimUserFactory(tenant=tenant, display_name="Before", data={"title": "Analyst"})
    calls = interleave(
        'UPDATE scim_api_scimuser SET data = data || \'{"title": "Manager"}\', '
        "version = version + 1 WHERE id = %s",
        [user.id],
    )

    response = _patch(scim, user, [{"op": "replace", "path": "displayName", "value": "After"}])

    assert response.status_code == 200, response.content
    assert len(calls) == 2  # applied to the first read, then again to the concurrent result
    user.refresh_from_db()
    assert user.display_name == "After"
    assert user.data["title"] == "Manager"  # the concurrent writer's change survived
    assert user.version == 3
    assert response.json()["meta"]["version"] == 'W/"3"'
    # One feed row: the attempt that lost wrote nothing, not even its row.
    changes = ScimChange.objects.filter(object_id=user.id)
    assert changes.count() == 1
    assert [c["attribute"] for c in changes.get().changes] == ["displayName"]


def test_a_patch_that_keeps_losing_takes_the_lock_and_is_written_once(scim, tenant, interleave):
    user = ScimUserFactory(tenant=tenant, display_name="Before")
    calls = interleave(
        "UPDATE scim_api_scimuser SET version = version + 1 WHERE id = %s",
        [user.id],
        times=user_services.OPTIMISTIC_ATTEMPTS,
    )

    response = _patch(scim, user, [{"op": "replace", "path": "displayName", "value": "After"}])

    assert response.status_code == 200, response.content
    assert len(calls) == user_services.OPTIMISTIC_ATTEMPTS + 1
    user.refresh_from_db()
    assert user.display_name == "After"
    assert user.version == 1 + user_services.OPTIMISTIC_ATTEMPTS + 1
    assert ScimChange.objects.filter(object_id=user.id).count() == 1


def test_a_user_deleted_in_between_is_a_404_and_records_nothing(scim, tenant, interleave):
    user = ScimUserFactory(tenant=tenant, display_name="Before")
    interleave("DELETE FROM scim_api_scimuser WHERE id = %s", [user.id])

    response = _patch(scim, user, [{"op": "replace", "path": "displayName", "value": "After"}])

    assert response.status_code == 404
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert not ScimUser.objects.filter(pk=user.pk).exists()
    assert not ScimChange.objects.filter(object_id=user.id).exists()


def test_if_match_is_checked_against_the_version_the_patch_is_applied_to(scim, tenant, interleave):
    """A client's If-Match names the version it saw: a concurrent write in between makes the
    PATCH a 412, never a write over the newer version."""
    user = ScimUserFactory(tenant=tenant, display_name="Before")
    interleave("UPDATE scim_api_scimuser SET version = version + 1 WHERE id = %s", [user.id])

    response = _patch(
        scim,
        user,
        [{"op": "replace", "path": "displayName", "value": "After"}],
        headers={"If-Match": 'W/"1"'},
    )

    assert response.status_code == 412
    user.refresh_from_db()
    assert (user.display_name, user.version) == ("Before", 2)
    assert not ScimChange.objects.filter(object_id=user.id).exists()


def test_a_delete_after_a_concurrent_write_reads_again_and_deletes_once(scim, tenant, interleave):
    group = ScimGroupFactory(tenant=tenant)
    user = ScimUserFactory(tenant=tenant, display_name="Before")
    ScimGroupMember.objects.create(tenant=tenant, group=group, user=user)
    managed = ScimUserFactory(
        tenant=tenant, data={ENTERPRISE: {"manager": {"value": str(user.id)}}}
    )
    calls = interleave(
        "UPDATE scim_api_scimuser SET display_name = 'Renamed', version = version + 1 "
        "WHERE id = %s",
        [user.id],
        after="check_if_match",
    )

    response = scim.delete(f"/Users/{user.id}")

    assert response.status_code == 204
    assert len(calls) == 2
    assert not ScimUser.objects.filter(pk=user.pk).exists()
    assert not ScimGroupMember.objects.filter(user_id=user.pk).exists()
    managed.refresh_from_db()
    assert "manager" not in managed.data.get(ENTERPRISE, {})
    group.refresh_from_db()
    assert group.version == 2
    (change,) = ScimChange.objects.filter(object_id=user.id)
    assert change.kind == ScimChange.Kind.USER_DELETED
    assert change.object_name == "Renamed"  # the name it had when it went


def test_a_delete_that_lost_to_a_stale_if_match_changes_nothing(scim, tenant, interleave):
    group = ScimGroupFactory(tenant=tenant)
    user = ScimUserFactory(tenant=tenant)
    ScimGroupMember.objects.create(tenant=tenant, group=group, user=user)
    interleave(
        "UPDATE scim_api_scimuser SET version = version + 1 WHERE id = %s",
        [user.id],
        after="check_if_match",
    )

    response = scim.delete(f"/Users/{user.id}", headers={"If-Match": 'W/"1"'})

    assert response.status_code == 412
    assert ScimUser.objects.filter(pk=user.pk).exists()
    assert ScimGroupMember.objects.filter(user_id=user.pk).exists()
    group.refresh_from_db()
    assert group.version == 1
    assert not ScimChange.objects.filter(object_id=user.id).exists()


def test_a_delete_racing_a_delete_is_a_404_and_records_nothing(scim, tenant, interleave):
    user = ScimUserFactory(tenant=tenant)
    interleave("DELETE FROM scim_api_scimuser WHERE id = %s", [user.id], after="check_if_match")

    response = scim.delete(f"/Users/{user.id}")

    assert response.status_code == 404
    assert not ScimChange.objects.filter(object_id=user.id).exists()
