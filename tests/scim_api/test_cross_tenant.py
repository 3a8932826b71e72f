"""A token of tenant A never reads or changes anything of tenant B — on every endpoint."""

import pytest

from elium_portal.models import ScimToken
from scim_api.models import ScimGroup, ScimGroupMember, ScimUser
from tests.factories import azure_group, azure_user

pytestmark = pytest.mark.django_db

PATCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "displayName", "value": "Hacked"}],
}


@pytest.fixture
def theirs(other_scim):
    user = other_scim.post("/Users", azure_user("victim@other.com")).json()
    group = other_scim.post("/Groups", azure_group("Victims")).json()
    other_scim.patch(
        f"/Groups/{group['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": user["id"]}]}],
        },
    )
    return {"user": user["id"], "group": group["id"]}


def test_other_tenants_resources_are_404_for_every_method(scim, theirs):
    for kind, resource_id in (("Users", theirs["user"]), ("Groups", theirs["group"])):
        path = f"/{kind}/{resource_id}"
        assert scim.get(path).status_code == 404
        assert scim.patch(path, PATCH).status_code == 404
        assert (
            scim.put(path, azure_user("x@y.z") if kind == "Users" else azure_group("X")).status_code
            == 404
        )
        assert scim.delete(path).status_code == 404

    assert ScimUser.objects.get(id=theirs["user"]).display_name == ""
    assert ScimGroup.objects.get(id=theirs["group"]).display_name == "Victims"


def test_lists_searches_and_filters_never_show_other_tenants(scim, theirs):
    scim.post("/Users", azure_user("mine@acme.com"))

    for path in [
        "/Users",
        "/Groups",
        '/Users?filter=userName eq "victim@other.com"',
        f'/Users?filter=id eq "{theirs["user"]}"',
        '/Users?filter=userName eq "victim@other.com" or userName pr',
        f'/Groups?filter=members.value eq "{theirs["user"]}"',
    ]:
        resources = scim.get(path).json()["Resources"]
        assert all(r["id"] not in theirs.values() for r in resources), path
    search = scim.post(
        "/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    ).json()
    assert all(r["id"] not in theirs.values() for r in search["Resources"])


def test_bulk_cannot_reach_other_tenants(scim, theirs):
    results = scim.post(
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "DELETE", "path": f"/Users/{theirs['user']}"},
                {"method": "PATCH", "path": f"/Groups/{theirs['group']}", "data": PATCH},
            ],
        },
    ).json()["Operations"]

    assert [r["status"] for r in results] == ["404", "404"]
    assert ScimUser.objects.filter(id=theirs["user"]).exists()


def test_references_to_other_tenants_are_refused(scim, theirs):
    group = scim.post("/Groups", azure_group("Mine")).json()

    as_member = scim.post("/Groups", azure_group("Other", members=[{"value": theirs["user"]}]))
    as_group_member = scim.patch(
        f"/Groups/{group['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": theirs["group"]}]}],
        },
    )

    assert as_member.status_code == 400
    assert as_group_member.status_code == 400
    assert ScimGroupMember.objects.filter(group_id=group["id"]).count() == 0


def test_discovery_with_another_tenants_token_is_401(scim, other_scim):
    for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Users", "/Bulk"]:
        response = scim.client.get(
            f"{other_scim.base}{path}", HTTP_AUTHORIZATION=f"Bearer {scim.token}"
        )
        assert response.status_code == 401, path


def test_token_used_against_another_tenant_is_not_recorded_as_used(scim, other_scim):
    response = other_scim.client.get(
        f"{other_scim.base}/Users", HTTP_AUTHORIZATION=f"Bearer {scim.token}"
    )

    assert response.status_code == 401
    token = ScimToken.objects.get(tenant=scim.tenant)
    assert token.last_used_at is None
    assert not token.addresses.exists()
