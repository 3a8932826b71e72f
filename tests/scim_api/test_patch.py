"""The SCIM PATCH engine and body canonicaliser (``scim_api.patch``): pure functions, no database.

Covers every PATCH shape Azure AD sends in both dialects (default and ``aadOptscim062020``), the
examples of RFC 7644 §3.5.2, each compatibility switch on and off, atomicity, error types, and
property tests over arbitrary JSON.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scim2_models.path import CompareOperator

from scim_api.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
    TooMany,
)
from scim_api.patch import MemberChanges, PatchResult, _Engine, apply_patch, normalize_resource
from scim_api.policy import AZURE_AD_TOLERANT, STRICT_RFC, CompatibilityPolicy
from scim_api.schema import ENTERPRISE_USER, PATCH_OP, USER_RESOURCE, Attribute

CUSTOM = "urn:ietf:params:scim:schemas:extension:Custom:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def body(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user_doc() -> dict:
    """A provisioned user as Azure AD creates it (see the POST example in the reference)."""
    return {
        "userName": "alice@contoso.com",
        "externalId": "0a21f0f2",
        "active": True,
        "displayName": "Alice",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [{"value": "alice@contoso.com", "type": "work", "primary": True}],
        ENTERPRISE_USER: {"department": "Sales"},
    }


def patch_user(doc: dict, *operations: dict, policy: CompatibilityPolicy = AZURE_AD_TOLERANT):
    return apply_patch(doc, body(*operations), resource_type="User", policy=policy)


def patch_group(*operations: dict, policy: CompatibilityPolicy = AZURE_AD_TOLERANT):
    return apply_patch(
        {"displayName": "Sales", "externalId": "8aa1"},
        body(*operations),
        resource_type="Group",
        policy=policy,
    )


def strict_with(switch: str) -> CompatibilityPolicy:
    return dataclasses.replace(STRICT_RFC, **{switch: True})


def tolerant_without(switch: str) -> CompatibilityPolicy:
    return dataclasses.replace(AZURE_AD_TOLERANT, **{switch: False})


# --- Azure AD request replays, both dialects ---------------------------------------------------

UPDATE_DEFAULT = [
    {"op": "Replace", "path": "displayName", "value": "Pvlo"},
    {
        "op": "Replace",
        "path": 'emails[type eq "work"].value',
        "value": "TestBcwqnm@test.microsoft.com",
    },
    {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
    {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
    {"op": "Replace", "path": "externalId", "value": "Eqpj"},
    {"op": "Replace", "path": f"{ENTERPRISE_USER}:employeeNumber", "value": "Eqpj"},
]
UPDATE_FLAG = [
    {
        "op": "replace",
        "path": 'emails[type eq "work"].value',
        "value": "TestBcwqnm@test.microsoft.com",
    },
    {
        "op": "replace",
        "value": {
            "displayName": "Pvlo",
            "name.givenName": "Gtfd",
            "name.familyName": "Pkqf",
            "externalId": "Eqpj",
            f"{ENTERPRISE_USER}:employeeNumber": "Eqpj",
        },
    },
]
UPDATED_USER = {
    **user_doc(),
    "displayName": "Pvlo",
    "externalId": "Eqpj",
    "name": {"givenName": "Gtfd", "familyName": "Pkqf"},
    "emails": [{"value": "TestBcwqnm@test.microsoft.com", "type": "work", "primary": True}],
    ENTERPRISE_USER: {"department": "Sales", "employeeNumber": "Eqpj"},
}
MANAGER_ID = "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"

AZURE_USER_FLOWS = [
    pytest.param(UPDATE_DEFAULT, UPDATED_USER, id="update-default"),
    pytest.param(UPDATE_FLAG, UPDATED_USER, id="update-aadOptscim062020"),
    pytest.param(
        [{"op": "Replace", "path": "active", "value": "False"}],
        {**user_doc(), "active": False},
        id="disable-default",
    ),
    pytest.param(
        [{"op": "replace", "path": "active", "value": False}],
        {**user_doc(), "active": False},
        id="disable-aadOptscim062020",
    ),
    pytest.param(
        [{"op": "Add", "path": "nickName", "value": "Babs"}],
        {**user_doc(), "nickName": "Babs"},
        id="add-attribute-default",
    ),
    pytest.param(
        [{"op": "add", "path": "nickName", "value": "Babs"}],
        {**user_doc(), "nickName": "Babs"},
        id="add-attribute-aadOptscim062020",
    ),
    pytest.param(
        [{"op": "Add", "path": f"{ENTERPRISE_USER}:manager", "value": MANAGER_ID}],
        {**user_doc(), ENTERPRISE_USER: {"department": "Sales", "manager": {"value": MANAGER_ID}}},
        id="manager-default",
    ),
    pytest.param(
        [{"op": "add", "path": f"{ENTERPRISE_USER}:manager", "value": MANAGER_ID}],
        {**user_doc(), ENTERPRISE_USER: {"department": "Sales", "manager": {"value": MANAGER_ID}}},
        id="manager-aadOptscim062020",
    ),
    pytest.param(
        [
            {
                "op": "Add",
                "path": "manager",
                "value": [{"$ref": f"https://x/Users/{MANAGER_ID}", "value": MANAGER_ID}],
            }
        ],
        {**user_doc(), ENTERPRISE_USER: {"department": "Sales", "manager": {"value": MANAGER_ID}}},
        id="manager-microsoft-doc-example",
    ),
    pytest.param(
        [
            {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"},
            {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
        ],
        {
            **user_doc(),
            "phoneNumbers": [{"type": "mobile", "value": "+1 555"}],
            "addresses": [{"type": "work", "postalCode": "98052"}],
        },
        id="filtered-paths-create-elements",
    ),
    pytest.param(
        [{"op": "Add", "path": 'roles[primary eq "True"].value', "value": "Admin"}],
        {**user_doc(), "roles": [{"primary": True, "value": "Admin"}]},
        id="roles-primary-filter",
    ),
    pytest.param(
        [{"op": "Add", "path": "roles", "value": [{"value": '{"id":"1","value":"25"}'}]}],
        {**user_doc(), "roles": [{"value": '{"id":"1","value":"25"}'}]},
        id="roles-json-string-value",
    ),
    pytest.param(
        [
            {
                "op": "replace",
                "path": "roles",
                "value": [
                    {"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "A"}
                ],
            }
        ],
        {
            **user_doc(),
            "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "A"}],
        },
        id="roles-assertive-replace",
    ),
]


@pytest.mark.parametrize(("operations", "expected"), AZURE_USER_FLOWS)
def test_azure_ad_user_patch_shapes_apply(operations, expected):
    # given a provisioned user
    doc = user_doc()

    # when Azure AD's PATCH is applied
    result = patch_user(doc, *operations)

    # then the document is the expected one, and the input is untouched
    assert result.document == expected
    assert result.changed is True
    assert doc == user_doc()


def test_azure_ad_re_enable_with_string_true():
    # given a disabled user
    doc = {**user_doc(), "active": False}

    # when Azure AD re-enables it in its default dialect
    result = patch_user(doc, {"op": "Replace", "path": "active", "value": "True"})

    # then active is the boolean true
    assert result.document["active"] is True


def test_both_dialects_of_the_update_give_the_same_document():
    # given the same change in both dialects
    # when both are applied to the same user
    default = patch_user(user_doc(), *UPDATE_DEFAULT)
    flagged = patch_user(user_doc(), *UPDATE_FLAG)

    # then they agree
    assert default.document == flagged.document


AZURE_GROUP_FLOWS = [
    pytest.param(
        [
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": "u1"}, {"value": "u2"}],
            }
        ],
        MemberChanges(add=["u1", "u2"]),
        id="add-members-default",
    ),
    pytest.param(
        [{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}],
        MemberChanges(add=["u1", "u2"]),
        id="add-members-aadOptscim062020",
    ),
    pytest.param(
        [{"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}],
        MemberChanges(remove=["u1091"]),
        id="remove-member-default",
    ),
    pytest.param(
        [{"op": "remove", "path": 'members[value eq "7f4bc1a3-aaaa"]'}],
        MemberChanges(remove=["7f4bc1a3-aaaa"]),
        id="remove-member-aadOptscim062020",
    ),
]


@pytest.mark.parametrize(("operations", "expected"), AZURE_GROUP_FLOWS)
def test_azure_ad_group_member_shapes_become_member_changes(operations, expected):
    # given a group (members are never in the document)
    # when Azure AD changes its members
    result = patch_group(*operations)

    # then the changes are returned, never applied to the document
    assert result.members == expected
    assert result.document == {"displayName": "Sales", "externalId": "8aa1"}
    assert result.changed is True


@pytest.mark.parametrize("op", ["Replace", "replace"])
def test_azure_ad_group_rename_applies_to_the_document(op):
    # given a group
    # when Azure AD renames it
    result = patch_group({"op": op, "path": "displayName", "value": "Marketing"})

    # then the document changes and no member changes are requested
    assert result.document["displayName"] == "Marketing"
    assert result.members == MemberChanges()


# --- RFC 7644 §3.5.2 examples ------------------------------------------------------------------

BJENSEN = "2819c223-7f76-453a-919d-413861904646"


def test_rfc_add_members():
    # given a group; when the RFC §3.5.2.1 example adds a member
    result = patch_group(
        {
            "op": "add",
            "path": "members",
            "value": [
                {
                    "display": "Babs Jensen",
                    "$ref": f"https://x/v2/Users/{BJENSEN}",
                    "value": BJENSEN,
                }
            ],
        }
    )

    # then its id is to be added
    assert result.members == MemberChanges(add=[BJENSEN])


def test_rfc_pathless_add_with_nested_values():
    # given a user with a work email
    # when the RFC §3.5.2.1 path-less example adds an email and a nickname (note "nickname")
    result = patch_user(
        user_doc(),
        {
            "op": "add",
            "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"},
        },
    )

    # then the email is appended and the attribute takes its canonical spelling
    assert result.document["emails"] == [
        {"value": "alice@contoso.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    assert result.document["nickName"] == "Babs"
    assert "nickname" not in result.document


def test_rfc_remove_one_member_and_all_members():
    # given a group; when one member then all members are removed (RFC §3.5.2.2)
    one = patch_group({"op": "remove", "path": f'members[value eq "{BJENSEN}"]'})
    everyone = patch_group({"op": "remove", "path": "members"})

    # then the first removes that id, the second everything
    assert one.members == MemberChanges(remove=[BJENSEN])
    assert everyone.members == MemberChanges(remove_all=True)


def test_rfc_remove_with_complex_filter():
    # given a user with two work emails and a home email
    doc = {
        **user_doc(),
        "emails": [
            {"value": "a@example.com", "type": "work"},
            {"value": "b@other.org", "type": "work"},
            {"value": "c@example.com", "type": "home"},
        ],
    }

    # when the RFC §3.5.2.2 example removes work emails ending in example.com
    result = patch_user(
        doc, {"op": "remove", "path": 'emails[type eq "work" and value ew "example.com"]'}
    )

    # then only that element goes
    assert [e["value"] for e in result.document["emails"]] == ["b@other.org", "c@example.com"]


def test_rfc_remove_x509_certificate_by_value():
    # given a user with two certificates
    doc = {**user_doc(), "x509Certificates": [{"value": "MIIDQz"}, {"value": "MIIEQz"}]}

    # when one is removed by value filter
    result = patch_user(doc, {"op": "remove", "path": 'x509Certificates[value eq "MIIDQz"]'})

    # then the other remains
    assert result.document["x509Certificates"] == [{"value": "MIIEQz"}]


def test_rfc_remove_then_add_members_in_one_request():
    # given a group; when one member is swapped for another (RFC §3.5.2.2 last example)
    result = patch_group(
        {"op": "remove", "path": f'members[value eq "{BJENSEN}"]'},
        {"op": "add", "path": "members", "value": [{"value": "9"}]},
    )

    # then both changes are returned
    assert result.members == MemberChanges(add=["9"], remove=[BJENSEN])


def test_rfc_replace_members():
    # given a group; when all members are replaced (RFC §3.5.2.3)
    result = patch_group(
        {"op": "replace", "path": "members", "value": [{"value": BJENSEN}, {"value": "9"}]}
    )

    # then the full list is returned as the replacement
    assert result.members == MemberChanges(replace=[BJENSEN, "9"])


def test_rfc_replace_filtered_address_and_sub_attribute():
    # given a user with a work and a home address
    doc = {
        **user_doc(),
        "addresses": [
            {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood"},
            {"type": "home", "streetAddress": "1 Home St"},
        ],
    }

    # when the work address is replaced, then its street changed (RFC §3.5.2.3 examples)
    whole = patch_user(
        doc,
        {
            "op": "replace",
            "path": 'addresses[type eq "work"]',
            "value": {"streetAddress": "1010 Broadway Ave", "postalCode": "91608"},
        },
    )
    street = patch_user(
        doc,
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1010 Ave"},
    )

    # then the work element is replaced (keeping the type the filter pins) / only its street
    assert whole.document["addresses"] == [
        {"type": "work", "streetAddress": "1010 Broadway Ave", "postalCode": "91608"},
        {"type": "home", "streetAddress": "1 Home St"},
    ]
    assert street.document["addresses"][0] == {
        "type": "work",
        "streetAddress": "1010 Ave",
        "locality": "Hollywood",
    }


def test_rfc_pathless_replace_replaces_multi_valued_lists():
    # given a user with a work email
    # when a path-less replace carries an emails list (RFC §3.5.2.3)
    result = patch_user(
        user_doc(),
        {
            "op": "replace",
            "value": {
                "emails": [{"value": "bjensen@example.com", "type": "work"}],
                "nickName": "B",
            },
        },
    )

    # then the list is replaced, not appended to
    assert result.document["emails"] == [{"value": "bjensen@example.com", "type": "work"}]
    assert result.document["nickName"] == "B"


def test_replace_of_a_complex_attribute_keeps_unmentioned_sub_attributes():
    # given a user with a given and family name
    # when name is replaced with only a formatted name (RFC §3.5.2.3)
    result = patch_user(
        user_doc(), {"op": "replace", "path": "name", "value": {"formatted": "A S"}}
    )

    # then the other sub-attributes stay
    assert result.document["name"] == {
        "givenName": "Alice",
        "familyName": "Smith",
        "formatted": "A S",
    }


# --- RFC semantics -----------------------------------------------------------------------------


def test_add_to_multi_valued_appends_without_duplicates():
    # given a user with a work email
    existing = {"value": "alice@contoso.com", "type": "work", "primary": True}

    # when the same email and a new one are added
    result = patch_user(
        user_doc(),
        {"op": "add", "path": "emails", "value": [existing, {"value": "x@y", "type": "other"}]},
    )

    # then only the new one is appended
    assert result.document["emails"] == [existing, {"value": "x@y", "type": "other"}]


def test_add_of_identical_values_is_not_a_change():
    # given a user; when its work email and department are re-sent unchanged
    result = patch_user(
        user_doc(),
        {"op": "add", "path": "emails", "value": [dict(user_doc()["emails"][0])]},
        {"op": "Replace", "path": f"{ENTERPRISE_USER}:department", "value": "Sales"},
        {"op": "Replace", "path": "active", "value": "True"},
    )

    # then nothing changed (no version bump)
    assert result.changed is False
    assert result.document == user_doc()


def test_a_different_case_is_a_change():
    # given a user; when displayName changes case only
    result = patch_user(user_doc(), {"op": "replace", "path": "displayName", "value": "ALICE"})

    # then it is stored exactly as sent
    assert result.changed is True
    assert result.document["displayName"] == "ALICE"


@pytest.mark.parametrize(
    "path",
    [
        "displayName",
        "DISPLAYNAME",
        f"{CORE_USER}:displayName",
        f"{CORE_USER.upper()}:displayName",
    ],
)
def test_attribute_paths_are_case_insensitive_and_may_be_urn_qualified(path):
    # given a user; when displayName is replaced through various spellings of its path
    result = patch_user(user_doc(), {"op": "replace", "path": path, "value": "New"})

    # then the canonical attribute is set
    assert result.document["displayName"] == "New"
    assert "DISPLAYNAME" not in result.document


def test_urn_qualified_core_user_name():
    # given a user; when userName is replaced through its URN-qualified path
    result = patch_user(
        user_doc(), {"op": "replace", "path": f"{CORE_USER}:userName", "value": "bob@contoso.com"}
    )

    # then userName changes
    assert result.document["userName"] == "bob@contoso.com"


def test_remove_of_a_filtered_sub_attribute_and_of_a_simple_attribute():
    # given a user; when the work email's primary flag and the display name are removed
    result = patch_user(
        user_doc(),
        {"op": "remove", "path": 'emails[type eq "work"].primary'},
        {"op": "remove", "path": "displayName"},
    )

    # then only those values are gone
    assert result.document["emails"] == [{"value": "alice@contoso.com", "type": "work"}]
    assert "displayName" not in result.document


def test_remove_of_something_absent_changes_nothing():
    # given a user without a nickname or home email
    # when they are removed
    result = patch_user(
        user_doc(),
        {"op": "remove", "path": "nickName"},
        {"op": "remove", "path": 'emails[type eq "home"]'},
    )

    # then nothing changed
    assert result.changed is False


def test_removing_the_last_element_unassigns_the_attribute():
    # given a user with one email; when it is removed by filter
    result = patch_user(user_doc(), {"op": "remove", "path": 'emails[type eq "work"]'})

    # then the attribute is gone, not an empty list
    assert "emails" not in result.document


def test_replace_with_null_clears_the_attribute():
    # given a user; when displayName is replaced with null (RFC 7643 §2.5: null is unassigned)
    result = patch_user(user_doc(), {"op": "replace", "path": "displayName", "value": None})

    # then it is gone
    assert "displayName" not in result.document


def test_setting_an_element_primary_clears_the_others():
    # given a user whose work email is primary, and a home email
    doc = {**user_doc(), "emails": [*user_doc()["emails"], {"value": "h@x", "type": "home"}]}

    # when the home email becomes primary
    result = patch_user(
        doc, {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"}
    )

    # then the work email is no longer primary
    assert [e.get("primary") for e in result.document["emails"]] == [False, True]


def test_adding_a_primary_element_clears_the_others():
    # given a user whose work email is primary
    # when a new primary email is added
    result = patch_user(
        user_doc(), {"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": True}]}
    )

    # then only the new one is primary
    assert [e.get("primary") for e in result.document["emails"]] == [False, True]


def test_enterprise_and_custom_extension_attributes():
    # given a user
    # when enterprise and custom extension attributes are added, then one removed
    result = patch_user(
        user_doc(),
        {"op": "Add", "path": f"{ENTERPRISE_USER}:costCenter", "value": "42"},
        {"op": "Add", "path": f"{CUSTOM}:badge", "value": "B-1"},
        {"op": "Add", "path": f"{CUSTOM}:tags", "value": ["a", "b"]},
        {"op": "Remove", "path": f"{CUSTOM}:tags"},
    )

    # then each lands in its extension object
    assert result.document[ENTERPRISE_USER] == {"department": "Sales", "costCenter": "42"}
    assert result.document[CUSTOM] == {"badge": "B-1"}


def test_removing_the_last_extension_attribute_drops_the_extension_object():
    # given a user with only a department in the enterprise extension
    # when it is removed
    result = patch_user(user_doc(), {"op": "remove", "path": f"{ENTERPRISE_USER}:department"})

    # then there is no empty extension object left
    assert ENTERPRISE_USER not in result.document


def test_whole_extension_object_as_path():
    # given a user; when the enterprise extension is addressed as a whole
    added = patch_user(
        user_doc(), {"op": "add", "path": ENTERPRISE_USER, "value": {"division": "EMEA"}}
    )
    removed = patch_user(user_doc(), {"op": "remove", "path": ENTERPRISE_USER})

    # then its attributes merge in / it is removed
    assert added.document[ENTERPRISE_USER] == {"department": "Sales", "division": "EMEA"}
    assert ENTERPRISE_USER not in removed.document


def test_pathless_value_with_nested_extension_object():
    # given a user; when a path-less replace nests the enterprise extension (RFC shape)
    result = patch_user(
        user_doc(),
        {"op": "replace", "value": {ENTERPRISE_USER: {"department": "R&D", "manager": "m"}}},
    )

    # then its attributes are replaced and the manager canonicalised
    assert result.document[ENTERPRISE_USER] == {"department": "R&D", "manager": {"value": "m"}}


def test_password_is_returned_and_never_stored():
    # given a user; when a password is set by path and by path-less value
    by_path = patch_user(user_doc(), {"op": "replace", "path": "password", "value": "s3cret!"})
    pathless = patch_user(user_doc(), {"op": "replace", "value": {"password": "t0ps3cret"}})

    # then it comes back apart, for hashing, and the document does not hold it
    assert by_path.password == "s3cret!"
    assert pathless.password == "t0ps3cret"
    assert "password" not in by_path.document
    assert by_path.changed is True


# --- manager -----------------------------------------------------------------------------------

MANAGER_PATH = f"{ENTERPRISE_USER}:manager"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("m-1", id="string"),
        pytest.param({"value": "m-1"}, id="object"),
        pytest.param(
            {"value": "m-1", "$ref": "https://x/Users/m-1", "displayName": "M"}, id="full"
        ),
        pytest.param([{"value": "m-1"}], id="one-element-array"),
        pytest.param(["m-1"], id="one-string-array"),
    ],
)
@pytest.mark.parametrize("op", ["Add", "Replace", "add", "replace"])
def test_manager_shapes_are_stored_as_value_objects(op, value):
    # given a user; when the manager is set in any shape Azure AD uses
    result = patch_user(user_doc(), {"op": op, "path": MANAGER_PATH, "value": value})

    # then it is stored as {"value": id}; the caller fills $ref/displayName on output
    assert result.document[ENTERPRISE_USER]["manager"] == {"value": "m-1"}


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param({"op": "Remove", "path": MANAGER_PATH}, id="remove"),
        pytest.param({"op": "Replace", "path": MANAGER_PATH, "value": ""}, id="replace-empty"),
        pytest.param({"op": "Replace", "path": MANAGER_PATH, "value": None}, id="replace-null"),
        pytest.param({"op": "Replace", "path": MANAGER_PATH, "value": {}}, id="replace-empty-obj"),
        pytest.param({"op": "Replace", "path": MANAGER_PATH, "value": []}, id="replace-empty-list"),
        pytest.param(
            {"op": "Replace", "path": MANAGER_PATH, "value": {"value": ""}}, id="replace-empty-id"
        ),
        pytest.param({"op": "Remove", "path": f"{MANAGER_PATH}.value"}, id="remove-value"),
        pytest.param(
            {"op": "replace", "value": {f"{ENTERPRISE_USER}:manager": None}}, id="flat-null"
        ),
    ],
)
def test_manager_removal_shapes(operation):
    # given a user with a manager
    doc = user_doc()
    doc[ENTERPRISE_USER]["manager"] = {"value": "m-1"}

    # when the manager is removed in any of the shapes clients send
    result = patch_user(doc, operation)

    # then it is gone and the department stays
    assert result.document[ENTERPRISE_USER] == {"department": "Sales"}
    assert result.changed is True


def test_manager_value_sub_attribute_path():
    # given a user; when manager.value is set directly
    result = patch_user(user_doc(), {"op": "add", "path": f"{MANAGER_PATH}.value", "value": "m2"})

    # then the manager is that id
    assert result.document[ENTERPRISE_USER]["manager"] == {"value": "m2"}


def test_manager_display_name_is_read_only():
    # given a user; when a client tries to set the manager's displayName
    # then it is refused: the server derives it
    with pytest.raises(Mutability, match="readOnly"):
        patch_user(user_doc(), {"op": "add", "path": f"{MANAGER_PATH}.displayName", "value": "M"})


def test_manager_with_two_values_is_rejected():
    # given a user; when two managers are sent
    # then the error says a user has one manager
    with pytest.raises(InvalidValue, match="one manager"):
        patch_user(user_doc(), {"op": "add", "path": MANAGER_PATH, "value": ["a", "b"]})


# --- groups ------------------------------------------------------------------------------------

GROUP_CASES = [
    pytest.param(
        [{"op": "remove", "path": 'members[value eq "a" or value eq "b"]'}],
        MemberChanges(remove=["a", "b"]),
        id="remove-or-filter",
    ),
    pytest.param(
        [{"op": "Remove", "path": "members", "value": []}],
        MemberChanges(),
        id="empty-value-list-removes-nothing",
    ),
    pytest.param(
        [{"op": "replace", "value": {"members": [{"value": "a"}], "displayName": "X"}}],
        MemberChanges(replace=["a"]),
        id="pathless-replace",
    ),
    pytest.param(
        [{"op": "add", "value": {"members": [{"value": "a"}]}}],
        MemberChanges(add=["a"]),
        id="pathless-add",
    ),
    pytest.param(
        [{"op": "replace", "path": "members", "value": []}],
        MemberChanges(replace=[]),
        id="replace-with-empty-list",
    ),
    pytest.param(
        [
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"value": "a"}]},
        ],
        MemberChanges(add=["a"], remove_all=True),
        id="remove-all-then-add",
    ),
    pytest.param(
        [
            {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
            {"op": "add", "path": "members", "value": [{"value": "c"}]},
            {"op": "remove", "path": 'members[value eq "a"]'},
        ],
        MemberChanges(replace=["b", "c"]),
        id="replace-then-add-then-remove-folds",
    ),
    pytest.param(
        [
            {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "a"}]},
            {"op": "remove", "path": "members", "value": [{"value": "a"}]},
        ],
        MemberChanges(remove=["a"]),
        id="add-then-remove-same-id",
    ),
    pytest.param(
        [{"op": "add", "path": "members", "value": {"value": "solo"}}],
        MemberChanges(add=["solo"]),
        id="single-object-value",
    ),
]


@pytest.mark.parametrize(("operations", "expected"), GROUP_CASES)
def test_group_member_operations(operations, expected):
    # given a group; when member operations are applied
    result = patch_group(*operations)

    # then they fold into one set of member changes, and members never enter the document
    assert result.members == expected
    assert "members" not in result.document


def test_empty_value_list_on_remove_is_not_a_change():
    # given a group; when Azure AD sends a remove with an empty member list
    result = patch_group({"op": "Remove", "path": "members", "value": []})

    # then nothing is removed, and certainly not every member
    assert result.members.remove_all is False
    assert result.changed is False


@pytest.mark.parametrize(
    ("operation", "error", "message"),
    [
        ({"op": "remove", "path": 'members[display eq "x"]'}, InvalidPath, "selected by id"),
        ({"op": "add", "path": 'members[value eq "x"]', "value": [{}]}, InvalidPath, "filtered"),
        ({"op": "add", "path": "members.value", "value": "x"}, InvalidPath, "as a whole"),
        ({"op": "add", "path": "members", "value": [{"$ref": "x"}]}, InvalidValue, "value"),
        ({"op": "add", "path": "members", "value": ["id"]}, InvalidValue, "value"),
    ],
)
def test_group_member_errors(operation, error, message):
    # given a group; when an unsupported member operation arrives
    # then it is refused with an actionable message
    with pytest.raises(error, match=message):
        patch_group(operation)


def test_user_has_no_members_attribute():
    # given a user; when a members path is sent under the strict policy
    # then it is an unknown attribute
    with pytest.raises(InvalidPath, match="not an attribute of a User"):
        patch_user(user_doc(), {"op": "add", "path": "members", "value": []}, policy=STRICT_RFC)


# --- compatibility switches, each on and off ---------------------------------------------------


def _applies(policy: CompatibilityPolicy, *operations: dict, doc: dict | None = None):
    return patch_user(user_doc() if doc is None else doc, *operations, policy=policy)


def test_switch_case_insensitive_op():
    operation = {"op": "Replace", "path": "displayName", "value": "X"}
    # on: accepted (in the strict policy with only this switch too)
    for policy in (AZURE_AD_TOLERANT, strict_with("case_insensitive_op")):
        assert _applies(policy, operation).document["displayName"] == "X"
    # off: refused with a hint
    for policy in (STRICT_RFC, tolerant_without("case_insensitive_op")):
        with pytest.raises(InvalidSyntax, match='send "replace"'):
            _applies(policy, operation)


def test_switch_boolean_strings():
    operation = {"op": "replace", "path": "active", "value": "False"}
    selection = {"op": "add", "path": 'roles[primary eq "True"].value', "value": "r"}
    for policy in (AZURE_AD_TOLERANT, strict_with("boolean_strings")):
        assert _applies(policy, operation).document["active"] is False
        assert _applies(policy, selection).document["roles"] == [{"primary": True, "value": "r"}]
    for policy in (STRICT_RFC, tolerant_without("boolean_strings")):
        with pytest.raises(InvalidValue, match="boolean"):
            _applies(policy, operation)
        with pytest.raises(InvalidFilter, match="boolean"):
            _applies(policy, selection)


def test_switch_flat_dotted_keys():
    operation = {
        "op": "replace",
        "value": {"name.givenName": "K", f"{ENTERPRISE_USER}:employeeNumber": "7"},
    }
    for policy in (AZURE_AD_TOLERANT, strict_with("flat_dotted_keys")):
        document = _applies(policy, operation).document
        assert document["name"]["givenName"] == "K"
        assert document[ENTERPRISE_USER]["employeeNumber"] == "7"
        assert "name.givenName" not in document
    with pytest.raises(InvalidValue, match="flat_dotted_keys"):
        _applies(STRICT_RFC, operation)
    # off but unknown attributes ignored: the flat keys are ignored, nothing changes
    assert _applies(tolerant_without("flat_dotted_keys"), operation).changed is False


def test_switch_create_on_unmatched_filter():
    replace = {"op": "replace", "path": 'emails[type eq "home"].value', "value": "h@x"}
    add = {**replace, "op": "add"}
    for policy in (AZURE_AD_TOLERANT, strict_with("create_on_unmatched_filter")):
        assert _applies(policy, replace).document["emails"][1] == {"type": "home", "value": "h@x"}
    for policy in (STRICT_RFC, tolerant_without("create_on_unmatched_filter")):
        with pytest.raises(NoTarget, match="matches no value"):
            _applies(policy, replace)
        # RFC 7644 §3.5.2.1: add creates a target that does not exist, under any policy
        assert _applies(policy, add).document["emails"][1] == {"type": "home", "value": "h@x"}


def test_unmatched_filter_that_describes_no_element_is_no_target():
    # given a user; when a filter that pins no values matches nothing
    # then no element can be made from it
    with pytest.raises(NoTarget, match="eq comparisons"):
        _applies(
            AZURE_AD_TOLERANT, {"op": "add", "path": 'emails[value co "x"].type', "value": "w"}
        )


def test_switch_manager_as_string():
    as_string = {"op": "add", "path": MANAGER_PATH, "value": "m"}
    as_object = {"op": "add", "path": MANAGER_PATH, "value": {"value": "m"}}
    unqualified = {"op": "add", "path": "manager", "value": {"value": "m"}}
    for policy in (AZURE_AD_TOLERANT, strict_with("manager_as_string")):
        assert _applies(policy, as_string).document[ENTERPRISE_USER]["manager"] == {"value": "m"}
        assert _applies(policy, unqualified).document[ENTERPRISE_USER]["manager"] == {"value": "m"}
    for policy in (STRICT_RFC, tolerant_without("manager_as_string")):
        with pytest.raises(InvalidValue, match='"value": "<manager id>"'):
            _applies(policy, as_string)
        assert _applies(policy, as_object).document[ENTERPRISE_USER]["manager"] == {"value": "m"}
    with pytest.raises(InvalidPath, match="manager"):
        _applies(STRICT_RFC, unqualified)


def test_switch_remove_members_by_value():
    operation = {"op": "remove", "path": "members", "value": [{"value": "u1"}]}
    for policy in (AZURE_AD_TOLERANT, strict_with("remove_members_by_value")):
        assert patch_group(operation, policy=policy).members == MemberChanges(remove=["u1"])
    for policy in (STRICT_RFC, tolerant_without("remove_members_by_value")):
        # never read as "remove every member"
        with pytest.raises(InvalidPath, match=r"members\[value eq"):
            patch_group(operation, policy=policy)


def test_remove_by_value_list_on_other_multi_valued_attributes():
    # given a user with two emails
    doc = {**user_doc(), "emails": [*user_doc()["emails"], {"value": "h@x", "type": "home"}]}
    operation = {"op": "remove", "path": "emails", "value": [{"value": "H@X"}]}

    # when one is removed by a value list (case-insensitively, as emails.value is not caseExact)
    result = _applies(AZURE_AD_TOLERANT, operation, doc=doc)

    # then only that one goes; strict refuses the shape
    assert result.document["emails"] == user_doc()["emails"]
    with pytest.raises(InvalidPath):
        _applies(STRICT_RFC, operation, doc=doc)


def test_switch_ignore_unknown_attributes():
    by_path = {"op": "add", "path": "favouriteColour", "value": "blue"}
    pathless = {"op": "add", "value": {"favouriteColour": "blue"}}
    unknown_urn = {"op": "add", "path": "urn:example:foo:2.0:User:bar", "value": "x"}
    unknown_sub = {"op": "add", "path": "name", "value": {"nick": "x"}}
    for policy in (AZURE_AD_TOLERANT, strict_with("ignore_unknown_attributes")):
        for operation in (by_path, pathless, unknown_urn, unknown_sub):
            result = _applies(policy, operation)
            assert result.changed is False
            assert result.document == user_doc()
    for policy in (STRICT_RFC, tolerant_without("ignore_unknown_attributes")):
        with pytest.raises(InvalidPath, match="favouriteColour"):
            _applies(policy, by_path)
        with pytest.raises(InvalidValue, match="favouriteColour"):
            _applies(policy, pathless)
        with pytest.raises(InvalidPath, match="urn:example"):
            _applies(policy, unknown_urn)
        with pytest.raises(InvalidValue, match="no sub-attribute 'nick'"):
            _applies(policy, unknown_sub)


def test_switch_ignore_unknown_schemas_for_patch_bodies():
    no_schemas = {"Operations": [{"op": "replace", "path": "displayName", "value": "X"}]}
    for policy in (AZURE_AD_TOLERANT, strict_with("ignore_unknown_schemas")):
        result = apply_patch(user_doc(), no_schemas, resource_type="User", policy=policy)
        assert result.document["displayName"] == "X"
    for policy in (STRICT_RFC, tolerant_without("ignore_unknown_schemas")):
        with pytest.raises(InvalidSyntax, match="PatchOp"):
            apply_patch(user_doc(), no_schemas, resource_type="User", policy=policy)


def test_switch_ignore_unknown_schemas_for_resource_bodies():
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", ADSCIM_GROUP],
        "displayName": "G",
    }
    for policy in (AZURE_AD_TOLERANT, strict_with("ignore_unknown_schemas")):
        assert normalize_resource(group, resource_type="Group", policy=policy)[0] == {
            "displayName": "G"
        }
    for policy in (STRICT_RFC, tolerant_without("ignore_unknown_schemas")):
        with pytest.raises(InvalidValue, match="ADSCIM"):
            normalize_resource(group, resource_type="Group", policy=policy)


# --- atomicity and errors ----------------------------------------------------------------------


def test_a_failing_operation_changes_nothing():
    # given a user
    doc = user_doc()
    snapshot = copy.deepcopy(doc)

    # when the second operation of a PATCH fails
    with pytest.raises(InvalidValue, match=r"Operations\[1\]"):
        patch_user(
            doc,
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "active", "value": "maybe"},
        )

    # then the input document is exactly as before
    assert doc == snapshot


def test_a_failing_group_operation_returns_no_member_changes():
    # given a group; when the remove succeeds but the following add is malformed
    # then the whole request fails (there is no partial MemberChanges to apply)
    with pytest.raises(InvalidValue):
        patch_group(
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"display": "no id"}]},
        )


ERROR_CASES = [
    pytest.param([], InvalidSyntax, "non-empty", id="no-operations"),
    pytest.param([{"path": "displayName"}], InvalidSyntax, '"op" is required', id="no-op"),
    pytest.param([{"op": "move", "path": "x"}], InvalidSyntax, "unknown op", id="unknown-op"),
    pytest.param(["add"], InvalidSyntax, "must be an object", id="operation-not-object"),
    pytest.param([{"op": "add", "path": "nickName"}], InvalidValue, "requires", id="no-value"),
    pytest.param(
        [{"op": "add", "path": "nickName", "value": None}], InvalidValue, "remove", id="add-null"
    ),
    pytest.param([{"op": "remove"}], NoTarget, 'requires a "path"', id="remove-without-path"),
    pytest.param(
        [{"op": "remove", "path": "emails[type eq"}], InvalidPath, "not a valid", id="bad-path"
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails.type eq "work"', "value": "x"}],
        InvalidValue,
        "complex",
        id="errata-selection-needs-object",
    ),
    pytest.param(
        [{"op": "replace", "path": 'userName eq "x"', "value": "x"}],
        InvalidPath,
        "a filter, not a path",
        id="filter-as-path",
    ),
    pytest.param(
        [{"op": "add", "value": ["x"]}], InvalidValue, "object of attributes", id="pathless-array"
    ),
    pytest.param([{"op": "replace", "path": "id", "value": "x"}], Mutability, "readOnly", id="id"),
    pytest.param(
        [{"op": "replace", "path": "meta.lastModified", "value": "x"}],
        Mutability,
        "readOnly",
        id="meta",
    ),
    pytest.param(
        [{"op": "add", "path": "groups", "value": [{"value": "g"}]}],
        Mutability,
        "readOnly",
        id="groups",
    ),
    pytest.param(
        [{"op": "replace", "value": {"id": "x"}}], Mutability, "readOnly", id="pathless-id"
    ),
    pytest.param(
        [{"op": "replace", "path": "active", "value": "maybe"}],
        InvalidValue,
        "boolean",
        id="boolean",
    ),
    pytest.param(
        [{"op": "replace", "path": "displayName", "value": 5}], InvalidValue, "string", id="string"
    ),
    pytest.param(
        [{"op": "replace", "path": "name", "value": "A"}], InvalidValue, "complex", id="complex"
    ),
    pytest.param(
        [{"op": "replace", "path": 'emails[type eq "work"].value', "value": ["x"]}],
        InvalidValue,
        "string",
        id="filtered-sub-type",
    ),
    pytest.param(
        [
            {
                "op": "replace",
                "path": "emails",
                "value": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
            }
        ],
        InvalidValue,
        "at most one",
        id="two-primaries",
    ),
    pytest.param([{"op": "remove", "path": "userName"}], InvalidValue, "required", id="required"),
    pytest.param(
        [{"op": "replace", "path": "userName", "value": ""}],
        InvalidValue,
        "required",
        id="required-empty",
    ),
    pytest.param([{"op": "remove", "path": "password"}], Mutability, "password", id="password"),
    pytest.param(
        [{"op": "replace", "path": "password", "value": 12}], InvalidValue, "password", id="pw-type"
    ),
    pytest.param(
        [{"op": "add", "path": 'displayName[value eq "x"]', "value": "y"}],
        InvalidPath,
        "single-valued",
        id="filter-on-single-valued",
    ),
    pytest.param(
        [{"op": "remove", "path": 'emails[colour eq "x"]'}],
        InvalidFilter,
        "not one of its sub-attributes",
        id="filter-unknown-sub",
    ),
    pytest.param(
        [{"op": "remove", "path": "emails[value gt true]"}],
        InvalidFilter,
        "string",
        id="filter-type",
    ),
    pytest.param(
        [{"op": "remove", "path": 'emails[primary co "t"]'}],
        InvalidFilter,
        "boolean",
        id="filter-op-on-boolean",
    ),
    pytest.param(
        [{"op": "add", "path": "displayName.first", "value": "y"}],
        InvalidPath,
        "not a complex attribute",
        id="sub-of-simple",
    ),
    pytest.param(
        [{"op": "add", "path": "emails.value", "value": "y"}],
        InvalidPath,
        "select one with a filter",
        id="sub-of-multi-without-filter",
    ),
    pytest.param(
        [{"op": "add", "path": "name.nick", "value": "y"}],
        InvalidPath,
        "no sub-attribute",
        id="unknown-sub",
    ),
    pytest.param(
        [{"op": "add", "path": f"{CUSTOM}:x.y", "value": "y"}],
        InvalidPath,
        "not a complex",
        id="custom-sub",
    ),
    pytest.param(
        [{"op": "replace", "path": ENTERPRISE_USER, "value": "x"}],
        InvalidValue,
        "object of its attributes",
        id="extension-not-object",
    ),
    pytest.param(
        [{"op": "remove", "path": CORE_USER}], InvalidPath, "cannot be removed", id="remove-core"
    ),
]


@pytest.mark.parametrize(("operations", "error", "message"), ERROR_CASES)
def test_errors_are_specific(operations, error, message):
    # given a user; when an invalid PATCH arrives under the strict policy
    # then it fails with the specific SCIM error and an actionable detail
    with pytest.raises(error, match=message) as raised:
        apply_patch(
            user_doc(),
            {"schemas": [PATCH_OP], "Operations": operations},
            resource_type="User",
            policy=STRICT_RFC,
        )
    assert raised.value.to_scim()["scimType"] == error.scim_type


@pytest.mark.parametrize(
    "payload",
    [None, [], "x", {"schemas": [PATCH_OP]}, {"schemas": [PATCH_OP], "Operations": {}}],
)
def test_malformed_bodies_are_invalid_syntax(payload):
    with pytest.raises(InvalidSyntax):
        apply_patch(user_doc(), payload, resource_type="User", policy=AZURE_AD_TOLERANT)


def test_too_many_operations():
    # given a PATCH over the cap; when it is applied; then it is refused before any work
    operations = [{"op": "add", "path": "nickName", "value": "x"}] * 3
    with pytest.raises(TooMany, match="at most 2"):
        apply_patch(
            user_doc(), body(*operations), resource_type="User", policy=STRICT_RFC, max_operations=2
        )


def test_patch_result_shape():
    result = patch_user(user_doc(), {"op": "add", "path": "title", "value": "CEO"})
    assert isinstance(result, PatchResult)
    assert result.members == MemberChanges()
    assert result.password is None


# --- value filters -----------------------------------------------------------------------------

FILTER_DOC_EMAILS = [
    {"value": "Ann@Example.com", "type": "work", "primary": True},
    {"value": "bob@example.org", "type": "home"},
    {"value": "cy@other.net"},
]


@pytest.mark.parametrize(
    ("selection", "removed"),
    [
        ('value eq "ann@example.com"', ["Ann@Example.com"]),  # emails.value is not caseExact
        ('value ne "ann@example.com"', ["bob@example.org", "cy@other.net"]),
        ('value co "EXAMPLE"', ["Ann@Example.com", "bob@example.org"]),
        ('value sw "b"', ["bob@example.org"]),
        ('value ew ".net"', ["cy@other.net"]),
        ('value gt "b"', ["bob@example.org", "cy@other.net"]),
        ('value ge "bob@example.org"', ["bob@example.org", "cy@other.net"]),
        ('value lt "b"', ["Ann@Example.com"]),
        ('value le "bob@example.org"', ["Ann@Example.com", "bob@example.org"]),
        ("type pr", ["Ann@Example.com", "bob@example.org"]),
        ("primary eq true", ["Ann@Example.com"]),
        ("primary ne true", ["bob@example.org", "cy@other.net"]),
        ('type eq "work" or type eq "home"', ["Ann@Example.com", "bob@example.org"]),
        ('type eq "home" and value co "bob"', ["bob@example.org"]),
        ("not (type pr)", ["cy@other.net"]),
        (
            'not (type eq "work") and (value ew "org" or value ew "net")',
            ["bob@example.org", "cy@other.net"],
        ),
        ("type eq null", ["cy@other.net"]),
    ],
)
def test_value_filter_operators(selection, removed):
    # given a user with three emails
    doc = {**user_doc(), "emails": copy.deepcopy(FILTER_DOC_EMAILS)}

    # when the emails matching a filter are removed
    result = patch_user(doc, {"op": "remove", "path": f"emails[{selection}]"}, policy=STRICT_RFC)

    # then exactly the matching ones are gone
    kept = [e["value"] for e in result.document.get("emails", [])]
    assert [e["value"] for e in FILTER_DOC_EMAILS if e["value"] not in kept] == removed


def test_value_filter_respects_case_exact():
    # given a caseExact sub-attribute (none of the registry's multi-valued ones is, so a
    # synthetic one exercises the rule)
    engine = _Engine(resource=USER_RESOURCE, policy=STRICT_RFC, mode="patch", document={})
    exact = Attribute("value", case_exact=True)

    # when values differing in case are compared; then caseExact decides
    assert engine._compare(exact, "ABC", CompareOperator.eq, "abc") is False
    assert engine._compare(Attribute("value"), "ABC", CompareOperator.eq, "abc") is True


# --- normalize_resource ------------------------------------------------------------------------

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


# --- properties --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
PATHS = st.sampled_from(
    [
        "displayName",
        "name.givenName",
        "name",
        "emails",
        'emails[type eq "work"].value',
        'emails[type eq "work"]',
        "emails[primary eq true]",
        'roles[primary eq "True"].value',
        "active",
        "members",
        'members[value eq "a" or value eq "b"]',
        f"{ENTERPRISE_USER}:manager",
        f"{ENTERPRISE_USER}:manager.value",
        f"{ENTERPRISE_USER}:department",
        ENTERPRISE_USER,
        f"{CUSTOM}:x",
        "password",
        "id",
        "meta.created",
        "userName",
        "x509Certificates",
    ]
) | st.text(max_size=30)
OPERATIONS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Add", "replace", "Replace", "remove", "Remove", "x"])},
    optional={"path": PATHS | JSON, "value": JSON},
)
BODIES = JSON | st.fixed_dictionaries(
    {"Operations": st.lists(OPERATIONS, min_size=1, max_size=4)},
    optional={"schemas": st.just([PATCH_OP])},
)
POLICIES = st.sampled_from([AZURE_AD_TOLERANT, STRICT_RFC])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=BODIES, policy=POLICIES, resource_type=st.sampled_from(["User", "Group"]))
def test_arbitrary_patch_bodies_only_raise_scim_errors(payload, policy, resource_type):
    # given any JSON body; when it is applied
    doc = user_doc() if resource_type == "User" else {"displayName": "G"}
    snapshot = copy.deepcopy(doc)
    try:
        result = apply_patch(doc, payload, resource_type=resource_type, policy=policy)
    except ScimError:
        pass
    else:
        # then a success leaves members and passwords out of the document
        assert "members" not in result.document
        assert "password" not in result.document
    # and the input is never mutated
    assert doc == snapshot


@settings(max_examples=200, deadline=None)
@given(payload=JSON, policy=POLICIES, resource_type=st.sampled_from(["User", "Group"]))
def test_arbitrary_resource_bodies_only_raise_scim_errors(payload, policy, resource_type):
    try:
        normalize_resource(payload, resource_type=resource_type, policy=policy)
    except ScimError:
        pass


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": 'emails[value eq "\\u0000"]', "value": {}},
        {"op": "add", "path": 'emails[type eq "\\ud800"]', "value": {"value": "x@y.z"}},
        {"op": "replace", "path": "displayName", "value": "a\x00b"},
    ],
)
def test_a_patched_document_that_cannot_be_stored_is_invalid_value(operation):
    # A value filter's string literal is unescaped by the path grammar: no body check sees it.
    with pytest.raises(InvalidValue, match="the patched resource"):
        patch_user(user_doc(), operation)


def _read(document: dict, path: str):
    """What a GET would show at these paths (the test's own reader, independent of the engine)."""
    if path == "name.givenName":
        return document.get("name", {}).get("givenName")
    if path == 'emails[type eq "work"].value':
        return next(e["value"] for e in document["emails"] if e.get("type") == "work")
    if path.startswith(ENTERPRISE_USER):
        return document[ENTERPRISE_USER][path.rsplit(":", 1)[1]]
    if path.startswith(CUSTOM):
        return document[CUSTOM][path.rsplit(":", 1)[1]]
    return document[path]


@settings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(
        [
            "displayName",
            "nickName",
            "name.givenName",
            'emails[type eq "work"].value',
            f"{ENTERPRISE_USER}:department",
            f"{CUSTOM}:badge",
        ]
    ),
    # Storable text only: NUL and lone surrogates are refused (see the test below).
    value=st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=1,
        max_size=40,
    ),
    op=st.sampled_from(["replace", "Replace", "add"]),
)
def test_round_trip_replace_then_read(path, value, op):
    # given a user; when a value is replaced at a path
    result = patch_user(user_doc(), {"op": op, "path": path, "value": value})

    # then reading the path gives the value back, and replaying the patch changes nothing
    assert _read(result.document, path) == value
    again = patch_user(result.document, {"op": op, "path": path, "value": value})
    assert again.changed is False
