"""Scoping filters: clause operators, AND/OR evaluation, explanations, validation, JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioning.scoping import (
    ScopingClause,
    ScopingFilter,
    ScopingOperator,
    evaluate_clause,
    evaluate_scoping,
    filters_from_json,
    filters_to_json,
    validate_clause,
    validate_filter,
)

Op = ScopingOperator


def clause(attribute: str, operator: ScopingOperator, value: str = "") -> ScopingClause:
    return ScopingClause(attribute=attribute, operator=operator, value=value)


def test_operator_names_match_the_portal_exactly():
    assert [operator.value for operator in ScopingOperator] == [
        "EQUALS",
        "NOT EQUALS",
        "IS TRUE",
        "IS FALSE",
        "IS NULL",
        "IS NOT NULL",
        "REGEX MATCH",
        "NOT REGEX MATCH",
        "Greater_Than",
        "Greater_Than_OR_EQUALS",
        "Includes",
        "ENDS_WITH",
        "&",
        "!&",
    ]
    assert {op for op in ScopingOperator if not op.takes_value} == {
        Op.IS_TRUE,
        Op.IS_FALSE,
        Op.IS_NULL,
        Op.IS_NOT_NULL,
    }


@pytest.mark.parametrize(
    ("operator", "value", "actual", "expected"),
    [
        # EQUALS / NOT EQUALS: exact, case-sensitive
        (Op.EQUALS, "Sales", "Sales", True),
        (Op.EQUALS, "sales", "Sales", False),
        (Op.EQUALS, "True", True, True),
        (Op.EQUALS, "42", 42, True),
        (Op.NOT_EQUALS, "Sales", "Marketing", True),
        (Op.NOT_EQUALS, "Sales", "Sales", False),
        (Op.NOT_EQUALS, "sales", "Sales", True),
        # IS TRUE / IS FALSE
        (Op.IS_TRUE, "", True, True),
        (Op.IS_TRUE, "", "true", True),
        (Op.IS_TRUE, "", False, False),
        (Op.IS_FALSE, "", False, True),
        (Op.IS_FALSE, "", "False", True),
        (Op.IS_FALSE, "", True, False),
        (Op.IS_TRUE, "", "yes", False),
        # IS NULL / IS NOT NULL
        (Op.IS_NULL, "", None, True),
        (Op.IS_NULL, "", "", True),
        (Op.IS_NULL, "", [], True),
        (Op.IS_NULL, "", "x", False),
        (Op.IS_NOT_NULL, "", "x", True),
        (Op.IS_NOT_NULL, "", None, False),
        (Op.IS_NOT_NULL, "", "", False),
        # REGEX MATCH / NOT REGEX MATCH (documented examples; search semantics)
        (Op.REGEX_MATCH, r".*\@domain.com", "jane@domain.com", True),
        (Op.REGEX_MATCH, r".*\@domain.com", "jane@other.com", False),
        (Op.REGEX_MATCH, "([1-9][0-9])", "42", True),
        (Op.REGEX_MATCH, "(1[0-9][0-9][0-9][0-9][0-9][0-9])", "1500000", True),
        (Op.REGEX_MATCH, "^sales$", "Sales", False),
        (Op.REGEX_MATCH, r"(?<dept>Sal)es", "Sales", True),
        (Op.NOT_REGEX_MATCH, r".*\@domain.com", "jane@other.com", True),
        (Op.NOT_REGEX_MATCH, r".*\@domain.com", "jane@domain.com", False),
        # Greater_Than / Greater_Than_OR_EQUALS: integers only
        (Op.GREATER_THAN, "1000000", "1500000", True),
        (Op.GREATER_THAN, "1000000", 1000000, False),
        (Op.GREATER_THAN_OR_EQUALS, "1000000", 1000000, True),
        (Op.GREATER_THAN_OR_EQUALS, "10", "9", False),
        (Op.GREATER_THAN, "9", "10", True),
        (Op.GREATER_THAN, "5", "abc", False),
        (Op.GREATER_THAN, "5", "7.5", False),
        (Op.GREATER_THAN, "5", True, False),
        (Op.GREATER_THAN, "five", "7", False),
        # Includes (case-sensitive contains) and ENDS_WITH
        (Op.INCLUDES, "Eng", "Engineering", True),
        (Op.INCLUDES, "eng", "Engineering", False),
        (Op.ENDS_WITH, "@contoso.com", "jane@contoso.com", True),
        (Op.ENDS_WITH, "@contoso.com", "jane@contoso.co", False),
        # & / !&: the attribute value occurs in the clause value
        (Op.CONTAINED_IN, "Sales,Marketing", "Sales", True),
        (Op.CONTAINED_IN, "Sales,Marketing", "Engineering", False),
        (Op.NOT_CONTAINED_IN, "Sales,Marketing", "Engineering", True),
        (Op.NOT_CONTAINED_IN, "Sales,Marketing", "Marketing", False),
        # single-element lists are treated as their value
        (Op.EQUALS, "Sales", ["Sales"], True),
    ],
)
def test_clause_operators(operator, value, actual, expected):
    result, reason = evaluate_clause(clause("attr", operator, value), actual)
    assert result is expected
    assert reason


@pytest.mark.parametrize(
    "operator",
    [op for op in ScopingOperator if op is not Op.IS_NULL],
)
@pytest.mark.parametrize("empty", [None, "", []])
def test_every_clause_except_is_null_is_false_on_a_null_or_empty_value(operator, empty):
    # "Scoping filters will return false if the value is null / empty", including NOT REGEX MATCH
    result, _ = evaluate_clause(clause("attr", operator, "x"), empty)
    assert result is False


@pytest.mark.parametrize("operator", list(ScopingOperator))
def test_multi_valued_attributes_never_match(operator):
    result, reason = evaluate_clause(clause("attr", operator, "a"), ["a", "b"])
    assert result is False
    assert "multi-valued" in reason


def test_integer_comparison_on_a_non_integer_explains_why():
    _, reason = evaluate_clause(clause("employeeId", Op.GREATER_THAN, "10"), "E-77")
    assert reason == "attribute value 'E-77' is not an integer"
    _, reason = evaluate_clause(clause("employeeId", Op.GREATER_THAN, "ten"), "77")
    assert reason == "clause value 'ten' is not an integer"


def test_invalid_stored_regex_is_false_with_a_reason():
    result, reason = evaluate_clause(clause("a", Op.REGEX_MATCH, "("), "x")
    assert result is False
    assert reason.startswith("invalid regular expression")


NEW_YORK_ENGINEERS = ScopingFilter(
    title="NY engineers",
    clauses=(
        clause("state", Op.EQUALS, "New York"),
        clause("department", Op.EQUALS, "Engineering"),
        clause("employeeId", Op.GREATER_THAN_OR_EQUALS, "1000000"),
        clause("employeeId", Op.REGEX_MATCH, "^(1[0-9]{6}|2000000)$"),
        clause("jobTitle", Op.IS_NOT_NULL),
    ),
)
CONTRACTORS = ScopingFilter(
    title="Contractors", clauses=(clause("userPrincipalName", Op.ENDS_WITH, "@vendor.com"),)
)


def test_no_filters_means_all_records_are_in_scope():
    result = evaluate_scoping([], {"state": "Anywhere"})
    assert result.in_scope is True
    assert result.explanations == []
    assert "all records" in result.summary


def test_documented_example_filter_requires_every_clause():
    # given Microsoft's example: New York, Engineering, id between 1,000,000 and 2,000,000, title
    user = {
        "state": "New York",
        "department": "Engineering",
        "employeeId": "1500000",
        "jobTitle": "Dev",
    }
    # when every clause holds, then the user is in scope via that filter
    result = evaluate_scoping([NEW_YORK_ENGINEERS], user)
    assert result.in_scope is True
    assert result.matched_filter == "NY engineers"
    assert [item.result for item in result.explanations] == [True] * 5
    assert "NY engineers" in result.summary
    # and when one clause fails (no job title), the AND makes the user out of scope
    result = evaluate_scoping([NEW_YORK_ENGINEERS], {**user, "jobTitle": None})
    assert result.in_scope is False
    assert result.matched_filter is None
    assert [item.result for item in result.explanations] == [True, True, True, True, False]
    assert result.summary.startswith("Out of scope")


def test_filters_are_ored_and_every_clause_is_explained():
    # given a contractor who is not a New York engineer
    user = {"state": "Texas", "userPrincipalName": "sam@vendor.com"}
    # when both filters are evaluated
    result = evaluate_scoping([NEW_YORK_ENGINEERS, CONTRACTORS], user)
    # then the second filter puts the user in scope and all six clauses are reported
    assert result.in_scope is True
    assert result.matched_filter == "Contractors"
    assert len(result.explanations) == 6
    last = result.explanations[-1]
    assert (last.filter_title, last.attribute, last.operator, last.value) == (
        "Contractors",
        "userPrincipalName",
        Op.ENDS_WITH,
        "@vendor.com",
    )
    assert last.actual_value == "sam@vendor.com"
    assert last.result is True


def test_attribute_lookup_is_case_insensitive():
    result = evaluate_scoping([CONTRACTORS], {"USERPRINCIPALNAME": "sam@vendor.com"})
    assert result.in_scope is True


def test_a_filter_without_clauses_matches_nothing():
    # the portal cannot save one; a corrupt stored row must never widen the scope
    result = evaluate_scoping([ScopingFilter(title="empty")], {"a": "b"})
    assert result.in_scope is False


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"attribute": "department", "operator": "EQUALS", "value": "Sales"}, {}),
        ({"attribute": "jobTitle", "operator": "IS NOT NULL", "value": ""}, {}),
        ({"attribute": "jobTitle", "operator": "IS NULL", "value": None}, {}),
        (
            {"attribute": "", "operator": "EQUALS", "value": "x"},
            {"attribute": ["This field is required."]},
        ),
        (
            {"attribute": "a", "operator": "LIKE", "value": "x"},
            {"operator": ["Select a valid operator."]},
        ),
        (
            {"attribute": "a", "operator": "EQUALS", "value": ""},
            {"value": ["This field is required."]},
        ),
        (
            {"attribute": "employeeId", "operator": "Greater_Than", "value": "ten"},
            {"value": ["Greater_Than compares integers; enter a whole number."]},
        ),
        ({"attribute": "employeeId", "operator": "Greater_Than_OR_EQUALS", "value": "10"}, {}),
        (
            {"attribute": "manager", "operator": "IS NOT NULL"},
            {
                "attribute": [
                    "Reference attributes such as manager cannot be used in scoping filters."
                ]
            },
        ),
        (
            {"attribute": "members", "operator": "EQUALS", "value": "x"},
            {"attribute": ["Group members cannot be used in scoping filters."]},
        ),
        (
            {"attribute": "AppRoleAssignments", "operator": "EQUALS", "value": "x"},
            {"attribute": ["AppRoleAssignments cannot be used in scoping filters."]},
        ),
        (
            {"attribute": "skills", "operator": "EQUALS", "value": "x", "multi_valued": True},
            {"attribute": ["Multi-valued attributes cannot be used in scoping filters."]},
        ),
        (
            {
                "attribute": "hireDate",
                "operator": "EQUALS",
                "value": "x",
                "attribute_type": "DateTime",
            },
            {"attribute": ["Date attributes cannot be used in scoping filters."]},
        ),
        (
            {"attribute": "enabled", "operator": "IS TRUE", "attribute_type": "String"},
            {"operator": ["IS TRUE needs a Boolean attribute."]},
        ),
        ({"attribute": "enabled", "operator": "IS FALSE", "attribute_type": "Boolean"}, {}),
        (
            {
                "attribute": "flag",
                "operator": "Greater_Than",
                "value": "1",
                "attribute_type": "Boolean",
            },
            {"attribute": ["Greater_Than needs an integer attribute."]},
        ),
    ],
)
def test_validate_clause_gives_field_errors(kwargs, expected):
    assert validate_clause(**kwargs) == expected


def test_validate_clause_rejects_a_bad_regex():
    errors = validate_clause("upn", "REGEX MATCH", "([a-z")
    assert list(errors) == ["value"]
    assert errors["value"][0].startswith("Enter a valid regular expression")
    # .NET named groups are valid
    assert validate_clause("upn", "NOT REGEX MATCH", r"(?<user>\w+)@contoso\.com") == {}


def test_validate_filter_checks_title_clauses_and_each_clause():
    assert validate_filter(NEW_YORK_ENGINEERS) == {}
    errors = validate_filter(
        ScopingFilter(
            title="  ", clauses=(clause("a", Op.EQUALS, "x"), clause("b", Op.GREATER_THAN, "y"))
        )
    )
    assert errors["title"] == ["This field is required."]
    assert list(errors["clause_errors"]) == [1]
    assert validate_filter(ScopingFilter(title="t")) == {
        "clauses": ["Add at least one scoping clause."]
    }


def test_filters_round_trip_through_json():
    filters = [NEW_YORK_ENGINEERS, CONTRACTORS]
    stored = json.loads(json.dumps(filters_to_json(filters)))
    assert stored[1] == {
        "title": "Contractors",
        "clauses": [
            {"attribute": "userPrincipalName", "operator": "ENDS_WITH", "value": "@vendor.com"}
        ],
    }
    assert filters_from_json(stored) == filters
    assert filters_from_json(None) == []
    assert (
        ScopingClause.from_dict({"attribute": "a", "operator": "IS NULL", "value": None}).value
        == ""
    )


@pytest.mark.parametrize(
    "data",
    [
        {"not": "a list"},
        ["not an object"],
        [{"title": 3, "clauses": []}],
        [{"title": "t", "clauses": "nope"}],
        [{"title": "t", "clauses": [{"operator": "EQUALS", "value": "x"}]}],
        [{"title": "t", "clauses": [{"attribute": "a", "operator": "LIKE", "value": "x"}]}],
        [{"title": "t", "clauses": [{"attribute": "a", "operator": "EQUALS", "value": 5}]}],
        [{"title": "t", "clauses": ["x"]}],
    ],
)
def test_malformed_json_raises_value_error(data):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        filters_from_json(data)


_clauses = st.builds(
    ScopingClause,
    attribute=st.text(min_size=1, max_size=10),
    operator=st.sampled_from(list(ScopingOperator)),
    value=st.text(max_size=10),
)
_filters = st.lists(
    st.builds(
        ScopingFilter, title=st.text(max_size=10), clauses=st.lists(_clauses, max_size=4).map(tuple)
    ),
    max_size=4,
)


@given(_filters)
def test_json_round_trip_property(filters):
    assert filters_from_json(json.loads(json.dumps(filters_to_json(filters)))) == filters


@given(
    _filters,
    st.dictionaries(
        st.text(max_size=10),
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
    ),
)
def test_evaluation_never_crashes_and_or_of_and_holds(filters, source):
    result = evaluate_scoping(filters, source)
    if not filters:
        assert result.in_scope
        return
    # in scope exactly when some non-empty filter has all its clauses true
    expected = any(
        f.clauses and all(evaluate_clause(c, _get(source, c.attribute))[0] for c in f.clauses)
        for f in filters
    )
    assert result.in_scope == bool(expected)
    assert len(result.explanations) == sum(len(f.clauses) for f in filters)


def _get(source, attribute):
    if attribute in source:
        return source[attribute]
    for key, value in source.items():
        if key.lower() == attribute.lower():
            return value
    return None
