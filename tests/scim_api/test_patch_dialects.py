"""PATCH as Azure AD sends it, replayed in both dialects: the default one and the one of the
``aadOptscim062020`` feature flag (``scim_api.patch``: pure functions, no database)."""

from __future__ import annotations

import pytest

from scim_api.patch import MemberChanges
from scim_api.schema import ENTERPRISE_USER
from tests.scim_api.patch_support import patch_group, patch_user, user_doc

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
