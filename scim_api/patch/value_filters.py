"""Value filters (``emails[type eq \"work\"]``) evaluated in memory against the elements of one
multi-valued attribute (RFC 7644 §3.4.2.2 comparisons, honouring ``caseExact``)."""

from __future__ import annotations

from typing import Any

from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
)

from scim_api.errors import InvalidFilter
from scim_api.patch.common import _EngineState, _parse_datetime, _present, _short
from scim_api.schema import Attribute


class _ValueFilters(_EngineState):
    """Checks a value filter against the sub-attributes it names, and matches elements."""

    def _filter_sub(self, definition: Attribute, attr_path: AttrPath) -> Attribute:
        sub = None
        if attr_path.uri is None and attr_path.sub_attr is None:
            sub = definition.sub(attr_path.attr)
        if sub is None:
            known = ", ".join(a.name for a in definition.sub_attributes)
            raise InvalidFilter(
                f"The filter on {definition.name} compares {str(attr_path)!r}, which is not one "
                f"of its sub-attributes ({known})."
            )
        return sub

    def _validate_filter(self, definition: Attribute, node: FilterNode, text: str) -> None:
        """Check the whole filter up front: an empty list must not hide an invalid filter."""
        if isinstance(node, LogicalExpr):
            for term in node.terms:
                self._validate_filter(definition, term, text)
        elif isinstance(node, Not):
            self._validate_filter(definition, node.expr, text)
        elif isinstance(node, Present):
            self._filter_sub(definition, node.attr_path)
        elif isinstance(node, Comparison):
            sub = self._filter_sub(definition, node.attr_path)
            self._compare(sub, None, node.op, node.value)
        else:
            raise InvalidFilter(f"{_short(text)}: value selections cannot be nested.")

    def _matches(self, definition: Attribute, node: FilterNode, element: Any) -> bool:
        if not isinstance(element, dict):
            return False
        if isinstance(node, LogicalExpr):
            results = (self._matches(definition, t, element) for t in node.terms)
            return all(results) if node.op == LogicalOperator.and_ else any(results)
        if isinstance(node, Not):
            return not self._matches(definition, node.expr, element)
        if isinstance(node, Present):
            sub = self._filter_sub(definition, node.attr_path)
            return _present(element.get(sub.name))
        if isinstance(node, Comparison):
            sub = self._filter_sub(definition, node.attr_path)
            return self._compare(sub, element.get(sub.name), node.op, node.value)
        raise InvalidFilter("Value selections cannot be nested.")

    def _compare(self, sub: Attribute, actual: Any, op: CompareOperator, expected: Any) -> bool:
        """RFC 7644 §3.4.2.2 comparison of one sub-attribute value, honouring caseExact."""
        if expected is None:
            if op not in (CompareOperator.eq, CompareOperator.ne):
                raise InvalidFilter(f"{sub.name} {op.value} null: null only compares with eq/ne.")
            return (actual is None) == (op == CompareOperator.eq)
        if sub.type == "boolean":
            if isinstance(expected, str) and self.policy.boolean_strings:
                if expected.strip().lower() in ("true", "false"):
                    expected = expected.strip().lower() == "true"
            if not isinstance(expected, bool):
                raise InvalidFilter(
                    f"{sub.name} is a boolean: compare it with true or false (unquoted); got "
                    f"{_short(expected)}."
                )
            if op not in (CompareOperator.eq, CompareOperator.ne):
                raise InvalidFilter(f"{sub.name} is a boolean: only eq and ne apply.")
            return (actual == expected and isinstance(actual, bool)) == (op == CompareOperator.eq)
        if sub.type in ("integer", "decimal"):
            if not isinstance(expected, int | float) or isinstance(expected, bool):
                raise InvalidFilter(f"{sub.name} is a number; got {_short(expected)}.")
            if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
                raise InvalidFilter(f"{sub.name} is a number: {op.value} applies to strings.")
            if not isinstance(actual, int | float) or isinstance(actual, bool):
                return op == CompareOperator.ne
            return _ordered(op, actual, expected)
        if not isinstance(expected, str):
            raise InvalidFilter(
                f"{sub.name} is a string: compare it with a quoted value; got {_short(expected)}."
            )
        if not isinstance(actual, str):
            return op == CompareOperator.ne
        if sub.type == "dateTime" and op not in (
            CompareOperator.co,
            CompareOperator.sw,
            CompareOperator.ew,
        ):
            left, right = _parse_datetime(actual), _parse_datetime(expected)
            if left is not None and right is not None:
                return _ordered(op, left, right)
        if not sub.case_exact:
            actual, expected = actual.casefold(), expected.casefold()
        if op == CompareOperator.co:
            return expected in actual
        if op == CompareOperator.sw:
            return actual.startswith(expected)
        if op == CompareOperator.ew:
            return actual.endswith(expected)
        return _ordered(op, actual, expected)


def _ordered(op: CompareOperator, left: Any, right: Any) -> bool:
    if op == CompareOperator.eq:
        return left == right
    if op == CompareOperator.ne:
        return left != right
    if op == CompareOperator.gt:
        return left > right
    if op == CompareOperator.ge:
        return left >= right
    if op == CompareOperator.lt:
        return left < right
    if op == CompareOperator.le:
        return left <= right
    return False  # co/sw/ew are handled by the caller
