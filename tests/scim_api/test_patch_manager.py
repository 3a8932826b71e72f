"""PATCH of the enterprise extension's manager, in every shape clients send."""

from __future__ import annotations

import pytest

from scim_api.errors import InvalidValue, Mutability
from scim_api.schema import ENTERPRISE_USER
from tests.scim_api.patch_support import MANAGER_PATH, patch_user, user_doc


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
