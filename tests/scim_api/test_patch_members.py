"""PATCH of group members: every operation folds into one ``MemberChanges`` for the service to
apply; members never enter the group's document."""

from __future__ import annotations

import pytest

from scim_api.errors import InvalidPath, InvalidValue
from scim_api.patch import MemberChanges
from scim_api.policy import STRICT_RFC
from tests.scim_api.patch_support import patch_group, patch_user, user_doc

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


def test_rfc_remove_one_member_and_all_members():
    # given a group; when one member then all members are removed (RFC §3.5.2.2)
    one = patch_group({"op": "remove", "path": f'members[value eq "{BJENSEN}"]'})
    everyone = patch_group({"op": "remove", "path": "members"})

    # then the first removes that id, the second everything
    assert one.members == MemberChanges(remove=[BJENSEN])
    assert everyone.members == MemberChanges(remove_all=True)


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


def test_a_failing_group_operation_returns_no_member_changes():
    # given a group; when the remove succeeds but the following add is malformed
    # then the whole request fails (there is no partial MemberChanges to apply)
    with pytest.raises(InvalidValue):
        patch_group(
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"display": "no id"}]},
        )
