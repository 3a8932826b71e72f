"""The compiler: a filter tree to one :class:`~django.db.models.Q`, with RFC 7644 §3.4.2.2
semantics for each attribute type."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import reduce
from typing import Any

from django.db.models import Q
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from scim_api.errors import InvalidFilter
from scim_api.filters.parse import parse_filter
from scim_api.filters.sql import (
    _EQ,
    _NE,
    _ORDERING,
    _SUBSTRING,
    _Element,
    _json_present,
    _JsonSource,
    _true,
)
from scim_api.filters.targets import _Membership, _Object, _ResourceScope, _Scalar, _Scope, _Target
from scim_api.policy import CompatibilityPolicy
from scim_api.schema import STRING_TYPES


class _Compiler(FilterVisitor[Q]):
    """Turns a filter tree into a :class:`Q`, resolving names in ``scope``."""

    def __init__(self, scope: _Scope, policy: CompatibilityPolicy):
        self.scope = scope
        self.policy = policy

    def visit_logical_expr(self, node: LogicalExpr) -> Q:
        terms = [self.visit(term) for term in node.terms]
        if node.op == LogicalOperator.and_:
            return reduce(lambda a, b: a & b, terms)
        return reduce(lambda a, b: a | b, terms)

    def visit_not(self, node: Not) -> Q:
        return ~self.visit(node.expr)

    def visit_value_path(self, node: ValuePath) -> Q:
        target = self.scope.resolve(node.attr_path)
        if isinstance(target, _Object) and target.json is None:
            raise InvalidFilter(
                f"{target.label!r} is not stored as one value, so {node} cannot select in it; "
                f"filter on its sub-attributes instead (e.g. {target.label}.lastModified)"
            )
        if isinstance(target, _Scalar):
            raise InvalidFilter(
                f"{target.label!r} is not a complex attribute, so {node} cannot select its values"
            )
        if target.attribute.type != "complex" or not target.attribute.sub_attributes:
            raise InvalidFilter(f"{target.label!r} has no sub-attributes to filter on in {node}")
        return target.any(
            lambda scope: _Compiler(scope, self.policy).visit(node.val_filter), InvalidFilter
        )

    def visit_present(self, node: Present) -> Q:
        target = self.scope.resolve(node.attr_path)
        if isinstance(target, _Scalar):
            return target.source.present()
        if isinstance(target, _Object):
            return _true() if target.json is None else _json_present(target.json)
        sub = node.attr_path.sub_attr
        if sub is None:
            if isinstance(target, _Membership):
                return target.any(lambda scope: _true(), InvalidFilter)
            return target.any(lambda scope: _json_present(_Element()), InvalidFilter)
        return target.any(
            lambda scope: self._scalar(scope.resolve(AttrPath(sub)), node).source.present(),
            InvalidFilter,
        )

    def visit_comparison(self, node: Comparison) -> Q:
        target = self.scope.resolve(node.attr_path)
        if isinstance(target, _Scalar):
            return self._compare(target, node)
        if node.op == _NE or node.value is None:
            # On many values "ne" means no value equals, and "eq null" that no value is present:
            # negate outside the EXISTS, not inside it.
            if node.value is None and node.op not in (_EQ, _NE):
                raise InvalidFilter(
                    f"null can only be compared with eq or ne, not {node.op} (in {node})"
                )
            if node.value is None:
                present = self.visit_present(Present(node.attr_path))
                return ~present if node.op == _EQ else present
            return ~self.visit_comparison(Comparison(node.attr_path, _EQ, node.value))
        sub = node.attr_path.sub_attr
        if sub is None:
            # RFC 7644 §3.4.2.2: a comparison on a complex attribute compares its "value".
            if target.attribute.sub("value") is None:
                raise InvalidFilter(
                    f"{target.label!r} is complex and has no 'value'; compare one of its "
                    f"sub-attributes instead (in {node})"
                )
            sub = "value"
            if isinstance(target, _Object):
                return self._compare(
                    _Scalar(
                        f"{target.label}.value",
                        target.attribute.sub("value"),
                        _JsonSource(target.json, target.attribute.sub("value").name),
                    ),
                    node,
                )
        return target.any(
            lambda scope: self._compare(self._scalar(scope.resolve(AttrPath(sub)), node), node),
            InvalidFilter,
        )

    @staticmethod
    def _scalar(target: _Target, node: FilterNode) -> _Scalar:
        assert isinstance(target, _Scalar), node  # sub-attributes are always scalars
        return target

    # -- comparisons -------------------------------------------------------------------------

    def _compare(self, target: _Scalar, node: Comparison) -> Q:
        op, value, kind = node.op, node.value, target.attribute.type
        if value is None:
            if op == _EQ:
                return ~target.source.present()
            if op == _NE:
                return target.source.present()
            raise InvalidFilter(f"null can only be compared with eq or ne, not {op} (in {node})")
        if op == _NE:
            # "Not equal" is the negation of "equal" for every type: rows without the attribute
            # match, and on a multi-valued attribute no value equals the operand.
            return ~self._compare(target, Comparison(node.attr_path, _EQ, value))
        if target.untyped:
            return self._compare_untyped(target, op, value, node)
        if kind == "boolean":
            if op != _EQ:
                raise InvalidFilter(
                    f"{target.label} is a boolean: only eq, ne and pr apply, not {op} (in {node})"
                )
            return target.source.boolean(self._boolean(value, target, node))
        if kind == "dateTime":
            if op in _SUBSTRING:
                raise InvalidFilter(
                    f"{target.label} is a dateTime: {op} does not apply; use eq, ne, gt, ge, lt, "
                    f"le or pr (in {node})"
                )
            low, high = self._datetime(value, target, node)
            return target.source.datetime_range(op, low, high)
        if kind == "binary" and op in _ORDERING:
            raise InvalidFilter(f"{target.label} is binary: {op} does not apply (in {node})")
        if kind not in STRING_TYPES:  # pragma: no cover - the schema has no other scalar types
            raise InvalidFilter(f"{target.label} ({kind}) cannot be compared (in {node})")
        text = self._string(value, target, node)
        return target.source.text(op, text, case_exact=target.attribute.case_exact)

    def _compare_untyped(self, target: _Scalar, op: CompareOperator, value: Any, node: Any) -> Q:
        """Custom extension attributes: the literal's type picks the comparison."""
        if isinstance(value, bool):
            if op != _EQ:
                raise InvalidFilter(f"a boolean only compares with eq, ne or pr (in {node})")
            return target.source.boolean(value)
        if isinstance(value, int | float):
            if op in _SUBSTRING:
                raise InvalidFilter(f"a number cannot be compared with {op} (in {node})")
            return target.source.number(op, _decimal(value, node))
        text = self._checked_text(value, node)
        return target.source.text(op, text, case_exact=False)

    def _string(self, value: Any, target: _Scalar, node: Comparison) -> str:
        if isinstance(value, str):
            return self._checked_text(value, node)
        if self.policy.unquoted_filter_values:
            # Azure AD's unquoted `externalId eq 12345` reaches us as a number literal.
            return json.dumps(value)
        raise InvalidFilter(
            f"{target.label} is a string: the value must be a quoted string, not "
            f"{json.dumps(value)} (in {node})"
        )

    @staticmethod
    def _checked_text(value: str, node: Any) -> str:
        # PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded; both would
        # otherwise fail deep in the driver.
        if "\x00" in value:
            raise InvalidFilter(f"a filter value cannot contain the NUL character (in {node})")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidFilter(
                f"a filter value contains an unpaired surrogate \\u{ord(exc.object[exc.start]):04x}"
                f" (in {node})"
            ) from None
        return value

    def _boolean(self, value: Any, target: _Scalar, node: Comparison) -> bool:
        if isinstance(value, bool):
            return value
        if (
            self.policy.boolean_strings
            and isinstance(value, str)
            and value.lower() in ("true", "false")
        ):
            return value.lower() == "true"
        raise InvalidFilter(
            f"{target.label} is a boolean: compare it with true or false, not "
            f"{json.dumps(value)} (in {node})"
        )

    @staticmethod
    def _datetime(
        value: Any, target: _Scalar, node: Comparison
    ) -> tuple[datetime, datetime | None]:
        """The interval [low, high) a written dateTime covers at the precision it is written."""
        try:
            if not isinstance(value, str):
                raise ValueError
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)  # xsd:dateTime without offset: take UTC
            moment = moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise InvalidFilter(
                f"{target.label} is a dateTime: {json.dumps(value)} is not one; write e.g. "
                f'"2011-05-13T04:42:34Z" (in {node})'
            ) from None
        fractional = re.search(r"T\d\d:\d\d:\d\d\.\d", value) is not None
        step = timedelta(microseconds=1) if fractional else timedelta(seconds=1)
        try:
            return moment, moment + step
        except OverflowError:
            return moment, None


def _decimal(value: int | float, node: Any) -> Decimal:
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:  # pragma: no cover - the grammar refuses inf/nan
        raise InvalidFilter(f"{value!r} is not a usable number (in {node})") from None


def check_text_value(value: str, node: Any) -> None:
    """What compiling ``node`` checks of its string ``value`` (no NUL, no lone surrogate), for a
    caller that has the SQL of ``node``'s shape already and only needs the value checked."""
    _Compiler._checked_text(value, node)


def compile_filter(text: str, *, resource_type: str, policy: CompatibilityPolicy) -> Q:
    """Compile a SCIM filter into a :class:`Q` over ``ScimUser`` or ``ScimGroup``.

    ``resource_type`` is ``"User"`` or ``"Group"``. The result is one ``Q`` node, meant for
    ``Model.objects.filter(tenant=t).filter(q)``: Django parenthesises it, so a top-level ``or``
    cannot escape the tenant clause. Anything invalid raises :class:`InvalidFilter` whose
    ``detail`` says what is wrong and where.
    """
    node = parse_filter(text, policy=policy)
    return _Compiler(_ResourceScope(resource_type, InvalidFilter), policy).visit(node)
