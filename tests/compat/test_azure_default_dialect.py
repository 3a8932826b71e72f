"""Azure AD (Entra ID) conversations in its default PATCH dialect, replayed over real HTTP.

Each test is one flow of the provisioning service, step by step in the order Entra sends the
requests (reference: entra-scim-behaviour.md §1.1–1.5): capitalised ``op`` values, one operation
per attribute, value-filtered paths, booleans as ``"True"``/``"False"`` strings, group members
removed by a value list.
"""

from __future__ import annotations

import pytest

from tests.compat.support import (
    ADSCIM_GROUP,
    CORE_GROUP,
    CORE_USER,
    EMPTY_LIST,
    ENTERPRISE,
    assert_meta,
    eq,
    list_of,
    no_content,
    not_found,
    provision_user,
    random_guid,
    scim_body,
)
from tests.factories import azure_group, azure_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "matching_attribute", ["userName", "externalId", 'emails[type eq "work"].value']
)
def test_test_connection_probes_get_empty_list_responses(azure, matching_attribute):
    # given: a tenant with a user and a group, neither of which can match a random GUID
    provision_user(azure, "alice@contoso.com")
    scim_body(azure.post("/Groups", azure_group()), 201)

    # when: Test Connection queries a random GUID on the matching attribute, then on groups
    users = azure.get("/Users", filter=eq(matching_attribute, random_guid()))
    groups = azure.get(
        "/Groups", excludedAttributes="members", filter=eq("displayName", random_guid())
    )

    # then: 200 with an empty ListResponse, never 404
    assert scim_body(users, 200) == EMPTY_LIST
    assert scim_body(groups, 200) == EMPTY_LIST


def test_test_connection_with_a_wrong_token_is_401_with_a_scim_error(azure):
    azure.token = "not-a-token"

    response = azure.get("/Users", filter=eq("userName", random_guid()))

    body = scim_body(response, 401)
    assert body["status"] == "401"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_user_create_flow(azure):
    # 1. random-GUID probe at the start of the cycle
    probe = azure.get("/Users", filter=eq("userName", random_guid()))
    assert scim_body(probe, 200) == EMPTY_LIST

    # 2. matching query on userName: no hit
    match = azure.get("/Users", filter=eq("userName", "alice@contoso.com"))
    assert match.request.url.query == b"filter=userName+eq+%22alice%40contoso.com%22"
    assert scim_body(match, 200) == EMPTY_LIST

    # 3. POST with the mapped attributes (enterprise attributes under their URN)
    created_response = azure.post(
        "/Users",
        azure_user(
            "alice@contoso.com",
            displayName="Alice Smith",
            **{ENTERPRISE: {"employeeNumber": "1001", "department": "Sales"}},
        ),
    )
    created = scim_body(created_response, 201)
    user_id = created["id"]
    location = azure.location("Users", user_id)
    assert created == {
        "schemas": [CORE_USER, ENTERPRISE],
        "id": user_id,
        "userName": "alice@contoso.com",
        "externalId": "alice",
        "active": True,
        "displayName": "Alice Smith",
        "emails": [{"primary": True, "type": "work", "value": "alice@contoso.com"}],
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        ENTERPRISE: {"employeeNumber": "1001", "department": "Sales"},
        "meta": created["meta"],
    }
    assert_meta(created, resource_type="User", location=location)
    assert created_response.headers["Location"] == location
    assert created_response.headers["ETag"] == created["meta"]["version"]

    # 4. from now on Entra addresses the user by the cached id
    assert scim_body(azure.get(f"/Users/{user_id}"), 200) == created

    # 5. the next cycle's matching query finds exactly that user
    match = azure.get("/Users", filter=eq("userName", "alice@contoso.com"))
    assert scim_body(match, 200) == list_of(created)

    # 6. a second create of the same userName (say, a lost response) is a 409 uniqueness
    duplicate = scim_body(azure.post("/Users", azure_user("ALICE@contoso.com")), 409)
    assert duplicate["scimType"] == "uniqueness"
    assert duplicate["status"] == "409"


