"""Scoping filters: which source objects an object mapping provisions ("Source Object Scope").

A mapping holds a list of filters evaluated with OR; each filter holds clauses evaluated with AND;
each clause compares one source attribute with an operator and (usually) a value. An empty filter
list means "All records". The operators and their semantics follow Microsoft's "Scoping users or
groups to be provisioned with scoping filters"; the choices the documentation leaves open are
written next to the code that makes them:

* Every clause on a null or empty attribute is false, except ``IS NULL`` (true) — the documented
  definition of ``IS NULL`` is "the attribute is empty", so it is the one operator that can match.
* ``&`` is true when the attribute's value occurs inside the clause value ("the evaluated attribute
  exists in the input string value"), e.g. department ``Sales`` with value ``Sales,Marketing``;
  ``!&`` is its negation. Both are case-sensitive ordinal substring tests.
* ``REGEX MATCH`` searches (``.NET Regex.IsMatch``) rather than anchoring the whole value.
* Multi-valued attribute values never match and say why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "UNSUPPORTED_ATTRIBUTES",
    "ClauseExplanation",
    "ScopingClause",
    "ScopingFilter",
    "ScopingOperator",
    "ScopingResult",
    "evaluate_clause",
    "evaluate_scoping",
    "filters_from_json",
    "filters_to_json",
    "validate_clause",
    "validate_filter",
]


class ScopingOperator(StrEnum):
    """The operator names exactly as the portal and Graph's ``filterClause.operatorName`` use."""

    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT EQUALS"
    IS_TRUE = "IS TRUE"
    IS_FALSE = "IS FALSE"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"
    REGEX_MATCH = "REGEX MATCH"
    NOT_REGEX_MATCH = "NOT REGEX MATCH"
    GREATER_THAN = "Greater_Than"
    GREATER_THAN_OR_EQUALS = "Greater_Than_OR_EQUALS"
    INCLUDES = "Includes"
    ENDS_WITH = "ENDS_WITH"
    CONTAINED_IN = "&"
    NOT_CONTAINED_IN = "!&"

    @property
    def takes_value(self) -> bool:
        """False for the operators whose Value box the console hides."""
        return self not in _UNARY_OPERATORS


_UNARY_OPERATORS = frozenset(
    {
        ScopingOperator.IS_TRUE,
        ScopingOperator.IS_FALSE,
        ScopingOperator.IS_NULL,
        ScopingOperator.IS_NOT_NULL,
    }
)
_INTEGER_OPERATORS = frozenset(
    {ScopingOperator.GREATER_THAN, ScopingOperator.GREATER_THAN_OR_EQUALS}
)
_REGEX_OPERATORS = frozenset({ScopingOperator.REGEX_MATCH, ScopingOperator.NOT_REGEX_MATCH})

