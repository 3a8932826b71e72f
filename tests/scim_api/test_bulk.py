"""POST /Bulk (RFC 7644 §3.7)."""

import pytest

from scim_api.models import ScimGroupMember, ScimUser
from tests.factories import azure_group, azure_user

pytestmark = pytest.mark.django_db

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def bulk(scim, operations, **extra):
    return scim.post("/Bulk", {"schemas": [BULK], "Operations": operations, **extra})


def test_bulk_creates_with_bulk_id_references_in_any_order(scim):
    response = bulk(
        scim,
        [
            # The group names users created later in the same request.
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": azure_group(members=[{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]),
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": azure_user("a@contoso.com"),
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u2",
                "data": azure_user("b@contoso.com"),
            },
        ],
    )

    assert response.status_code == 200
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201", "201"]
    assert all(r["location"].startswith("http://testserver/t/acme/scim/v2/") for r in results)
    assert ScimGroupMember.objects.count() == 2


def test_bulk_operations_fail_independently_and_fail_on_errors_stops(scim):
    scim.post("/Users", azure_user("taken@contoso.com"))

    response = bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "a",
                "data": azure_user("taken@contoso.com"),
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "b",
                "data": azure_user("new@contoso.com"),
            },
            {"method": "DELETE", "path": "/Users/00000000-0000-0000-0000-000000000000"},
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "c",
                "data": azure_user("late@contoso.com"),
            },
        ],
        failOnErrors=2,
    )

    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["409", "201", "404"]
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert set(ScimUser.objects.values_list("user_name", flat=True)) == {
        "taken@contoso.com",
        "new@contoso.com",
    }


def test_bulk_patch_put_delete(scim):
    user = scim.post("/Users", azure_user()).json()

    results = bulk(
        scim,
        [
            {
                "method": "PATCH",
                "path": f"/Users/{user['id']}",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
                },
            },
            {
                "method": "PUT",
                "path": f"/Users/{user['id']}",
                "version": 'W/"1"',
                "data": azure_user(),
            },
            {"method": "DELETE", "path": f"/Users/{user['id']}"},
        ],
    ).json()["Operations"]

    assert [r["status"] for r in results] == ["200", "412", "204"]
    assert not ScimUser.objects.exists()


def test_unresolvable_bulk_id_is_an_operation_error(scim):
    results = bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": azure_group(members=[{"value": "bulkId:nope"}]),
            },
        ],
    ).json()["Operations"]

    assert results[0]["status"] == "409"
    assert "nope" in results[0]["response"]["detail"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"schemas": [BULK]}, 400, "Operations"),
        ({"schemas": [BULK], "Operations": [{"method": "GET", "path": "/Users"}]}, 200, None),
        ({"schemas": [BULK], "Operations": [{}] * 1001}, 413, "maximum"),
        (
            {
                "schemas": [BULK],
                "Operations": [{"method": "POST", "path": "/Users"}],
                "failOnErrors": 0,
            },
            400,
            "failOnErrors",
        ),
    ],
)
def test_bulk_bad_input(scim, body, status, detail):
    response = scim.post("/Bulk", body)

    assert response.status_code == status
    if detail:
        assert detail in response.json()["detail"]
    else:
        assert response.json()["Operations"][0]["status"] == "400"


def test_an_operation_with_a_non_string_bulk_id_or_a_version_fails_alone_with_400(scim):
    user = scim.post("/Users", azure_user()).json()

    results = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": {"a": 1},
                    "data": azure_user("b@c.d"),
                },
                {"method": "DELETE", "path": f"/Users/{user['id']}", "version": 5},
            ],
        },
    ).json()["Operations"]

    assert [r["status"] for r in results] == ["400", "400"]
    assert ScimUser.objects.count() == 1
