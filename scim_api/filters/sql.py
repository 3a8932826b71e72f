"""SQL building blocks of the filter compiler, and the sources: where one value lives (a column,
a key of a JSONB document, UUID columns, a constant) and how each comparison is written against
it. Every client value is a bound parameter; the only SQL text here is constant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import reduce
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    DecimalField,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    JSONField,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import (
    Contains,
    EndsWith,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)
from scim2_models.path import CompareOperator

_EQ = CompareOperator.eq
_NE = CompareOperator.ne
_ORDERING = frozenset(
    {CompareOperator.gt, CompareOperator.ge, CompareOperator.lt, CompareOperator.le}
)
_SUBSTRING = frozenset({CompareOperator.co, CompareOperator.sw, CompareOperator.ew})
_LOOKUPS = {
    CompareOperator.eq: Exact,
    CompareOperator.co: Contains,
    CompareOperator.sw: StartsWith,
    CompareOperator.ew: EndsWith,
    CompareOperator.gt: GreaterThan,
    CompareOperator.ge: GreaterThanOrEqual,
    CompareOperator.lt: LessThan,
    CompareOperator.le: LessThanOrEqual,
}


def _false() -> Q:
    # Django turns an empty IN into "no rows" (and its negation into "all rows") while compiling,
    # which composes correctly with and/or/not; an empty Q() would silently vanish under |.
    return Q(pk__in=[])


def _true() -> Q:
    return ~Q(pk__in=[])


def _constant(result: bool) -> Q:
    return _true() if result else _false()


class _Element(Expression):
    """The current element inside :class:`_AnyElement`'s ``jsonb_array_elements``."""

    output_field = JSONField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        return "scim_elem.elem", []


class _AnyElement(Expression):
    """``EXISTS`` an element of a JSONB array satisfying a condition on :class:`_Element`.

    Written as SQL because the ORM has no set-returning functions; the array and the condition
    are ordinary compiled expressions, so values and keys stay bound parameters. A non-array
    value is treated as an empty array instead of letting ``jsonb_array_elements`` fail.
    """

    output_field = BooleanField()

    def __init__(self, array: Expression, condition: Q):
        super().__init__()
        self.array = array
        self.condition: Any = ExpressionWrapper(condition, output_field=BooleanField())

    def get_source_expressions(self) -> list:
        return [self.array, self.condition]

    def set_source_expressions(self, exprs: list) -> None:
        self.array, self.condition = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        array_sql, array_params = compiler.compile(self.array)
        try:
            condition_sql, condition_params = compiler.compile(self.condition)
        except EmptyResultSet:
            condition_sql, condition_params = "false", []
        except FullResultSet:
            condition_sql, condition_params = "true", []
        # Only compiled SQL is spliced in; the client's values are in the params.
        elements = (
            f"CASE WHEN jsonb_typeof({array_sql}) = 'array' THEN {array_sql} ELSE '[]'::jsonb END"
        )
        sql = (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements({elements}) AS scim_elem(elem) "
            f"WHERE {condition_sql})"
        )
        return sql, [*array_params, *array_params, *condition_params]


def _json_typeof(json_expr: Expression) -> Func:
    return Func(json_expr, function="jsonb_typeof", output_field=TextField())


def _json_present(json_expr: Expression) -> Q:
    """RFC 7644's ``pr``: a value that is not null, not an empty string and not an empty node."""
    kind = _json_typeof(json_expr)
    return Q(
        IsNull(kind, False),
        ~Q(Exact(kind, "null")),
        ~Q(In(Cast(json_expr, TextField()), ['""', "{}", "[]"])),
    )


def _text_compare(expr: Any, op: CompareOperator, value: str, *, case_exact: bool) -> Q:
    """One string comparison; the caller guarantees ``expr`` is not NULL."""
    if case_exact:
        lhs, rhs = expr, Value(value, output_field=TextField())
    else:
        lhs, rhs = Lower(expr), Lower(Value(value, output_field=TextField()))
    return Q(_LOOKUPS[op](lhs, rhs))


def _numeric(text_expr: Any) -> Func:
    return Func(text_expr, template="(%(expressions)s)::numeric", output_field=DecimalField())


# --------------------------------------------------------------------------------------------
# Where an attribute's values live
# --------------------------------------------------------------------------------------------


class _Source:
    """Where one single value lives, and how each comparison is written against it."""

    def text(self, op: CompareOperator, value: str, *, case_exact: bool) -> Q:
        raise NotImplementedError

    def boolean(self, value: bool) -> Q:
        raise NotImplementedError

    def datetime_range(self, op: CompareOperator, low: datetime, high: datetime | None) -> Q:
        raise NotImplementedError

    def number(self, op: CompareOperator, value: Decimal) -> Q:
        raise NotImplementedError

    def present(self) -> Q:
        raise NotImplementedError

    def sort_key(self, *, case_exact: bool) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class _ExprSource(_Source):
    """A column or an ORM expression of scalar values."""

    expr: Any
    nullable: bool
    #: For text: whether "" counts as absent (pr). False for booleans and timestamps.
    empty_is_absent: bool = True

    def _guard(self, condition: Q) -> Q:
        # NULL AND x is false, never NULL, which keeps `not` two-valued.
        return Q(IsNull(self.expr, False)) & condition if self.nullable else condition

    def text(self, op: CompareOperator, value: str, *, case_exact: bool) -> Q:
        return self._guard(_text_compare(self.expr, op, value, case_exact=case_exact))

    def boolean(self, value: bool) -> Q:
        return self._guard(Q(Exact(self.expr, value)))

    def datetime_range(self, op: CompareOperator, low: datetime, high: datetime | None) -> Q:
        return self._guard(_datetime_condition(self.expr, op, low, high))

    def present(self) -> Q:
        condition = ~Q(Exact(self.expr, "")) if self.empty_is_absent else _true()
        return self._guard(condition) if self.nullable else condition

    def sort_key(self, *, case_exact: bool) -> Any:
        return self.expr if case_exact else Lower(self.expr)


