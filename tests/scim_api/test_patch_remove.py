"""PATCH "remove" (RFC 7644 §3.5.2.2) on user attributes."""

from __future__ import annotations

from tests.scim_api.patch_support import patch_user, user_doc


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
