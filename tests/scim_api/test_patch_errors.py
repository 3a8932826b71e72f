"""A PATCH that fails changes nothing and says why with the specific SCIM error; any JSON body
only ever raises a SCIM error."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from scim_api.patch import MemberChanges, PatchResult, apply_patch
from scim_api.policy import AZURE_AD_TOLERANT, STRICT_RFC
from scim_api.schema import ENTERPRISE_USER, PATCH_OP
from tests.scim_api.patch_support import (
    CORE_USER,
    CUSTOM,
    JSON,
    POLICIES,
    body,
    patch_user,
    user_doc,
)


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
