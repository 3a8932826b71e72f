"""Evaluation: walks a syntax tree against one directory object.

Calls are dispatched through the table of :class:`FunctionSpec` the caller hands in
(:data:`provisioning.expressions.functions.FUNCTIONS`), so the function modules can import the
evaluator without an import circle.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from random import Random
from typing import Any

from provisioning.expressions.errors import (
    ConversionError,
    ExpressionEvaluationError,
    IgnoreFlowSignal,
)
from provisioning.expressions.nodes import (
    Attribute,
    Call,
    Comparison,
    Empty,
    Identifier,
    Node,
    NumberLiteral,
    StringLiteral,
)
from provisioning.expressions.values import DateTimeValue, bool_str, is_null, to_str, try_number


@dataclass(frozen=True)
class FunctionSpec:
    """Name, arity and implementation of one expression function."""

    name: str
    min_args: int
    max_args: int | None
    impl: Callable[..., Any]
    lazy: bool = False
    check: Callable[[Call], str | None] | None = None

    def arity_text(self) -> str:
        def plural(count: int) -> str:
            return f"{count} argument" + ("" if count == 1 else "s")

        if self.max_args is None:
            return f"at least {plural(self.min_args)}"
        if self.min_args == self.max_args:
            return plural(self.min_args)
        return f"{self.min_args} to {plural(self.max_args)}"


class Evaluator:
    """Evaluates nodes against one source object; ``functions`` is the table calls resolve in."""

    def __init__(
        self,
        source: Mapping[str, Any],
        *,
        functions: Mapping[str, FunctionSpec],
        now: datetime | None,
        rng: Random | None,
    ) -> None:
        self.source = {str(key).lower(): value for key, value in source.items()}
        self.functions = functions
        self.now = now
        self.rng = rng

    def lookup(self, name: str) -> Any:
        value = self.source.get(name.lower())
        if isinstance(value, tuple | set | frozenset):
            value = list(value)
        return None if is_null(value) else value

    def eval(self, node: Node) -> Any:
        if isinstance(node, Empty):
            return None
        if isinstance(node, StringLiteral):
            return node.value
        if isinstance(node, NumberLiteral):
            return node.value
        if isinstance(node, Attribute):
            return self.lookup(node.name)
        if isinstance(node, Identifier):
            return node.name
        if isinstance(node, Comparison):
            return bool_str(self.compare(node))
        assert isinstance(node, Call)
        spec = self.functions[node.name]
        try:
            if spec.lazy:
                return spec.impl(self, node)
            return spec.impl(self, *[self.eval(arg) for arg in node.args])
        except (IgnoreFlowSignal, ExpressionEvaluationError):
            raise
        except (ConversionError, ValueError, TypeError, OverflowError) as error:
            raise ExpressionEvaluationError(node.name, str(error)) from None

    def compare(self, node: Comparison) -> bool:
        left, right = self.eval(node.left), self.eval(node.right)
        operator = node.operator
        if operator in ("=", "<>"):
            equal = to_str(left) == to_str(right)
            return equal if operator == "=" else not equal
        if is_null(left) or is_null(right):
            return False
        ordered = _ordering_pair(left, right)
        return {
            ">": ordered[0] > ordered[1],
            ">=": ordered[0] >= ordered[1],
            "<": ordered[0] < ordered[1],
            "<=": ordered[0] <= ordered[1],
        }[operator]

    def now_utc(self) -> datetime:
        if self.now is None:
            return datetime.now(UTC)
        return (self.now if self.now.tzinfo else self.now.replace(tzinfo=UTC)).astimezone(UTC)

    def random(self) -> Random:
        return self.rng if self.rng is not None else secrets.SystemRandom()


def _ordering_pair(left: Any, right: Any) -> tuple[Any, Any]:
    # Numbers compare numerically, dates chronologically, anything else ordinally as text.
    if isinstance(left, DateTimeValue) and isinstance(right, DateTimeValue):
        return left.moment, right.moment
    left_text, right_text = to_str(left) or "", to_str(right) or ""
    left_number, right_number = try_number(left_text), try_number(right_text)
    if left_number is not None and right_number is not None:
        return Decimal(left_number), Decimal(right_number)
    return left_text, right_text
