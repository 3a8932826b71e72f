"""The compatibility switches of ``CompatibilityPolicy`` applied to PATCH and resource bodies,
each on (in the Azure-AD-tolerant policy, and alone in the strict one) and off (in the strict
policy, and alone in the tolerant one)."""

from __future__ import annotations

import dataclasses

import pytest

from scim_api.errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, NoTarget
from scim_api.patch import MemberChanges, apply_patch, normalize_resource
from scim_api.policy import AZURE_AD_TOLERANT, STRICT_RFC, CompatibilityPolicy
from scim_api.schema import ENTERPRISE_USER
from tests.scim_api.patch_support import (
    ADSCIM_GROUP,
    MANAGER_PATH,
    patch_group,
    patch_user,
    strict_with,
    tolerant_without,
    user_doc,
)


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


def test_switch_flat_dotted_keys_with_a_value_filter():
    """A filtered path as a key of a path-less value is that path's operation, not ignored."""
    doc = user_doc()
    doc["phoneNumbers"] = [{"type": "work", "value": "+32 2 555 0000"}]
    cases = [
        ('emails[type eq "work"].value', "new@x"),  # the element the filter selects
        ('emails[type eq "home"].value', "h@x"),  # no such element: created
        ('phoneNumbers[type eq "work"].value', None),  # null clears
    ]
    both = dataclasses.replace(strict_with("flat_dotted_keys"), create_on_unmatched_filter=True)
    for policy in (AZURE_AD_TOLERANT, both):
        for key, value in cases:
            flat = _applies(policy, {"op": "replace", "value": {key: value}}, doc=doc)
            with_path = _applies(policy, {"op": "replace", "path": key, "value": value}, doc=doc)
            assert flat.changed
            assert flat.document == with_path.document
            assert key not in flat.document
    replace = {"op": "replace", "value": {cases[0][0]: "new@x"}}
    document = _applies(AZURE_AD_TOLERANT, replace).document
    assert [e["value"] for e in document["emails"] if e["type"] == "work"] == ["new@x"]
    with pytest.raises(InvalidValue, match="flat_dotted_keys"):
        _applies(STRICT_RFC, replace)
    assert _applies(tolerant_without("flat_dotted_keys"), replace).changed is False


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