def _datetime_condition(expr: Any, op: CompareOperator, low: datetime, high: datetime | None) -> Q:
    """Compare a timestamp with the interval [low, high) a written dateTime stands for."""
    lo = Value(low, output_field=DateTimeField())
    hi = Value(high, output_field=DateTimeField()) if high is not None else None
    if op in (_EQ, CompareOperator.le):
        upper = Q(LessThan(expr, hi)) if hi is not None else _true()
        return Q(GreaterThanOrEqual(expr, lo)) & upper if op == _EQ else upper
    if op == CompareOperator.gt:
        return Q(GreaterThanOrEqual(expr, hi)) if hi is not None else _false()
    if op == CompareOperator.ge:
        return Q(GreaterThanOrEqual(expr, lo))
    return Q(LessThan(expr, lo))  # lt


@dataclass(frozen=True)
class _JsonSource(_Source):
    """``parent -> key`` inside a JSONB document (``data`` or an array element)."""

    parent: Any
    key: str

    @property
    def json(self) -> KeyTransform:
        return KeyTransform(self.key, self.parent)

    @property
    def as_text(self) -> KeyTextTransform:
        return KeyTextTransform(self.key, self.parent)

    def text(self, op: CompareOperator, value: str, *, case_exact: bool) -> Q:
        return Q(IsNull(self.as_text, False)) & _text_compare(
            self.as_text, op, value, case_exact=case_exact
        )

    def boolean(self, value: bool) -> Q:
        # Compared as text so a boolean stored as the string "True" still matches and a
        # non-boolean never raises a cast error.
        return Q(IsNull(self.as_text, False), Exact(Lower(self.as_text), str(value).lower()))

    def number(self, op: CompareOperator, value: Decimal) -> Q:
        # The cast only ever sees JSON numbers: PostgreSQL evaluates CASE branches lazily.
        guarded = Case(
            When(Exact(_json_typeof(self.json), "number"), then=_numeric(self.as_text)),
            default=None,
            output_field=DecimalField(),
        )
        rhs = Value(value, output_field=DecimalField())
        return Q(IsNull(guarded, False), _LOOKUPS[op](guarded, rhs))

    def datetime_range(self, op: CompareOperator, low: datetime, high: datetime | None) -> Q:
        raise AssertionError("no dateTime attribute lives in JSON")  # pragma: no cover

    def present(self) -> Q:
        return _json_present(self.json)

    def sort_key(self, *, case_exact: bool) -> Any:
        return self.as_text if case_exact else Lower(self.as_text)


@dataclass(frozen=True)
class _UuidSource(_Source):
    """One or more UUID columns (``id``; a membership's user or group)."""

    columns: tuple[tuple[str, bool], ...]  # (column, nullable)

    def text(self, op: CompareOperator, value: str, *, case_exact: bool) -> Q:
        conditions: list[Q] = []
        for column, nullable in self.columns:
            if op == _EQ:
                try:
                    wanted = uuid.UUID(value)
                except ValueError:
                    return _false()  # Not a UUID: no resource has that id, which is no error.
                condition = Q(Exact(F(column), wanted))
            else:
                # A UUID's text form has no case (RFC 9562), whatever the schema says.
                condition = _text_compare(Cast(F(column), TextField()), op, value, case_exact=False)
            if nullable:
                condition = Q(IsNull(F(column), False)) & condition
            conditions.append(condition)
        return reduce(lambda a, b: a | b, conditions)

    def present(self) -> Q:
        if not any(nullable for _, nullable in self.columns):
            return _true()
        return reduce(lambda a, b: a | b, (Q(IsNull(F(c), False)) for c, _ in self.columns))

    def sort_key(self, *, case_exact: bool) -> Any:
        return F(self.columns[0][0])


@dataclass(frozen=True)
class _ConstantSource(_Source):
    """A value that is the same for every row (``meta.resourceType``, ``groups.type``)."""

    value: str

    def text(self, op: CompareOperator, value: str, *, case_exact: bool) -> Q:
        left, right = (self.value, value) if case_exact else (self.value.lower(), value.lower())
        result = {
            CompareOperator.eq: left == right,
            CompareOperator.co: right in left,
            CompareOperator.sw: left.startswith(right),
            CompareOperator.ew: left.endswith(right),
            CompareOperator.gt: left > right,
            CompareOperator.ge: left >= right,
            CompareOperator.lt: left < right,
            CompareOperator.le: left <= right,
        }[op]
        return _constant(result)

    def present(self) -> Q:
        return _true()

    def sort_key(self, *, case_exact: bool) -> Any:
        return None  # Sorting by a constant is a no-op.