# Attributes Microsoft says scoping cannot filter on (reference, membership and role data, or
# multi-valued). Compared case-insensitively.
UNSUPPORTED_ATTRIBUTES: Mapping[str, str] = {
    "manager": "reference attributes such as manager cannot be used in scoping filters",
    "members": "group members cannot be used in scoping filters",
    "memberof": "group membership (IsMemberOf) is not supported in scoping filters",
    "ismemberof": "group membership (IsMemberOf) is not supported in scoping filters",
    "approleassignments": "appRoleAssignments cannot be used in scoping filters",
    "usertype": "userType is not supported in scoping filters",
    "proxyaddresses": "multi-valued attributes cannot be used in scoping filters",
    "othermails": "multi-valued attributes cannot be used in scoping filters",
}
# Attribute types (the schema editor's names) that scoping cannot filter on.
UNSUPPORTED_TYPES: Mapping[str, str] = {
    "reference": "reference attributes cannot be used in scoping filters",
    "datetime": "date attributes cannot be used in scoping filters",
    "binary": "binary attributes cannot be used in scoping filters",
}
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class ScopingClause:
    """One condition: ``attribute operator value`` (value is ignored for the unary operators)."""

    attribute: str
    operator: ScopingOperator
    value: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"attribute": self.attribute, "operator": str(self.operator), "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScopingClause:
        """Build from :meth:`to_dict` output; raises ``ValueError`` on malformed data."""
        if not isinstance(data, Mapping):
            raise ValueError("a scoping clause must be an object")
        attribute = data.get("attribute")
        if not isinstance(attribute, str) or not attribute:
            raise ValueError("a scoping clause needs an attribute")
        try:
            operator = ScopingOperator(data.get("operator"))
        except ValueError:
            raise ValueError(f"unknown scoping operator {data.get('operator')!r}") from None
        value = data.get("value", "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValueError("a scoping clause value must be a string")
        return cls(attribute=attribute, operator=operator, value=value)


@dataclass(frozen=True)
class ScopingFilter:
    """A titled group of clauses that must all be true ("AND" logic)."""

    title: str
    clauses: tuple[ScopingClause, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "clauses", tuple(self.clauses))

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "clauses": [clause.to_dict() for clause in self.clauses]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScopingFilter:
        """Build from :meth:`to_dict` output; raises ``ValueError`` on malformed data."""
        if not isinstance(data, Mapping):
            raise ValueError("a scoping filter must be an object")
        title = data.get("title", "")
        clauses = data.get("clauses", [])
        if not isinstance(title, str):
            raise ValueError("a scoping filter title must be a string")
        if not isinstance(clauses, list):
            raise ValueError("scoping filter clauses must be a list")
        return cls(title=title, clauses=tuple(ScopingClause.from_dict(item) for item in clauses))


def filters_to_json(filters: Iterable[ScopingFilter]) -> list[dict[str, Any]]:
    """The JSONField representation of a mapping's scoping filters."""
    return [scoping_filter.to_dict() for scoping_filter in filters]


def filters_from_json(data: Any) -> list[ScopingFilter]:
    """Inverse of :func:`filters_to_json`; ``None`` (no filters stored) gives ``[]``."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError("scoping filters must be a list")
    return [ScopingFilter.from_dict(item) for item in data]


@dataclass(frozen=True)
class ClauseExplanation:
    """How one clause evaluated for one object, for provision-on-demand's scope step."""

    filter_title: str
    attribute: str
    operator: ScopingOperator
    value: str
    actual_value: Any
    result: bool
    reason: str


@dataclass(frozen=True)
class ScopingResult:
    """Outcome of :func:`evaluate_scoping`; ``matched_filter`` is the first filter that passed."""

    in_scope: bool
    explanations: list[ClauseExplanation] = field(default_factory=list)
    matched_filter: str | None = None

    @property
    def summary(self) -> str:
        if not self.explanations and self.in_scope:
            return "No scoping filters are configured; all records are in scope."
        if self.in_scope:
            return f"In scope: every clause of scoping filter {self.matched_filter!r} is true."
        return "Out of scope: no scoping filter has all of its clauses true."


def _lookup(source: Mapping[str, Any], attribute: str) -> Any:
    if attribute in source:
        return source[attribute]
    wanted = attribute.lower()
    for key, value in source.items():
        if str(key).lower() == wanted:
            return value
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"  # Entra's boolean spelling
    return str(value)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple | set) and not value)


def _compile(pattern: str) -> re.Pattern[str]:
    # Scoping patterns are written for .NET; translate its named-group syntax.
    converted = re.sub(r"\(\?<(?![=!])([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", pattern)
    converted = re.sub(r"\(\?'([A-Za-z_][A-Za-z0-9_]*)'", r"(?P<\1>", converted)
    converted = re.sub(r"\\k<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P=\1)", converted)
    return re.compile(converted)


def _as_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def evaluate_clause(clause: ScopingClause, actual: Any) -> tuple[bool, str]:
    """Evaluate one clause against the attribute's value; returns (result, reason)."""
    operator = clause.operator
    if isinstance(actual, list | tuple | set) and len(actual) > 1:
        return False, "multi-valued attributes are not supported in scoping filters"
    if isinstance(actual, list | tuple) and len(actual) == 1:
        actual = actual[0]
    empty = _is_empty(actual)

    if operator is ScopingOperator.IS_NULL:
        return empty, "attribute is empty" if empty else "attribute has a value"
    if operator is ScopingOperator.IS_NOT_NULL:
        return (not empty), "attribute has a value" if not empty else "attribute is empty"
    if empty:
        return False, "attribute is null or empty, so the clause is false"

    if operator in (ScopingOperator.IS_TRUE, ScopingOperator.IS_FALSE):
        if isinstance(actual, bool):
            flag = actual
        elif isinstance(actual, str) and actual.strip().lower() in ("true", "false"):
            flag = actual.strip().lower() == "true"
        else:
            return False, f"{_as_text(actual)!r} is not a Boolean value"
        wanted = operator is ScopingOperator.IS_TRUE
        return flag is wanted, f"attribute is {_as_text(flag)}"

    text = _as_text(actual)
    value = clause.value
    if operator is ScopingOperator.EQUALS:
        return text == value, "values are equal" if text == value else "values differ"
    if operator is ScopingOperator.NOT_EQUALS:
        return text != value, "values differ" if text != value else "values are equal"
    if operator is ScopingOperator.INCLUDES:
        found = value in text
        return found, "attribute contains the value" if found else "value not found in attribute"
    if operator is ScopingOperator.ENDS_WITH:
        ends = text.endswith(value)
        return ends, "attribute ends with the value" if ends else "attribute has another ending"
    if operator in (ScopingOperator.CONTAINED_IN, ScopingOperator.NOT_CONTAINED_IN):
        inside = text in value
        reason = "attribute occurs in the value" if inside else "attribute does not occur in value"
        return (inside if operator is ScopingOperator.CONTAINED_IN else not inside), reason
    if operator in _REGEX_OPERATORS:
        try:
            matched = _compile(value).search(text) is not None
        except re.error as error:
            return False, f"invalid regular expression: {error}"
        reason = "pattern matches" if matched else "pattern does not match"
        return (matched if operator is ScopingOperator.REGEX_MATCH else not matched), reason
    if operator in _INTEGER_OPERATORS:
        left, right = _as_integer(actual), _as_integer(value)
        if left is None:
            return False, f"attribute value {text!r} is not an integer"
        if right is None:
            return False, f"clause value {value!r} is not an integer"
        result = left > right if operator is ScopingOperator.GREATER_THAN else left >= right
        return result, f"{left} {'>' if operator is ScopingOperator.GREATER_THAN else '>='} {right}"
    raise ValueError(f"unsupported operator {operator!r}")  # pragma: no cover - enum is closed


