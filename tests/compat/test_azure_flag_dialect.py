"""Azure AD (Entra ID) conversations with the ``aadOptscim062020`` feature flag, replayed over
real HTTP.

The admin typed the Tenant URL as ``…/scim/v2?aadOptscim062020``, and the client forwards that
query string on every request (``/Users?aadOptscim062020&filter=…``). The flag's dialect
(entra-scim-behaviour.md §1.3, §1.5, §1.7): lowercase ``op`` values, simple attributes combined
into one path-less ``replace`` whose value has flat dotted / URN-qualified keys, booleans as JSON
booleans, and a member removed with ``members[value eq "<id>"]`` and no value.
"""

from __future__ import annotations

import pytest

from tests.compat.support import (
    CORE_GROUP,
    CORE_USER,
    EMPTY_LIST,
    ENTERPRISE,
    FLAG,
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


def test_the_flag_is_forwarded_on_every_request(azure_flag):
    response = azure_flag.get("/Users", filter=eq("userName", "alice@contoso.com"))

    assert response.request.url.query == (
        f"{FLAG}&filter=userName+eq+%22alice%40contoso.com%22".encode()
    )
    assert scim_body(response, 200) == EMPTY_LIST


def test_test_connection_probes_get_empty_list_responses(azure_flag):
    provision_user(azure_flag, "alice@contoso.com")

    users = azure_flag.get("/Users", filter=eq("userName", random_guid()))
    groups = azure_flag.get(
        "/Groups", excludedAttributes="members", filter=eq("displayName", random_guid())
    )
    listing = azure_flag.get("/Users")  # nothing but the flag

    assert scim_body(users, 200) == EMPTY_LIST
    assert scim_body(groups, 200) == EMPTY_LIST
    assert scim_body(listing, 200)["totalResults"] == 1


def test_user_create_flow(azure_flag):
    probe = azure_flag.get("/Users", filter=eq("userName", random_guid()))
    assert scim_body(probe, 200) == EMPTY_LIST
    match = azure_flag.get("/Users", filter=eq("userName", "alice@contoso.com"))
    assert scim_body(match, 200) == EMPTY_LIST

    response = azure_flag.post(
        "/Users", azure_user("alice@contoso.com", **{ENTERPRISE: {"employeeNumber": "1001"}})
    )

    created = scim_body(response, 201)
    user_id = created["id"]
    assert created == {
        "schemas": [CORE_USER, ENTERPRISE],
        "id": user_id,
        "userName": "alice@contoso.com",
        "externalId": "alice",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "alice@contoso.com"}],
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        ENTERPRISE: {"employeeNumber": "1001"},
        "meta": created["meta"],
    }
    # the flag is Azure AD's, not part of the resource's address
    assert_meta(created, resource_type="User", location=azure_flag.location("Users", user_id))
    assert FLAG not in response.headers["Location"]
    assert scim_body(azure_flag.get(f"/Users/{user_id}"), 200) == created
    match = azure_flag.get("/Users", filter=eq("userName", "alice@contoso.com"))
    assert scim_body(match, 200) == list_of(created)


def test_user_update_shapes(azure_flag):
    user = provision_user(azure_flag, "alice@contoso.com")
    user_id = user["id"]
    assert scim_body(azure_flag.get(f"/Users/{user_id}"), 200) == user

    # when: filtered multi-valued paths stay separate ops; simple attributes are combined into
    # one path-less replace with flat dotted / URN keys; a new single value is a lowercase add
    first = azure_flag.patch(
        f"/Users/{user_id}",
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "Mhv@contoso.com"},
        {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0100"},
        {"op": "add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "externalId": "Aklq",
                "title": "Engineer",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
                f"{ENTERPRISE}:department": "Sales",
            },
        },
        {"op": "add", "path": "nickName", "value": "Babs"},
    )

    body = scim_body(first, 200)
    assert body == {
        "schemas": [CORE_USER, ENTERPRISE],
        "id": user_id,
        "userName": "alice@contoso.com",
        "externalId": "Aklq",
        "active": True,
        "displayName": "Bjfe",
        "nickName": "Babs",
        "title": "Engineer",
        "emails": [{"primary": True, "type": "work", "value": "Mhv@contoso.com"}],
        "name": {"formatted": "Alice Smith", "familyName": "Unua", "givenName": "Kkom"},
        "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
        "addresses": [{"type": "work", "postalCode": "98052"}],
        ENTERPRISE: {"employeeNumber": "Aklq", "department": "Sales"},
        "meta": body["meta"],
    }
    # (the exact body above also proves no flat key was stored as a literal attribute name)
    assert scim_body(azure_flag.get(f"/Users/{user_id}"), 200) == body

    # when: the next change touches one nested and one extension attribute only
    second = azure_flag.patch(
        f"/Users/{user_id}",
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0101"},
        {
            "op": "replace",
            "value": {"name.familyName": "Smith-Unua", f"{ENTERPRISE}:department": "Marketing"},
        },
    )

    body = scim_body(second, 200)
    assert body["phoneNumbers"] == [{"type": "mobile", "value": "+1 555 0101"}]
    assert body["name"] == {
        "formatted": "Alice Smith",
        "familyName": "Smith-Unua",
        "givenName": "Kkom",
    }
    assert body[ENTERPRISE] == {"employeeNumber": "Aklq", "department": "Marketing"}
    assert scim_body(azure_flag.get(f"/Users/{user_id}"), 200) == body
    match = azure_flag.get("/Users", filter=eq('emails[type eq "work"].value', "Mhv@contoso.com"))
    assert scim_body(match, 200) == list_of(body)


