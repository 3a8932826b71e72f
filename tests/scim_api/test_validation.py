"""The checks every SCIM write runs over its body (``scim_api.validation``) and the PATCH
engine's copy of a document: the fast walks decide exactly as the plain ones they replaced."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim_api.errors import InvalidSyntax, InvalidValue, ScimError
from scim_api.patch.common import _json_copy
from scim_api.validation import _refuse_unstorable, check_depth, check_storable


def reference_check_depth(value, limit: int) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise InvalidSyntax("too deep")
        stack.extend((child, depth + 1) for child in children)


class Text(str):
    """A str subclass: not JSON's own type, so the fast walk leaves it to the plain one."""


texts = st.text(max_size=8) | st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "é\udfff", "İ", "\u2028"]
)
keys = texts | st.integers(-3, 3) | st.builds(Text, st.text(max_size=4) | st.just("\x00"))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities included
    | texts
    | st.builds(Text, texts)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=4)
        | st.tuples(children, children)
    ),
    max_leaves=24,
)


def outcome(check, value, *args):
    try:
        check(value, *args)
    except ScimError as error:
        return type(error), str(error)
    return None


@settings(max_examples=400, deadline=None)
@given(values)
def test_check_storable_decides_and_words_as_the_plain_walk(value):
    # The plain walk names where a value is refused; it was the whole check before the fast one.
    assert outcome(check_storable, value, "the body") == outcome(
        _refuse_unstorable, value, "the body"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": {"givenName": "a\x00"}}, "the body › name › givenName contains a NUL character"),
        ({"title": "\ud800"}, "the body › title contains an invalid Unicode character"),
        ({"x": [1.0, float("inf")]}, "the body › x contains a number out of range"),
        ({"\x00": 1}, "the body contains a NUL character"),
    ],
)
def test_a_refused_value_is_named_by_where_it_is(value, message):
    with pytest.raises(InvalidValue, match=message):
        check_storable(value, "the body")


def test_plain_json_values_are_storable():
    check_storable({"a": [1, 2.5, True, None, {"b": "é ü 中"}], "c": -(2**70)})


nested = st.recursive(
    st.none() | st.integers(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(nested, st.integers(1, 6))
def test_check_depth_decides_as_the_plain_walk(value, limit):
    fast = outcome(check_depth, value, limit)
    plain = outcome(reference_check_depth, value, limit)
    assert (fast is None) == (plain is None)


def test_check_depth_counts_the_outermost_container_as_one():
    check_depth([[["x"]]], limit=3)
    with pytest.raises(InvalidSyntax, match="nested more than"):
        check_depth([[[["x"]]]], limit=3)
    check_depth("not a container", limit=0)


@settings(max_examples=200, deadline=None)
@given(values)
def test_json_copy_is_an_equal_copy_sharing_no_container(value):
    if isinstance(value, float) and math.isnan(value):
        return
    copied = _json_copy(value)
    assert repr(copied) == repr(value)

    def containers(item, found):
        # Tuples are immutable: deepcopy itself shares one that holds only immutable values.
        if isinstance(item, dict | list | tuple):
            if not isinstance(item, tuple):
                found.add(id(item))
            for child in item.values() if isinstance(item, dict) else item:
                containers(child, found)
        return found

    assert not containers(copied, set()) & containers(value, set())


def test_json_copy_of_a_document_can_be_changed_alone():
    document = {"emails": [{"value": "a@example.com"}], "name": {"givenName": "A"}}
    copied = _json_copy(document)
    copied["emails"][0]["value"] = "b@example.com"
    copied["name"]["familyName"] = "B"
    assert document == {"emails": [{"value": "a@example.com"}], "name": {"givenName": "A"}}