def evaluate_scoping(filters: Sequence[ScopingFilter], source: Mapping[str, Any]) -> ScopingResult:
    """Is ``source`` in scope? Filters OR together, clauses AND; no filters means in scope.

    Every clause is evaluated (no short-circuit) so the explanation lists the whole picture.
    """
    if not filters:
        return ScopingResult(in_scope=True)
    explanations: list[ClauseExplanation] = []
    matched: str | None = None
    for scoping_filter in filters:
        # A filter without clauses cannot be saved in the portal; treat it as matching nothing
        # so a corrupt row never widens the scope.
        all_true = bool(scoping_filter.clauses)
        for clause in scoping_filter.clauses:
            actual = _lookup(source, clause.attribute)
            result, reason = evaluate_clause(clause, actual)
            all_true = all_true and result
            explanations.append(
                ClauseExplanation(
                    filter_title=scoping_filter.title,
                    attribute=clause.attribute,
                    operator=clause.operator,
                    value=clause.value,
                    actual_value=actual,
                    result=result,
                    reason=reason,
                )
            )
        if all_true and matched is None:
            matched = scoping_filter.title
    return ScopingResult(
        in_scope=matched is not None, explanations=explanations, matched_filter=matched
    )


def validate_clause(
    attribute: str,
    operator: str,
    value: str | None = "",
    *,
    attribute_type: str | None = None,
    multi_valued: bool = False,
) -> dict[str, list[str]]:
    """Field errors for the "Add Scoping Filter" clause row; an empty dict means valid.

    ``attribute_type`` is the schema editor's type name (String, Integer, Boolean, DateTime,
    Reference, Binary) when the form knows it.
    """
    errors: dict[str, list[str]] = {}

    def add(field_name: str, message: str) -> None:
        errors.setdefault(field_name, []).append(message)

    attribute = (attribute or "").strip()
    if not attribute:
        add("attribute", "This field is required.")
    else:
        reason = UNSUPPORTED_ATTRIBUTES.get(attribute.lower())
        if reason:
            add("attribute", reason[0].upper() + reason[1:] + ".")
        elif multi_valued:
            add("attribute", "Multi-valued attributes cannot be used in scoping filters.")
        elif attribute_type and attribute_type.lower() in UNSUPPORTED_TYPES:
            message = UNSUPPORTED_TYPES[attribute_type.lower()]
            add("attribute", message[0].upper() + message[1:] + ".")

    try:
        parsed = ScopingOperator(operator)
    except ValueError:
        add("operator", "Select a valid operator.")
        return errors

    if parsed in (ScopingOperator.IS_TRUE, ScopingOperator.IS_FALSE) and attribute_type:
        if attribute_type.lower() != "boolean":
            add("operator", f"{parsed.value} needs a Boolean attribute.")
    value = value or ""
    if not parsed.takes_value:
        return errors
    if value == "":
        add("value", "This field is required.")
        return errors
    if parsed in _INTEGER_OPERATORS:
        if _as_integer(value) is None:
            add("value", f"{parsed.value} compares integers; enter a whole number.")
        if attribute_type and attribute_type.lower() not in ("integer", "string"):
            add("attribute", f"{parsed.value} needs an integer attribute.")
    if parsed in _REGEX_OPERATORS:
        try:
            _compile(value)
        except re.error as error:
            add("value", f"Enter a valid regular expression ({error}).")
    return errors


def validate_filter(scoping_filter: ScopingFilter) -> dict[str, Any]:
    """Errors for a whole filter: ``title``, ``clauses`` and per-index ``clause_errors``."""
    errors: dict[str, Any] = {}
    if not scoping_filter.title.strip():
        errors["title"] = ["This field is required."]
    if not scoping_filter.clauses:
        errors["clauses"] = ["Add at least one scoping clause."]
    clause_errors = {
        index: problems
        for index, clause in enumerate(scoping_filter.clauses)
        if (problems := validate_clause(clause.attribute, clause.operator, clause.value))
    }
    if clause_errors:
        errors["clause_errors"] = clause_errors
    return errors