def test_disable_and_reenable_with_json_booleans(azure_flag):
    user = provision_user(azure_flag, "alice@contoso.com")
    user_id = user["id"]

    disabled = scim_body(
        azure_flag.patch(f"/Users/{user_id}", {"op": "replace", "path": "active", "value": False}),
        200,
    )

    assert disabled["active"] is False
    assert scim_body(azure_flag.get(f"/Users/{user_id}"), 200) == disabled
    match = azure_flag.get("/Users", filter=eq("userName", "alice@contoso.com"))
    assert scim_body(match, 200) == list_of(disabled)

    enabled = scim_body(
        azure_flag.patch(f"/Users/{user_id}", {"op": "replace", "path": "active", "value": True}),
        200,
    )

    assert enabled["active"] is True
    assert scim_body(azure_flag.get(f"/Users/{user_id}"), 200) == enabled


def test_manager_set_change_and_remove(azure_flag):
    user = provision_user(azure_flag, "alice@contoso.com")
    boss = provision_user(azure_flag, "boss@contoso.com", displayName="Bob Boss")
    other = provision_user(azure_flag, "carol@contoso.com", displayName="Carol Chief")
    path = f"/Users/{user['id']}"
    manager_path = f"{ENTERPRISE}:manager"

    def manager_of(manager: dict) -> dict:
        return {
            "value": manager["id"],
            "$ref": azure_flag.location("Users", manager["id"]),
            "displayName": manager["displayName"],
        }

    # set: lowercase add, the manager's id as a plain string
    body = scim_body(
        azure_flag.patch(path, {"op": "add", "path": manager_path, "value": boss["id"]}), 200
    )
    assert body[ENTERPRISE] == {"manager": manager_of(boss)}
    assert "manager" not in body
    assert scim_body(azure_flag.get(path), 200) == body

    # change: a one-element array
    body = scim_body(
        azure_flag.patch(
            path, {"op": "replace", "path": manager_path, "value": [{"value": other["id"]}]}
        ),
        200,
    )
    assert body[ENTERPRISE] == {"manager": manager_of(other)}
    assert scim_body(azure_flag.get(path), 200) == body

    # remove
    body = scim_body(azure_flag.patch(path, {"op": "remove", "path": manager_path}), 200)
    assert "manager" not in body.get(ENTERPRISE, {})
    assert scim_body(azure_flag.get(path), 200) == body


def test_hard_delete(azure_flag):
    user = provision_user(azure_flag, "alice@contoso.com")

    no_content(azure_flag.delete(f"/Users/{user['id']}"))

    not_found(azure_flag.get(f"/Users/{user['id']}"))
    match = azure_flag.get("/Users", filter=eq("userName", "alice@contoso.com"))
    assert scim_body(match, 200) == EMPTY_LIST


def test_group_flow(azure_flag):
    users = [provision_user(azure_flag, f"user{i}@contoso.com") for i in range(4)]
    ids = [u["id"] for u in users]

    def current_member_ids(group_id: str) -> list[str]:
        body = scim_body(azure_flag.get(f"/Groups/{group_id}"), 200)
        return sorted(m["value"] for m in body["members"])

    probe = azure_flag.get("/Groups", excludedAttributes="members", filter=eq("displayName", "Eng"))
    assert scim_body(probe, 200) == EMPTY_LIST

    created = scim_body(azure_flag.post("/Groups", azure_group("Eng")), 201)
    group_id = created["id"]
    assert created == {
        "schemas": [CORE_GROUP],
        "id": group_id,
        "displayName": "Eng",
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "members": [],
        "meta": created["meta"],
    }
    without_members = {k: v for k, v in created.items() if k != "members"}
    match = azure_flag.get("/Groups", excludedAttributes="members", filter=eq("displayName", "Eng"))
    assert scim_body(match, 200) == list_of(without_members)

    # several members added in one PATCH
    no_content(
        azure_flag.patch(
            f"/Groups/{group_id}",
            {"op": "add", "path": "members", "value": [{"$ref": None, "value": i} for i in ids]},
        )
    )
    assert current_member_ids(group_id) == sorted(ids)

    # members removed one filtered path each, no value: only those go
    no_content(
        azure_flag.patch(
            f"/Groups/{group_id}",
            {"op": "remove", "path": f'members[value eq "{ids[0]}"]'},
            {"op": "remove", "path": f'members[value eq "{ids[1]}"]'},
        )
    )
    assert current_member_ids(group_id) == sorted(ids[2:])

    # rename as a path-less replace
    no_content(
        azure_flag.patch(f"/Groups/{group_id}", {"op": "replace", "value": {"displayName": "R&D"}})
    )
    renamed = scim_body(azure_flag.get(f"/Groups/{group_id}", excludedAttributes="members"), 200)
    assert renamed["displayName"] == "R&D"
    assert "members" not in renamed
    match = azure_flag.get("/Groups", excludedAttributes="members", filter=eq("displayName", "R&D"))
    assert scim_body(match, 200) == list_of(renamed)
    assert current_member_ids(group_id) == sorted(ids[2:])

    no_content(azure_flag.delete(f"/Groups/{group_id}"))
    not_found(azure_flag.get(f"/Groups/{group_id}"))
    for uid in ids:
        scim_body(azure_flag.get(f"/Users/{uid}"), 200)
