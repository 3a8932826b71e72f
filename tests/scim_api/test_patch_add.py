"""PATCH "add" (RFC 7644 §3.5.2.1) on user attributes."""

from __future__ import annotations

from scim_api.schema import ENTERPRISE_USER
from tests.scim_api.patch_support import patch_user, user_doc


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


def test_adding_a_primary_element_clears_the_others():
    # given a user whose work email is primary
    # when a new primary email is added
    result = patch_user(
        user_doc(), {"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": True}]}
    )

    # then only the new one is primary
    assert [e.get("primary") for e in result.document["emails"]] == [False, True]
