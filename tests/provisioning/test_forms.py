"""The console's forms, without a page around them."""

from django.http import QueryDict

from provisioning.forms import ScopingClauseFormSet, ScopingFilterForm
from provisioning.scoping import ScopingClause, ScopingOperator


def test_a_bad_clause_row_is_a_field_error_of_that_row():
    clauses = ScopingClauseFormSet.bound_to(
        [
            {"attribute": "department", "operator": "EQUALS", "value": "Sales"},
            {"attribute": "manager", "operator": "EQUALS", "value": "x"},
            {"attribute": "employeeId", "operator": "Greater_Than", "value": "ten"},
        ]
    )

    assert not clauses.is_valid()
    assert clauses.errors[0] == {}
    assert clauses.errors[1]["attribute"] == [
        "Reference attributes such as manager cannot be used in scoping filters."
    ]
    assert clauses.errors[2]["value"] == ["Greater_Than compares integers; enter a whole number."]


def test_good_clause_rows_become_the_filter_clauses():
    clauses = ScopingClauseFormSet.bound_to(
        [
            {"attribute": "department", "operator": "EQUALS", "value": "Sales"},
            {"attribute": "accountEnabled", "operator": "IS TRUE", "value": "ignored"},
        ]
    )

    assert clauses.is_valid()
    assert clauses.scoping_clauses() == (
        ScopingClause("department", ScopingOperator.EQUALS, "Sales"),
        ScopingClause("accountEnabled", ScopingOperator.IS_TRUE, ""),
    )


def test_a_filter_needs_a_title_and_a_clause():
    clauses = ScopingClauseFormSet.bound_to([])
    form = ScopingFilterForm({"title": "  "})

    assert not clauses.is_valid()
    assert clauses.non_form_errors() == ["Add at least one scoping clause."]
    assert not form.is_valid()
    assert form.errors["title"] == ["This field is required."]


def test_the_posted_rows_leave_out_the_removed_one_and_are_renumbered():
    post = QueryDict(mutable=True)
    post.update({"clause_count": "3", "remove_clause": "1"})
    for n, attribute in enumerate([" department ", "city", "country"]):
        post.update(
            {
                f"clause-{n}-attribute": attribute,
                f"clause-{n}-operator": "EQUALS",
                f"clause-{n}-value": f"v{n}",
            }
        )

    rows = ScopingClauseFormSet.posted_rows(post)

    assert rows == [
        {"attribute": "department", "operator": "EQUALS", "value": "v0"},
        {"attribute": "country", "operator": "EQUALS", "value": "v2"},
    ]
    assert ScopingClauseFormSet.posted_rows(QueryDict("clause_count=many")) == []
