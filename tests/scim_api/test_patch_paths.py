"""How a PATCH path addresses an attribute: case, URN qualification, extension attributes and
whole extension objects, and value filters (``emails[type eq "work"]``)."""

from __future__ import annotations

import copy

import pytest
from scim2_models.path import CompareOperator

from scim_api.patch import _Engine
from scim_api.policy import STRICT_RFC
from scim_api.schema import ENTERPRISE_USER, USER_RESOURCE, Attribute
from tests.scim_api.patch_support import CORE_USER, CUSTOM, patch_user, user_doc


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


# --- value filters ----------------------------------------------------------------------------

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