def test_user_update_shapes(azure):
    user = provision_user(azure, "alice@contoso.com")
    user_id = user["id"]
    assert scim_body(azure.get(f"/Users/{user_id}"), 200) == user

    # when: one operation per attribute — Replace for values that exist, Add for new ones
    first = azure.patch(
        f"/Users/{user_id}",
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "Pvlo@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Sales"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Add", "path": "title", "value": "Engineer"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0100"},
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555 0199"},
        {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
        {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Way"},
    )

    # then: 200 with the resource, every element created where no element of the type existed
    body = scim_body(first, 200)
    assert body == {
        "schemas": [CORE_USER, ENTERPRISE],
        "id": user_id,
        "userName": "alice@contoso.com",
        "externalId": "Eqpj",
        "active": True,
        "displayName": "Pvlo",
        "nickName": "Babs",
        "title": "Engineer",
        "emails": [{"primary": True, "type": "work", "value": "Pvlo@contoso.com"}],
        "name": {"formatted": "Alice Smith", "familyName": "Pkqf", "givenName": "Gtfd"},
        "phoneNumbers": [
            {"type": "mobile", "value": "+1 555 0100"},
            {"type": "work", "value": "+1 555 0199"},
        ],
        "addresses": [{"type": "work", "postalCode": "98052", "streetAddress": "1 Way"}],
        ENTERPRISE: {"employeeNumber": "Eqpj", "department": "Sales"},
        "meta": body["meta"],
    }
    assert body["meta"]["version"] != user["meta"]["version"]
    assert scim_body(azure.get(f"/Users/{user_id}"), 200) == body

    # when: the next cycle replaces values that now exist (no second element of a type)
    second = azure.patch(
        f"/Users/{user_id}",
        {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0101"},
        {"op": "Replace", "path": 'addresses[type eq "work"].postalCode', "value": "98053"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Marketing"},
    )

    body = scim_body(second, 200)
    assert body["phoneNumbers"] == [
        {"type": "mobile", "value": "+1 555 0101"},
        {"type": "work", "value": "+1 555 0199"},
    ]
    assert body["addresses"] == [{"type": "work", "postalCode": "98053", "streetAddress": "1 Way"}]
    assert body[ENTERPRISE] == {"employeeNumber": "Eqpj", "department": "Marketing"}
    assert scim_body(azure.get(f"/Users/{user_id}"), 200) == body

    # and: the user is still found by every attribute Entra may match on
    for attribute, value in [
        ("userName", "alice@contoso.com"),
        ("externalId", "Eqpj"),
        ('emails[type eq "work"].value', "Pvlo@contoso.com"),
    ]:
        assert scim_body(azure.get("/Users", filter=eq(attribute, value)), 200) == list_of(body)


def test_disable_and_reenable_with_string_booleans(azure):
    user = provision_user(azure, "alice@contoso.com")
    user_id = user["id"]

    # when: unassigned from the app → soft delete with the string "False"
    disabled = scim_body(
        azure.patch(f"/Users/{user_id}", {"op": "Replace", "path": "active", "value": "False"}),
        200,
    )

    # then: inactive, and still returned by id and by the matching query
    assert disabled["active"] is False
    assert {k: v for k, v in disabled.items() if k not in ("active", "meta")} == {
        k: v for k, v in user.items() if k not in ("active", "meta")
    }
    assert scim_body(azure.get(f"/Users/{user_id}"), 200) == disabled
    match = azure.get("/Users", filter=eq("userName", "alice@contoso.com"))
    assert scim_body(match, 200) == list_of(disabled)

    # when: assigned again → re-enable with the string "True"
    enabled = scim_body(
        azure.patch(f"/Users/{user_id}", {"op": "Replace", "path": "active", "value": "True"}),
        200,
    )

    assert enabled["active"] is True
    assert scim_body(azure.get(f"/Users/{user_id}"), 200) == enabled


def test_manager_set_change_and_remove(azure):
    user = provision_user(azure, "alice@contoso.com")
    boss = provision_user(azure, "boss@contoso.com", displayName="Bob Boss")
    other = provision_user(azure, "carol@contoso.com", displayName="Carol Chief")
    path = f"/Users/{user['id']}"
    manager_path = f"{ENTERPRISE}:manager"

    def manager_of(manager: dict) -> dict:
        return {
            "value": manager["id"],
            "$ref": azure.location("Users", manager["id"]),
            "displayName": manager["displayName"],
        }

    # set: reference resolution sends the manager's target id as a plain string
    body = scim_body(
        azure.patch(path, {"op": "Add", "path": manager_path, "value": boss["id"]}), 200
    )
    assert body[ENTERPRISE] == {"manager": manager_of(boss)}
    assert ENTERPRISE in body["schemas"]
    assert "manager" not in body
    assert scim_body(azure.get(path), 200) == body
    # the $ref is a real, dereferenceable URL
    assert (
        scim_body(
            azure.http.get(
                body[ENTERPRISE]["manager"]["$ref"],
                headers={"Authorization": f"Bearer {azure.token}"},
            ),
            200,
        )["id"]
        == boss["id"]
    )

    # the legacy reference check filters on id and manager together (the one use of `and`)
    check = azure.get("/Users", filter=f"{eq('id', user['id'])} and {eq('manager', boss['id'])}")
    assert scim_body(check, 200) == list_of(body)
    stale = azure.get("/Users", filter=f"{eq('id', user['id'])} and {eq('manager', other['id'])}")
    assert scim_body(stale, 200) == EMPTY_LIST

    # change: as an RFC complex object
    body = scim_body(
        azure.patch(path, {"op": "Replace", "path": manager_path, "value": {"value": other["id"]}}),
        200,
    )
    assert body[ENTERPRISE] == {"manager": manager_of(other)}

    # change: Microsoft's documented (older) shape — unqualified path, one-element array
    body = scim_body(
        azure.patch(
            path,
            {
                "op": "Add",
                "path": "manager",
                "value": [{"$ref": azure.location("Users", boss["id"]), "value": boss["id"]}],
            },
        ),
        200,
    )
    assert body[ENTERPRISE] == {"manager": manager_of(boss)}
    assert scim_body(azure.get(path), 200) == body

    # remove: Replace with an empty value
    body = scim_body(azure.patch(path, {"op": "Replace", "path": manager_path, "value": ""}), 200)
    assert "manager" not in body.get(ENTERPRISE, {})
    assert scim_body(azure.get(path), 200) == body

    # set again, then remove the RFC way
    azure.patch(path, {"op": "Add", "path": manager_path, "value": other["id"]})
    body = scim_body(azure.patch(path, {"op": "Remove", "path": manager_path}), 200)
    assert "manager" not in body.get(ENTERPRISE, {})
    assert scim_body(azure.get(path), 200) == body


def test_hard_delete(azure):
    user = provision_user(azure, "alice@contoso.com")
    group = scim_body(azure.post("/Groups", azure_group()), 201)
    no_content(
        azure.patch(
            f"/Groups/{group['id']}",
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]},
        )
    )

    # when: the user is permanently deleted in Entra
    no_content(azure.delete(f"/Users/{user['id']}"))

    # then: gone by id and by filter, and from the group it was in
    not_found(azure.get(f"/Users/{user['id']}"))
    assert scim_body(azure.get("/Users", filter=eq("userName", "alice@contoso.com")), 200) == (
        EMPTY_LIST
    )
    assert scim_body(azure.get(f"/Groups/{group['id']}"), 200)["members"] == []
    not_found(azure.delete(f"/Users/{user['id']}"))


def test_group_flow(azure):
    users = [provision_user(azure, f"user{i}@contoso.com") for i in range(4)]
    ids = [u["id"] for u in users]

    def members(*user_ids: str) -> list[dict]:
        return sorted(
            (
                {
                    "value": uid,
                    "$ref": azure.location("Users", uid),
                    "display": next(u["userName"] for u in users if u["id"] == uid),
                    "type": "User",
                }
                for uid in user_ids
            ),
            key=lambda m: m["value"],
        )

    def current_members(group_id: str) -> list[dict]:
        body = scim_body(azure.get(f"/Groups/{group_id}"), 200)
        return sorted(body["members"], key=lambda m: m["value"])

    # 1. probe and match: no group of that name, members never returned
    probe = azure.get("/Groups", excludedAttributes="members", filter=eq("displayName", "Eng"))
    assert probe.request.url.query == b"excludedAttributes=members&filter=displayName+eq+%22Eng%22"
    assert scim_body(probe, 200) == EMPTY_LIST

    # 2. create without members, with the historical ADSCIM URN in schemas
    body = azure_group("Eng")
    assert ADSCIM_GROUP in body["schemas"]
    created = scim_body(azure.post("/Groups", body), 201)
    group_id = created["id"]
    assert created == {
        "schemas": [CORE_GROUP],
        "id": group_id,
        "displayName": "Eng",
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "members": [],
        "meta": created["meta"],
    }
    assert_meta(created, resource_type="Group", location=azure.location("Groups", group_id))
    without_members = {k: v for k, v in created.items() if k != "members"}

    # 3. retrieve and match without members
    known = azure.get(f"/Groups/{group_id}", excludedAttributes="members")
    assert scim_body(known, 200) == without_members
    match = azure.get("/Groups", excludedAttributes="members", filter=eq("displayName", "Eng"))
    assert scim_body(match, 200) == list_of(without_members)

    # 4. several members added in one PATCH → 204, no body
    no_content(
        azure.patch(
            f"/Groups/{group_id}",
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": i} for i in ids]},
        )
    )
    assert current_members(group_id) == members(*ids)
    assert scim_body(azure.get(f"/Users/{ids[0]}"), 200)["groups"] == [
        {
            "value": group_id,
            "$ref": azure.location("Groups", group_id),
            "display": "Eng",
            "type": "direct",
        }
    ]

    # a later cycle re-sends a member that is already there: 204, no duplicate row
    no_content(
        azure.patch(
            f"/Groups/{group_id}",
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": ids[0]}]},
        )
    )
    assert current_members(group_id) == members(*ids)

    # 5. members removed by a value list: only those go, the others stay
    no_content(
        azure.patch(
            f"/Groups/{group_id}",
            {"op": "Remove", "path": "members", "value": [{"value": ids[0]}, {"value": ids[1]}]},
        )
    )
    assert current_members(group_id) == members(ids[2], ids[3])

    # 6. rename → 204; found under the new name only
    no_content(
        azure.patch(f"/Groups/{group_id}", {"op": "Replace", "path": "displayName", "value": "R&D"})
    )
    renamed = scim_body(azure.get(f"/Groups/{group_id}", excludedAttributes="members"), 200)
    assert renamed["displayName"] == "R&D"
    match = azure.get("/Groups", excludedAttributes="members", filter=eq("displayName", "R&D"))
    assert match.request.url.query.endswith(b"filter=displayName+eq+%22R%26D%22")
    assert scim_body(match, 200) == list_of(renamed)
    old = azure.get("/Groups", excludedAttributes="members", filter=eq("displayName", "Eng"))
    assert scim_body(old, 200) == EMPTY_LIST
    assert current_members(group_id) == members(ids[2], ids[3])

    # 7. delete → 204; the group is gone, its members are not
    no_content(azure.delete(f"/Groups/{group_id}"))
    not_found(azure.get(f"/Groups/{group_id}"))
    assert scim_body(azure.get("/Groups", filter=eq("displayName", "R&D")), 200) == EMPTY_LIST
    for uid in ids:
        assert "groups" not in scim_body(azure.get(f"/Users/{uid}"), 200)


def test_unquoted_filter_value_from_old_samples(azure):
    user = provision_user(azure, "jyoung@contoso.com")

    response = azure.get("/Users", filter="externalId eq jyoung")

    assert scim_body(response, 200) == list_of(user)


def test_app_role_assignment_shapes(azure):
    # given: POST carries the role of SingleAppRoleAssignment
    role = {"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}
    user = provision_user(azure, "alice@contoso.com", roles=[role])
    assert user["roles"] == [role]
    path = f"/Users/{user['id']}"

    # when: the role changes, addressed with a string "True" in the value filter
    body = scim_body(
        azure.patch(
            path, {"op": "Replace", "path": 'roles[primary eq "True"].value', "value": "User"}
        ),
        200,
    )
    assert body["roles"] == [{**role, "value": "User"}]

    # when: AppRoleAssignmentsComplex adds a role whose value is a JSON-encoded string
    encoded = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1"}'
    body = scim_body(
        azure.patch(path, {"op": "Add", "path": "roles", "value": [{"value": encoded}]}), 200
    )

    # then: stored exactly as sent, next to the first one
    assert body["roles"] == [{**role, "value": "User"}, {"value": encoded}]
    assert scim_body(azure.get(path), 200) == body


def test_default_mapping_paths_with_capitalised_sub_attributes(azure):
    # The documented default mapping writes `.Value` and `.Formatted` (capitalised).
    user = provision_user(azure, "alice@contoso.com")

    body = scim_body(
        azure.patch(
            f"/Users/{user['id']}",
            {"op": "Add", "path": 'emails[type eq "other"].Value', "value": "al@contoso.net"},
            {"op": "Add", "path": 'addresses[type eq "other"].Formatted', "value": "Bldg 1"},
            {"op": "Add", "path": 'phoneNumbers[type eq "fax"].value', "value": "+1 555 0111"},
        ),
        200,
    )

    assert body["emails"] == [
        {"primary": True, "type": "work", "value": "alice@contoso.com"},
        {"type": "other", "value": "al@contoso.net"},
    ]
    assert body["addresses"] == [{"type": "other", "formatted": "Bldg 1"}]
    assert body["phoneNumbers"] == [{"type": "fax", "value": "+1 555 0111"}]
    assert scim_body(azure.get(f"/Users/{user['id']}"), 200) == body


def test_account_discovery_pages_through_every_user(azure):
    # given: five users, one of them disabled (still listed)
    created = [provision_user(azure, f"user{i}@contoso.com") for i in range(5)]
    azure.patch(f"/Users/{created[2]['id']}", {"op": "Replace", "path": "active", "value": "False"})

    # when: pages of two from startIndex 1 until totalResults is reached
    seen, start = [], 1
    while True:
        page = scim_body(azure.get("/Users", startIndex=str(start), count="2"), 200)
        assert page["totalResults"] == 5
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"]) == min(2, 5 - start + 1)
        seen += [r["id"] for r in page["Resources"]]
        start += page["itemsPerPage"]
        if start > page["totalResults"]:
            break

    # then: every user exactly once
    assert sorted(seen) == sorted(u["id"] for u in created)
    past_the_end = scim_body(azure.get("/Users", startIndex="6", count="2"), 200)
    assert past_the_end["Resources"] == []
    assert past_the_end["totalResults"] == 5
