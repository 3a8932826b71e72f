"""Azure AD's group PATCHes — members added, or members removed, nothing else — are each one
statement: every id checked, the memberships written, each recorded in the change feed and the
group's version bumped, all or nothing. What a bad id leaves behind is nothing at all.

Real commits (``transaction=True``): in production the statement is its own transaction, so
nothing but the statement itself can undo what it wrote."""

import uuid

import pytest

from scim_api.models import ScimChange, ScimGroup, ScimGroupMember
from tests.factories import ScimGroupFactory, ScimUserFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def members_patch(scim, group, op, *ids):
    return scim.patch(
        f"/Groups/{group.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": op, "path": "members", "value": [{"value": str(i)} for i in ids]}
            ],
        },
    )


def state(group):
    group.refresh_from_db()
    members = set(
        ScimGroupMember.objects.filter(group=group).values_list("user_id", "member_group_id")
    )
    return members, group.version, ScimChange.objects.filter(group_id=group.id).count()


def test_users_and_a_nested_group_are_added_and_each_recorded(scim, tenant):
    group, child = ScimGroupFactory(tenant=tenant), ScimGroupFactory(tenant=tenant)
    alice, bob = ScimUserFactory(tenant=tenant), ScimUserFactory(tenant=tenant)

    response = members_patch(scim, group, "Add", alice.id, bob.id, child.id)

    assert response.status_code == 204
    assert response["ETag"] == 'W/"2"'
    members, version, recorded = state(group)
    assert members == {(alice.id, None), (bob.id, None), (None, child.id)}
    assert (version, recorded) == (2, 3)
    kinds = set(ScimChange.objects.filter(group_id=group.id).values_list("kind", flat=True))
    assert kinds == {ScimChange.Kind.MEMBER_ADDED}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("unknown", "No user or group of this tenant has the id"),
        ("not-a-uuid", "No user or group of this tenant has the id 'not-a-uuid'"),
        ("other tenant", "No user or group of this tenant has the id"),
        ("itself", "A group cannot be a member of itself."),
    ],
)
def test_one_bad_id_adds_nothing_at_all(scim, tenant, bad, message):
    group = ScimGroupFactory(tenant=tenant)
    alice = ScimUserFactory(tenant=tenant)
    bad_id = {
        "unknown": uuid.uuid4(),
        "not-a-uuid": "not-a-uuid",
        "other tenant": ScimUserFactory(tenant=TenantFactory(slug="elsewhere")).id,
        "itself": group.id,
    }[bad]

    response = members_patch(scim, group, "Add", alice.id, bad_id)

    assert response.status_code == 400
    body = response.json()
    assert body["scimType"] == "invalidValue"
    assert message in body["detail"]
    assert state(group) == (set(), 1, 0)


def test_adding_a_member_already_there_changes_nothing(scim, tenant):
    group, alice = ScimGroupFactory(tenant=tenant), ScimUserFactory(tenant=tenant)
    members_patch(scim, group, "Add", alice.id)

    response = members_patch(scim, group, "Add", alice.id)

    assert response.status_code == 204
    assert response["ETag"] == 'W/"2"'  # the version of the first add: no new one
    assert state(group) == ({(alice.id, None)}, 2, 1)


def test_removing_members_records_only_those_that_were_there(scim, tenant):
    group = ScimGroupFactory(tenant=tenant)
    alice, bob, carol = (ScimUserFactory(tenant=tenant) for _ in range(3))
    members_patch(scim, group, "Add", alice.id, bob.id)

    response = members_patch(scim, group, "Remove", alice.id, carol.id, "not-a-uuid")

    assert response.status_code == 204
    members, version, recorded = state(group)
    assert members == {(bob.id, None)}
    assert (version, recorded) == (3, 3)  # two adds, one removal
    assert ScimChange.objects.filter(kind=ScimChange.Kind.MEMBER_REMOVED).get().object_id == (
        alice.id
    )

    again = members_patch(scim, group, "Remove", alice.id)

    assert again.status_code == 204
    assert state(group) == ({(bob.id, None)}, 3, 3)


def test_a_member_change_of_another_tenants_group_is_a_404(scim, tenant, other_scim):
    foreign = ScimGroupFactory(tenant=other_scim.tenant)
    alice = ScimUserFactory(tenant=tenant)

    response = members_patch(scim, foreign, "Add", alice.id)

    assert response.status_code == 404
    assert not ScimGroupMember.objects.exists()
    assert ScimGroup.objects.get(pk=foreign.pk).version == 1
