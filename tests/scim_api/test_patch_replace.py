"""PATCH "replace" (RFC 7644 §3.5.2.3) on user attributes, and the round trip of a replaced
value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scim_api.schema import ENTERPRISE_USER
from tests.scim_api.patch_support import CUSTOM, patch_user, user_doc


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


def test_a_different_case_is_a_change():
    # given a user; when displayName changes case only
    result = patch_user(user_doc(), {"op": "replace", "path": "displayName", "value": "ALICE"})

    # then it is stored exactly as sent
    assert result.changed is True
    assert result.document["displayName"] == "ALICE"


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


def test_password_is_returned_and_never_stored():
    # given a user; when a password is set by path and by path-less value
    by_path = patch_user(user_doc(), {"op": "replace", "path": "password", "value": "s3cret!"})
    pathless = patch_user(user_doc(), {"op": "replace", "value": {"password": "t0ps3cret"}})

    # then it comes back apart, for hashing, and the document does not hold it
    assert by_path.password == "s3cret!"
    assert pathless.password == "t0ps3cret"
    assert "password" not in by_path.document
    assert by_path.changed is True


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
    # Storable text only: NUL and lone surrogates are refused (test_patch_errors.py).
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
