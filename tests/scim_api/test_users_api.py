"""Users endpoint: the request shapes Azure AD sends and RFC 7644 semantics."""

import pytest

from scim_api.models import ScimUser
from tests.factories import azure_user

pytestmark = pytest.mark.django_db

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def create(scim, user_name="alice@contoso.com", **extra):
    response = scim.post("/Users", azure_user(user_name, **extra))
    assert response.status_code == 201, response.json()
    return response.json()


def patch(scim, user_id, *operations, **kw):
    return scim.patch(
        f"/Users/{user_id}", {"schemas": [PATCH], "Operations": list(operations)}, **kw
    )


def test_create_returns_201_with_id_meta_location_and_etag(scim):
    response = scim.post("/Users", azure_user())

    assert response.status_code == 201
    body = response.json()
    assert body["userName"] == "alice@contoso.com"
    assert body["emails"] == [{"primary": True, "type": "work", "value": "alice@contoso.com"}]
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["location"].endswith(f"/t/acme/scim/v2/Users/{body['id']}")
    assert response["Location"] == body["meta"]["location"]
    assert response["ETag"] == body["meta"]["version"] == 'W/"1"'
    assert response["Content-Type"].startswith("application/scim+json")
    assert "password" not in body


def test_username_is_unique_case_insensitively_409(scim):
    create(scim)

    response = scim.post("/Users", azure_user("ALICE@CONTOSO.COM"))

    assert response.status_code == 409
    body = response.json()
    assert body["scimType"] == "uniqueness"
    assert "already exists" in body["detail"]
    assert "duplicate key" not in body["detail"]
    assert ScimUser.objects.count() == 1


def test_matching_query_with_no_hit_is_200_empty_list(scim):
    response = scim.get('/Users?filter=userName eq "7f3c0d1e-1234-4bd7-9a1e-0e0f7c7b2f3a"')

    assert response.status_code == 200
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_filter_username_is_case_insensitive(scim):
    created = create(scim)

    body = scim.get("/Users?filter=userName+eq+%22ALICE%40contoso.com%22").json()

    assert body["totalResults"] == 1
    assert body["Resources"][0]["id"] == created["id"]


def test_default_dialect_update_shapes(scim):
    user = create(scim)

    response = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "T@test.microsoft.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0100"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["displayName"] == "Pvlo"
    assert body["emails"][0]["value"] == "T@test.microsoft.com"
    assert body["name"]["givenName"] == "Gtfd"
    assert body["name"]["familyName"] == "Pkqf"
    assert body["externalId"] == "Eqpj"
    assert body[ENTERPRISE]["employeeNumber"] == "Eqpj"
    assert ENTERPRISE in body["schemas"]
    assert body["nickName"] == "Babs"
    assert {"type": "mobile", "value": "+1 555 0100"}.items() <= body["phoneNumbers"][0].items()
    assert body["meta"]["version"] == 'W/"2"'


def test_flag_dialect_pathless_replace_with_dotted_keys(scim):
    user = create(scim)

    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "M@test.microsoft.com"},
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
    )

    body = response.json()
    assert response.status_code == 200
    assert body["displayName"] == "Bjfe"
    assert body["name"]["givenName"] == "Kkom"
    assert body["name"]["familyName"] == "Unua"
    assert body[ENTERPRISE]["employeeNumber"] == "Aklq"
    assert body["emails"][0]["value"] == "M@test.microsoft.com"


@pytest.mark.parametrize(("value", "expected"), [("False", False), (False, False)])
def test_disable_and_reenable_keep_the_user_findable(scim, value, expected):
    user = create(scim)

    assert (
        patch(scim, user["id"], {"op": "Replace", "path": "active", "value": value}).json()[
            "active"
        ]
        is expected
    )
    assert scim.get(f"/Users/{user['id']}").json()["active"] is False
    found = scim.get('/Users?filter=userName eq "alice@contoso.com"').json()
    assert found["totalResults"] == 1
    assert found["Resources"][0]["active"] is False
    assert (
        patch(scim, user["id"], {"op": "Replace", "path": "active", "value": "True"}).json()[
            "active"
        ]
        is True
    )


@pytest.mark.parametrize(
    "value_of",
    [
        lambda mid: mid,
        lambda mid: {"value": mid},
        lambda mid: [{"value": mid}],
        lambda mid: [{"$ref": f"http://x/Users/{mid}", "value": mid}],
    ],
    ids=["string", "object", "array", "array-with-ref"],
)
def test_manager_set_change_remove_in_every_shape(scim, value_of):
    user = create(scim)
    boss = create(scim, "boss@contoso.com", displayName="The Boss")
    other = create(scim, "other@contoso.com")

    body = patch(
        scim,
        user["id"],
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": value_of(boss["id"])},
    ).json()
    assert body[ENTERPRISE]["manager"] == {
        "value": boss["id"],
        "$ref": f"http://testserver/t/acme/scim/v2/Users/{boss['id']}",
        "displayName": "The Boss",
    }
    body = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": value_of(other["id"])},
    ).json()
    assert body[ENTERPRISE]["manager"]["value"] == other["id"]
    body = patch(scim, user["id"], {"op": "Remove", "path": f"{ENTERPRISE}:manager"}).json()
    assert "manager" not in body.get(ENTERPRISE, {})


