"""``normalize_resource``: the canonical document of a POST or PUT body (Azure AD's included),
its password and members apart; any JSON body only ever raises a SCIM error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim_api.errors import InvalidSyntax, InvalidValue, ScimError
from scim_api.patch import normalize_resource
from scim_api.policy import AZURE_AD_TOLERANT, STRICT_RFC
from scim_api.schema import ENTERPRISE_USER
from tests.scim_api.patch_support import ADSCIM_GROUP, CORE_USER, CUSTOM, JSON, POLICIES

AZURE_POST_USER = {
    "schemas": [CORE_USER, ENTERPRISE_USER],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_00aa00aa@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    },
    "roles": [],
}


def test_normalize_azure_user_post():
    # given Azure AD's documented user POST
    # when it is normalised
    document, password, members = normalize_resource(
        AZURE_POST_USER, resource_type="User", policy=AZURE_AD_TOLERANT
    )

    # then meta is dropped, the empty roles list is absent, and the rest is kept
    assert document == {
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_00aa00aa@testuser.com"}],
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
    }
    assert password is None
    assert members is None


def test_normalize_azure_user_post_is_valid_under_strict_policy_too():
    document, _, _ = normalize_resource(AZURE_POST_USER, resource_type="User", policy=STRICT_RFC)
    assert document["userName"] == "Test_User_00aa00aa"


def test_normalize_azure_group_post():
    # given Azure AD's documented group POST with the ADSCIM URN
    payload = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", ADSCIM_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }

    # when it is normalised
    document, password, members = normalize_resource(
        payload, resource_type="Group", policy=AZURE_AD_TOLERANT
    )

    # then the document has no meta and no members were sent
    assert document == {
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
    }
    assert (password, members) == (None, None)


def test_normalize_group_with_members():
    payload = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "G",
        "members": [{"value": "a", "display": "A"}, {"value": "b"}, {"value": "a"}],
    }
    document, _, members = normalize_resource(payload, resource_type="Group", policy=STRICT_RFC)
    assert document == {"displayName": "G"}
    assert members == [{"value": "a"}, {"value": "b"}]


def test_normalize_canonicalises_names_values_and_extensions():
    # given a body in every loose shape clients send
    payload = {
        "schemas": [CORE_USER],
        "id": "client-id",
        "USERNAME": "bob",
        "Active": "False",
        "nickName": None,
        "groups": [{"value": "g"}],
        "password": "p4ss",
        "emails": [{"value": "b@x", "primary": "True", "display": None}],
        ENTERPRISE_USER: {"manager": "m-1", "department": None, "employeeNumber": "9"},
        CUSTOM: {"shoeSize": 44, "nested": {"a": 1}},
        f"{CUSTOM}:badge": "B",
        "name.givenName": "Bob",
    }

    # when it is normalised under the tolerant policy
    document, password, _ = normalize_resource(
        payload, resource_type="User", policy=AZURE_AD_TOLERANT
    )

    # then names are canonical, nulls absent, readOnly dropped, password apart
    assert document == {
        "userName": "bob",
        "active": False,
        "emails": [{"value": "b@x", "primary": True}],
        ENTERPRISE_USER: {"manager": {"value": "m-1"}, "employeeNumber": "9"},
        CUSTOM: {"shoeSize": 44, "nested": {"a": 1}, "badge": "B"},
        "name": {"givenName": "Bob"},
    }
    assert password == "p4ss"


@pytest.mark.parametrize(
    ("resource_type", "payload", "missing"),
    [
        ("User", {"schemas": [CORE_USER], "displayName": "x"}, "userName"),
        ("User", {"schemas": [CORE_USER], "userName": None}, "userName"),
        ("User", {"schemas": [CORE_USER], "userName": ""}, "userName"),
        ("Group", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}, "displayName"),
    ],
)
def test_normalize_requires_required_attributes(resource_type, payload, missing):
    with pytest.raises(InvalidValue, match=missing):
        normalize_resource(payload, resource_type=resource_type, policy=AZURE_AD_TOLERANT)


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ({"userName": "a"}, InvalidSyntax, "schemas"),
        ({"schemas": ["urn:x"], "userName": "a"}, InvalidValue, CORE_USER),
        ({"schemas": [CORE_USER], "userName": "a", "shoe": 1}, InvalidValue, "shoe"),
        (
            {"schemas": [CORE_USER], "userName": "a", "emails": {"value": "x"}},
            InvalidValue,
            "array",
        ),
        ({"schemas": [CORE_USER], "userName": "a", "active": "True"}, InvalidValue, "boolean"),
        (
            {"schemas": [CORE_USER], "userName": "a", ENTERPRISE_USER: {"manager": "m"}},
            InvalidValue,
            "manager",
        ),
        ({"schemas": [CORE_USER], "userName": "a", ENTERPRISE_USER: "x"}, InvalidValue, "object"),
        ({"schemas": "x", "userName": "a"}, InvalidSyntax, "array"),
    ],
)
def test_normalize_strict_errors(payload, error, message):
    with pytest.raises(error, match=message):
        normalize_resource(payload, resource_type="User", policy=STRICT_RFC)


def test_normalize_rejects_a_non_object():
    with pytest.raises(InvalidSyntax):
        normalize_resource([], resource_type="User", policy=AZURE_AD_TOLERANT)


@settings(max_examples=200, deadline=None)
@given(payload=JSON, policy=POLICIES, resource_type=st.sampled_from(["User", "Group"]))
def test_arbitrary_resource_bodies_only_raise_scim_errors(payload, policy, resource_type):
    try:
        normalize_resource(payload, resource_type=resource_type, policy=policy)
    except ScimError:
        pass
