"""Groups endpoint: Azure AD's group flow, membership semantics and their cost."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from scim_api.models import ScimGroup, ScimGroupMember, ScimUser
from tests.factories import ScimTokenFactory, ScimUserFactory, azure_group, azure_user
from tests.scim_api.support import ScimClient

pytestmark = pytest.mark.django_db

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def make_users(scim, n, prefix="user"):
    return [
        scim.post("/Users", azure_user(f"{prefix}{i}@contoso.com")).json()["id"] for i in range(n)
    ]


def make_group(scim, name="Engineering", **extra):
    response = scim.post("/Groups", azure_group(name, **extra))
    assert response.status_code == 201, response.json()
    return response.json()


def patch(scim, group_id, *operations, path_suffix=""):
    return scim.patch(
        f"/Groups/{group_id}{path_suffix}", {"schemas": [PATCH], "Operations": list(operations)}
    )


def member_ids(scim, group_id):
    return sorted(m["value"] for m in scim.get(f"/Groups/{group_id}").json().get("members", []))


def test_azure_group_flow(scim):
    users = make_users(scim, 3)
    found = scim.get('/Groups?excludedAttributes=members&filter=displayName eq "Engineering"')
    assert found.json()["totalResults"] == 0

    group = make_group(scim)
    assert group["members"] == []
    assert "ADSCIM" not in str(group["schemas"])

    add = patch(
        scim,
        group["id"],
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u} for u in users]},
    )
    assert add.status_code == 204
    assert add.content == b""
    assert member_ids(scim, group["id"]) == sorted(users)

    without = scim.get(f"/Groups/{group['id']}?excludedAttributes=members").json()
    assert "members" not in without

    # Default dialect: remove by a value list removes only those members.
    remove = patch(
        scim, group["id"], {"op": "Remove", "path": "members", "value": [{"value": users[0]}]}
    )
    assert remove.status_code == 204
    assert member_ids(scim, group["id"]) == sorted(users[1:])

    # Flag dialect: remove with a value filter path.
    patch(scim, group["id"], {"op": "remove", "path": f'members[value eq "{users[1]}"]'})
    assert member_ids(scim, group["id"]) == [users[2]]

    rename = patch(scim, group["id"], {"op": "Replace", "path": "displayName", "value": "Eng"})
    assert rename.status_code == 204
    assert scim.get(f"/Groups/{group['id']}").json()["displayName"] == "Eng"

    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert scim.get(f"/Groups/{group['id']}").status_code == 404


def test_remove_with_empty_value_list_never_empties_the_group(scim):
    users = make_users(scim, 2)
    group = make_group(scim)
    patch(
        scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": u} for u in users]}
    )

    patch(scim, group["id"], {"op": "Remove", "path": "members", "value": []})

    assert member_ids(scim, group["id"]) == sorted(users)


def test_patch_with_attributes_returns_the_group(scim):
    group = make_group(scim)

    response = patch(
        scim,
        group["id"],
        {"op": "Replace", "path": "displayName", "value": "X"},
        path_suffix="?attributes=displayName",
    )

    assert response.status_code == 200
    assert response.json()["displayName"] == "X"


def test_display_name_unique_per_tenant_409(scim, other_scim):
    make_group(scim)

    duplicate = scim.post("/Groups", azure_group("ENGINEERING"))

    assert duplicate.status_code == 409
    assert duplicate.json()["scimType"] == "uniqueness"
    assert other_scim.post("/Groups", azure_group("Engineering")).status_code == 201


def test_members_must_belong_to_the_tenant(scim, other_scim):
    group = make_group(scim)
    foreign_user = other_scim.post("/Users", azure_user("x@other.com")).json()["id"]

    response = patch(
        scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": foreign_user}]}
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert not ScimGroupMember.objects.exists()


def test_nested_group_is_a_single_member(scim):
    users = make_users(scim, 1)
    parent = make_group(scim, "Parent")
    child = make_group(scim, "Child", externalId="c")
    patch(scim, child["id"], {"op": "Add", "path": "members", "value": [{"value": users[0]}]})

    patch(scim, parent["id"], {"op": "Add", "path": "members", "value": [{"value": child["id"]}]})

    members = scim.get(f"/Groups/{parent['id']}").json()["members"]
    assert members == [
        {
            "value": child["id"],
            "type": "Group",
            "display": "Child",
            "$ref": f"http://testserver/t/acme/scim/v2/Groups/{child['id']}",
        }
    ]


def test_user_groups_attribute_is_computed(scim):
    users = make_users(scim, 1)
    group = make_group(scim)
    patch(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": users[0]}]})

    groups = scim.get(f"/Users/{users[0]}").json()["groups"]

    assert groups[0]["value"] == group["id"]
    assert groups[0]["display"] == "Engineering"
    filtered = scim.get(f'/Users?filter=groups.value eq "{group["id"]}"').json()
    assert filtered["totalResults"] == 1


def test_adding_one_member_costs_the_same_whatever_the_group_size(scim, tenant):
    small = make_group(scim, "Small")
    big = make_group(scim, "Big")
    users = make_users(scim, 2, prefix="new")
    # A big group, inserted directly: 3,000 members.
    bulk = ScimUser.objects.bulk_create(ScimUserFactory.build_batch(3000, tenant=tenant))
    ScimGroupMember.objects.bulk_create(
        ScimGroupMember(tenant=tenant, group_id=big["id"], user=u) for u in bulk
    )

    def queries_to_add(group_id, user_id):
        with CaptureQueriesContext(connection) as ctx:
            response = patch(
                scim, group_id, {"op": "Add", "path": "members", "value": [{"value": user_id}]}
            )
        assert response.status_code == 204
        return [q["sql"] for q in ctx.captured_queries]

    small_queries = queries_to_add(small["id"], users[0])
    big_queries = queries_to_add(big["id"], users[1])

    assert len(small_queries) == len(big_queries)
    # No statement reads the member list.
    assert not any(
        'FROM "scim_api_scimgroupmember"' in q and "SELECT" in q[:10] for q in big_queries
    )
    assert ScimGroupMember.objects.filter(group_id=big["id"]).count() == 3001


@pytest.mark.django_db(transaction=True)
def test_concurrent_member_adds_lose_nothing(client, tenant):
    token = ScimTokenFactory(tenant=tenant).plaintext
    scim = ScimClient(Client(), tenant, token)
    users = make_users(scim, 24)
    group = make_group(scim)
    errors = []

    def add(chunk):
        local = ScimClient(Client(), tenant, token)
        for user_id in chunk:
            response = patch(
                local, group["id"], {"op": "Add", "path": "members", "value": [{"value": user_id}]}
            )
            if response.status_code != 204:
                errors.append(response.content)
        connection.close()

    threads = [threading.Thread(target=add, args=(users[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ScimGroupMember.objects.filter(group_id=group["id"]).count() == 24
    assert ScimGroup.objects.get(pk=group["id"]).version == 25


def test_deleting_a_member_gives_its_groups_a_new_etag(scim):
    user = scim.post("/Users", azure_user()).json()
    group = scim.post("/Groups", azure_group(members=[{"value": user["id"]}])).json()
    etag = scim.get(f"/Groups/{group['id']}")["ETag"]

    scim.delete(f"/Users/{user['id']}")

    response = scim.get(f"/Groups/{group['id']}", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.json()["members"] == []