def test_manager_of_another_tenant_is_refused(scim, other_scim):
    user = create(scim)
    foreign = other_scim.post("/Users", azure_user("x@other.com")).json()

    response = patch(
        scim, user["id"], {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": foreign["id"]}
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_deleting_a_manager_clears_the_reference(scim):
    user = create(scim)
    boss = create(scim, "boss@contoso.com")
    patch(scim, user["id"], {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]})

    assert scim.delete(f"/Users/{boss['id']}").status_code == 204

    assert "manager" not in scim.get(f"/Users/{user['id']}").json().get(ENTERPRISE, {})


def test_hard_delete_then_get_is_404(scim):
    user = create(scim)

    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    response = scim.get(f"/Users/{user['id']}")

    assert response.status_code == 404
    assert response.json()["status"] == "404"
    assert scim.delete(f"/Users/{user['id']}").status_code == 404


def test_put_replaces_the_resource(scim):
    user = create(scim)

    response = scim.put(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "alice@contoso.com",
            "displayName": "Alice",
            "active": True,
        },
    )

    body = response.json()
    assert response.status_code == 200
    assert body["displayName"] == "Alice"
    assert "emails" not in body
    assert "externalId" not in body


def test_password_is_write_only_and_hashed(scim):
    response = scim.post("/Users", azure_user(password="Sup3r-secret!"))

    assert "password" not in response.json()
    stored = ScimUser.objects.get()
    assert stored.password.startswith(("pbkdf2", "md5", "argon2"))
    assert "Sup3r-secret!" not in str(stored.data)


def test_custom_extension_attributes_are_stored_and_returned(scim):
    ext = "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User"
    user = create(scim, **{ext: {"costCode": "CC-1"}})

    assert scim.get(f"/Users/{user['id']}").json()[ext] == {"costCode": "CC-1"}
    body = patch(scim, user["id"], {"op": "Add", "path": f"{ext}:costCode", "value": "CC-2"})
    assert body.json()[ext]["costCode"] == "CC-2"


def test_etags_if_match_and_if_none_match(scim):
    user = create(scim)
    etag = scim.get(f"/Users/{user['id']}")["ETag"]

    assert scim.get(f"/Users/{user['id']}", headers={"If-None-Match": etag}).status_code == 304
    stale = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": "displayName", "value": "A"},
        headers={"If-Match": 'W/"99"'},
    )
    assert stale.status_code == 412
    assert stale.json()["status"] == "412"
    ok = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": "displayName", "value": "A"},
        headers={"If-Match": etag},
    )
    assert ok.status_code == 200
    assert scim.delete(f"/Users/{user['id']}", headers={"If-Match": etag}).status_code == 412


def test_paging_sorting_and_projection(scim):
    for i in range(5):
        create(scim, f"user{i}@contoso.com", displayName=f"User {4 - i}")

    page = scim.get(
        "/Users?startIndex=2&count=2&sortBy=displayName&sortOrder=descending&attributes=displayName"
    ).json()

    assert page["totalResults"] == 5
    assert page["startIndex"] == 2
    assert page["itemsPerPage"] == 2
    assert [r["displayName"] for r in page["Resources"]] == ["User 3", "User 2"]
    assert set(page["Resources"][0]) == {"schemas", "id", "displayName"}
    excluded = scim.get("/Users?excludedAttributes=emails,name.givenName&count=1").json()
    resource = excluded["Resources"][0]
    assert "emails" not in resource
    assert "givenName" not in resource["name"]
    assert "familyName" in resource["name"]


def test_count_is_capped_and_start_index_below_one_means_one(scim, settings):
    settings.SCIM_MAX_PAGE_SIZE = 3
    for i in range(5):
        create(scim, f"user{i}@contoso.com")

    page = scim.get("/Users?count=1000&startIndex=0").json()

    assert page["itemsPerPage"] == 3
    assert page["startIndex"] == 1
    assert scim.get("/Users?count=0").json()["Resources"] == []


def test_search_endpoint(scim):
    create(scim)
    create(scim, "bob@contoso.com")

    response = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "bob"',
            "attributes": ["userName"],
        },
    )

    assert response.status_code == 200
    assert [r["userName"] for r in response.json()["Resources"]] == ["bob@contoso.com"]


def test_lenient_paths_in_tolerant_mode_only(scim, tenant):
    user = create(scim)

    assert scim.get(f"/users/{user['id']}/").status_code == 200
    assert scim.get('/USERS?filter=userName eq "alice@contoso.com"').json()["totalResults"] == 1
    tenant.scim_compatibility = "strict"
    tenant.save()
    assert scim.get(f"/users/{user['id']}/").status_code == 404
    assert scim.get(f"/Users/{user['id']}").status_code == 200
