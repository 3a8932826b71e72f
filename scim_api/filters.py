"""SCIM ``filter`` and ``sortBy`` (RFC 7644 §3.4.2.2, §3.4.2.3) compiled to Django ORM expressions.

List endpoints must filter and sort in PostgreSQL, not in Python, and a filter is untrusted text:
the django-scim2 mistake was to turn it into SQL strings with the tenant clause appended as text.
Here the text is parsed by the grammar of scim2-models (a lark LALR parser, RFC 7644 ABNF with its
errata, plus Entra's ``emails[type eq "work"].value eq "x"`` form), every attribute name is resolved
against the schema registry in :mod:`scim_api.schema` (the allow-list), and the result is a
:class:`~django.db.models.Q` built from ORM lookups. Every value is a bound parameter; JSON keys go
through :class:`KeyTransform`, which binds them too; the only SQL text written in this module is
constant.

Why scim2-models' parser but not the rest of it: its ``ScimFilter(text).ast`` and
``FilterVisitor`` are exactly what a transpiler needs, and its depth limit protects the recursive
visitors. Its attribute *resolution* is bound to its own pydantic resource models, which know
nothing of our columns, of the JSONB layout, of Azure AD's custom extension URNs or of our
schema registry, so names are resolved here instead. Its grammar has no switch for Azure AD's
unquoted values (``externalId eq jyoung``); :func:`parse_filter` quotes them before parsing when
:attr:`CompatibilityPolicy.unquoted_filter_values` allows it.

Semantics worth knowing:

* Strings compare case-insensitively (``lower()`` on both sides, PostgreSQL's notion of case)
  unless the schema says ``caseExact``. Ids are UUIDs: their text form compares without case,
  and a value that is not a UUID matches nothing.
* Every compiled condition is two-valued (true or false, never SQL ``NULL``), so ``not`` and
  ``ne`` behave: ``title ne "x"`` matches users without a title, like scim2-models' evaluator.
* On a multi-valued attribute a comparison matches when *any* value matches; ``ne`` is the
  negation of ``eq``, i.e. no value equals the operand.
* ``eq null`` means "not present" and ``ne null`` "present".
* A dateTime is compared at the precision it is written with: ``meta.lastModified eq
  "2011-05-13T04:42:34Z"`` matches the whole second, so filters built from the second-precision
  timestamps a client read back still work.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import reduce
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    DecimalField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    JSONField,
    OuterRef,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Lower
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
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedToken,
    VisitError,
)
from scim2_models import ScimFilter
from scim2_models.exceptions import InvalidFilterException, InvalidPathException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Path,
    Present,
    ValuePath,
)

from scim_api.errors import InvalidFilter, InvalidValue, ScimError
from scim_api.models import ScimGroupMember
from scim_api.policy import CompatibilityPolicy
from scim_api.schema import (
    CORE_GROUP,
    CORE_USER,
    STRING_TYPES,
    Attribute,
    ResolvedAttribute,
    UnknownAttribute,
    extension_urn,
    resolve_attribute,
    resource_type_by_name,
)

__all__ = [
    "MAX_FILTER_LENGTH",
    "MAX_NESTING_DEPTH",
    "compile_filter",
    "compile_sort",
    "parse_filter",
]

#: Longer filters are refused before parsing: no client needs more, and parsing and compiling
#: cost grows with the text.
MAX_FILTER_LENGTH = 4096
#: How deeply ``and``/``or``/``not``/``[...]`` may nest. Azure AD never goes past 2; the cap keeps
#: the recursive visitor and the generated SQL small. (scim2-models refuses more than 32 while
#: parsing, so this must stay below that.)
MAX_NESTING_DEPTH = 16

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


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_filter(text: str, *, policy: CompatibilityPolicy) -> FilterNode:
    """Parse filter text into scim2-models' syntax tree, or raise :class:`InvalidFilter`."""
    if not isinstance(text, str):
        raise InvalidFilter("the filter must be a string")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(
            f"the filter is {len(text)} characters long; at most {MAX_FILTER_LENGTH} are accepted"
        )
    if not text.strip():
        raise InvalidFilter("the filter is empty")
    try:
        node = ScimFilter(text).ast
    except InvalidFilterException as exc:
        node = _parse_unquoted(text, policy=policy, original=exc)
    depth = _nesting_depth(node)
    if depth > MAX_NESTING_DEPTH:
        raise InvalidFilter(
            f"the filter nests expressions {depth} levels deep; at most {MAX_NESTING_DEPTH} "
            "are accepted"
        )
    return node


def _parse_unquoted(
    text: str, *, policy: CompatibilityPolicy, original: InvalidFilterException
) -> FilterNode:
    """Second chance for a filter the RFC grammar refused: Azure AD's unquoted values."""
    bare = _bare_values(text)
    if bare and policy.unquoted_filter_values:
        rewritten = text
        # Right to left, so that earlier offsets stay valid while splicing.
        for start, word in reversed(bare):
            rewritten = rewritten[:start] + json.dumps(word) + rewritten[start + len(word) :]
        try:
            return ScimFilter(rewritten).ast
        except InvalidFilterException:
            pass  # Report the error against the text the client sent, not our rewrite.
    elif bare:
        start, word = bare[0]
        raise InvalidFilter(
            f"the value {word!r} at column {start + 1} is not quoted; string values must be "
            'written in double quotes (e.g. "jyoung")'
        ) from original
    raise InvalidFilter(_syntax_error_detail(text, original)) from original


_TOKEN_RE = re.compile(
    r'(?P<ws>\s+)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\]])|(?P<word>[^\s()\[\]"]+)|(?P<other>.)',
    re.S,
)
_LITERAL_RE = re.compile(
    r"true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.I
)
_OPERATOR_WORDS = frozenset(op.value for op in CompareOperator)


def _bare_values(text: str) -> list[tuple[int, str]]:
    """Find comparison values written without quotes, as ``(offset, word)``.

    A small state machine over a coarse tokenisation: it only has to know where a comparison
    value is expected (right after ``attrPath op``); everything else is left to the real parser.
    """
    found: list[tuple[int, str]] = []
    state = "attr"  # attr -> op -> value -> after -> (and/or) attr
    for match in _TOKEN_RE.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "ws":
            continue
        lowered = token.lower()
        if state == "value":
            if kind == "word" and not _LITERAL_RE.fullmatch(token):
                found.append((match.start(), token))
            state = "after"
        elif kind == "punct":
            state = "attr" if token in "([" else "after"
        elif kind != "word":
            state = "after"
        elif state == "attr":
            state = "attr" if lowered == "not" else "op"
        elif state == "op":
            state = "value" if lowered in _OPERATOR_WORDS else "after"
        elif lowered in ("and", "or"):
            state = "attr"
        elif token.startswith("."):  # emails[type eq "work"].value eq x
            state = "op"
    return found


_TERMINAL_NAMES = {
    "ATTR_PATH": "an attribute name",
    "SUB_ATTR": "a sub-attribute name",
    "COMPARE_OP": "a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le)",
    "PR": '"pr"',
    "STRING": "a value",
    "NUMBER": "a value",
    "TRUE": "a value",
    "FALSE": "a value",
    "NULL": "a value",
    "_AND": '"and"',
    "_OR": '"or"',
    "_NOT": '"not"',
    "_LPAR": '"("',
    "_RPAR": '")"',
    "_LBRACKET": '"["',
    "_RBRACKET": '"]"',
    "_DOT": '"."',
    "$END": "the end of the filter",
}


def _expected(names: Any) -> str:
    readable = sorted({_TERMINAL_NAMES.get(name, name) for name in names or ()})
    if not readable:
        return ""
    text = readable[0] if len(readable) == 1 else ", ".join(readable[:-1]) + " or " + readable[-1]
    return f"; expected {text}".replace(
        "a value", "a value (a quoted string, a number, true, false or null)"
    )


def _syntax_error_detail(text: str, exc: InvalidFilterException) -> str:
    """Say what is wrong and where, from the lark error scim2-models wraps."""
    cause = exc.__cause__
    if isinstance(cause, UnexpectedCharacters):
        position = cause.pos_in_stream
        if text[position] == '"':
            return (
                f"the string starting at column {cause.column} is not terminated "
                "(or contains an invalid escape sequence or a control character)"
            )
        word = re.match(r'[^\s()\[\]"]+', text[position:])
        shown = word.group() if word else text[position]
        return f"unexpected {shown!r} at column {cause.column}{_expected(cause.allowed)}"
    if isinstance(cause, UnexpectedToken):
        if cause.token.type == "$END":
            return f"the filter ends too early{_expected(cause.expected)}"
        return (
            f"unexpected {str(cause.token)!r} at column {cause.column}{_expected(cause.expected)}"
        )
    if isinstance(cause, UnexpectedEOF):
        return f"the filter ends too early{_expected(cause.expected)}"
    if isinstance(cause, VisitError):
        return f"invalid filter: {cause.orig_exc}"
    if isinstance(cause, LarkError):  # pragma: no cover - lark has no other parse errors today
        return "invalid filter syntax"
    if "nests more than" in str(exc.detail):
        return f"the filter nests expressions more than {MAX_NESTING_DEPTH} levels deep"
    return f"invalid filter: {exc.detail}"


def _nesting_depth(node: FilterNode) -> int:
    """Depth as scim2-models counts it (and/or/not/[...] add a level), without recursion."""
    deepest = 0
    stack: list[tuple[FilterNode, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(current, LogicalExpr):
            stack.extend((term, depth + 1) for term in current.terms)
        elif isinstance(current, Not):
            stack.append((current.expr, depth + 1))
        elif isinstance(current, ValuePath):
            stack.append((current.val_filter, depth + 1))
    return deepest


# --------------------------------------------------------------------------------------------
# SQL building blocks
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# What an attribute path resolves to
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scalar:
    """A single value: compared, tested for presence, sorted."""

    label: str
    attribute: Attribute
    source: _Source
    #: Custom extension attributes have no schema: the literal's type decides the comparison.
    untyped: bool = False


@dataclass(frozen=True)
class _Object:
    """A single-valued complex attribute held as a JSON object (``name``, ``manager``)."""

    label: str
    attribute: Attribute
    json: Any  # the object, as a JSONB expression

    def scope(self, error: type[ScimError]) -> _Scope:
        return _ObjectScope(self, error)

    def any(self, build: Callable[[_Scope], Q], error: type[ScimError]) -> Q:
        # name[givenName eq "x"]: one object, so no EXISTS; but it has to be there at all,
        # or `name[not (givenName eq "x")]` would match users without a name.
        return Q(Exact(_json_typeof(self.json), "object")) & build(self.scope(error))


@dataclass(frozen=True)
class _JsonArray:
    """A multi-valued complex attribute held as a JSON array in ``data`` (``emails``)."""

    label: str
    attribute: Attribute
    json: Any

    def scope(self, error: type[ScimError]) -> _Scope:
        return _ElementScope(self, error)

    def any(self, build: Callable[[_Scope], Q], error: type[ScimError]) -> Q:
        return Q(_AnyElement(self.json, build(self.scope(error))))


@dataclass(frozen=True)
class _Membership:
    """``groups`` of a User or ``members`` of a Group: rows of :class:`ScimGroupMember`."""

    label: str
    attribute: Attribute
    owner_field: str  # "user" or "group"

    def scope(self, error: type[ScimError]) -> _Scope:
        return _MembershipScope(self, error)

    def any(self, build: Callable[[_Scope], Q], error: type[ScimError]) -> Q:
        rows = ScimGroupMember.objects.filter(**{self.owner_field: OuterRef("pk")})
        return Q(Exists(rows.filter(build(self.scope(error)))))


_Target = _Scalar | _Object | _JsonArray | _Membership


class _Scope:
    """Resolves attribute paths written in one place of a filter to targets."""

    def __init__(self, error: type[ScimError]):
        self.error = error

    def resolve(self, path: AttrPath) -> _Target:
        raise NotImplementedError

    def _sub_target(self, owner: _Target, sub_name: str, label: str) -> _Target:
        """``owner.sub``: one sub-attribute of a complex attribute."""
        sub = owner.attribute.sub(sub_name)
        if sub is None:
            names = ", ".join(a.name for a in owner.attribute.sub_attributes)
            raise self.error(
                f"{owner.attribute.name} has no sub-attribute {sub_name!r} (in {label!r}); "
                f"its sub-attributes are: {names}"
            )
        if isinstance(owner, _Object):
            return _Scalar(label, sub, _JsonSource(owner.json, sub.name))
        # Multi-valued: the caller wraps the comparison in owner.any(...).
        return owner

    def _unfilterable(self, label: str, why: str) -> ScimError:
        return self.error(f"{label!r} cannot be used in a filter or sortBy: {why}")


_COMPUTED_WHY = "it is computed when a resource is rendered, not stored"


class _ResourceScope(_Scope):
    """Top-level names of a User or a Group: columns, JSON in ``data``, memberships."""

    def __init__(self, resource_type: str, error: type[ScimError]):
        super().__init__(error)
        self.resource = resource_type_by_name(resource_type)
        self.resource_type = self.resource.name

    def resolve(self, path: AttrPath) -> _Target:
        label = str(path)
        whole = (
            extension_urn(self.resource, f"{path.uri}:{path.attr}")
            if path.uri is not None and path.sub_attr is None
            else None
        )
        if whole is not None:  # a whole extension, e.g. "urn:...:enterprise:2.0:User pr"
            return _Object(label, Attribute(whole, type="complex"), self._extension(whole))
        resolved = self._find(path, label)
        attribute = resolved.definition
        # Multi-valued targets are labelled without the sub-attribute: their scopes append it.
        target = self._top_level(resolved, str(AttrPath(path.attr, None, path.uri)))
        if path.sub_attr is None:
            return target
        if not attribute.sub_attributes:
            if resolved.custom:
                # Custom extensions have no schema here; a dotted name is a nested key.
                parent = KeyTransform(attribute.name, self._extension(resolved.schema_id or ""))
                return _Scalar(
                    label, Attribute(path.sub_attr), _JsonSource(parent, path.sub_attr), True
                )
            raise self.error(f"{attribute.name} has no sub-attributes, so {label!r} names nothing")
        return self._sub_of(target, path.sub_attr, label)

    def _find(self, path: AttrPath, label: str) -> ResolvedAttribute:
        """The schema definition a path names, and the schema it comes from."""
        try:
            # Azure AD's legacy `manager eq "<id>"` names the enterprise manager.
            return resolve_attribute(self.resource, path.uri, path.attr, manager_alias=True)
        except UnknownAttribute as exc:
            if exc.uri is None:
                detail = f"unknown attribute {label!r} for a {self.resource_type}"
                raise self.error(detail) from None
            if exc.schema is not None:
                raise self.error(
                    f"unknown attribute {path.attr!r} in schema {exc.schema.id}"
                ) from None
        schemas = (self.resource.schema, *self.resource.extensions)
        raise self.error(
            f"unknown schema {path.uri!r} in {label!r}: a {self.resource_type} filter may use "
            f"{', '.join(s.id for s in schemas)} or a custom extension "
            f"urn:ietf:params:scim:schemas:extension:<Name>:2.0:{self.resource_type}"
        )

    def _extension(self, urn: str) -> KeyTransform:
        # Custom extension keys are stored as the client spelled them; JSON keys are
        # case-sensitive, so the filter must spell the URN the same way.
        return KeyTransform(extension_urn(self.resource, urn) or urn, F("data"))

    def _top_level(self, resolved: ResolvedAttribute, label: str) -> _Target:
        attribute, schema_id = resolved.definition, resolved.schema_id
        name = attribute.name
        if attribute.returned == "never":
            raise self._unfilterable(label, "it is write-only")
        if schema_id is None:  # common attributes
            if name == "id":
                return _Scalar(label, attribute, _UuidSource((("id", False),)))
            if name == "externalId":
                return _Scalar(label, attribute, _ExprSource(F("external_id"), nullable=True))
            return _Object(label, attribute, None)  # meta: only its sub-attributes are stored
        if schema_id == CORE_USER and name == "userName":
            return _Scalar(label, attribute, _ExprSource(F("user_name"), nullable=False))
        if schema_id in (CORE_USER, CORE_GROUP) and name == "displayName":
            return _Scalar(label, attribute, _ExprSource(F("display_name"), nullable=False))
        if schema_id == CORE_USER and name == "active":
            source = _ExprSource(F("active"), nullable=False, empty_is_absent=False)
            return _Scalar(label, attribute, source)
        if schema_id == CORE_USER and name == "groups":
            return _Membership(label, attribute, "user")
        if schema_id == CORE_GROUP and name == "members":
            return _Membership(label, attribute, "group")
        parent = F("data") if schema_id in (CORE_USER, CORE_GROUP) else self._extension(schema_id)
        if resolved.custom:
            return _Scalar(label, attribute, _JsonSource(parent, attribute.name), untyped=True)
        if attribute.multi_valued:
            return _JsonArray(label, attribute, KeyTransform(name, parent))
        if attribute.type == "complex":
            return _Object(label, attribute, KeyTransform(name, parent))
        return _Scalar(label, attribute, _JsonSource(parent, name))

    def _sub_of(self, target: _Target, sub_name: str, label: str) -> _Target:
        if target.attribute.name == "meta":
            sub = target.attribute.sub(sub_name)
            if sub is None or sub.name in ("location", "version"):
                raise (
                    self._unfilterable(label, _COMPUTED_WHY)
                    if sub is not None
                    else self.error(f"meta has no sub-attribute {sub_name!r} (in {label!r})")
                )
            if sub.name == "resourceType":
                return _Scalar(label, sub, _ConstantSource(self.resource_type))
            column = "created" if sub.name == "created" else "last_modified"
            return _Scalar(
                label, sub, _ExprSource(F(column), nullable=False, empty_is_absent=False)
            )
        return self._sub_target(target, sub_name, label)


class _ObjectScope(_Scope):
    """Names inside ``name[...]``: sub-attributes of one JSON object."""

    def __init__(self, owner: _Object, error: type[ScimError]):
        super().__init__(error)
        self.owner = owner

    def resolve(self, path: AttrPath) -> _Target:
        _check_inner_path(path, self.owner.label, self.error)
        return self._sub_target(self.owner, path.attr, f"{self.owner.label}.{path.attr}")


class _ElementScope(_Scope):
    """Names inside ``emails[...]``: sub-attributes of the current array element."""

    def __init__(self, owner: _JsonArray, error: type[ScimError]):
        super().__init__(error)
        self.owner = owner

    def resolve(self, path: AttrPath) -> _Target:
        _check_inner_path(path, self.owner.label, self.error)
        label = f"{self.owner.label}.{path.attr}"
        sub = self.owner.attribute.sub(path.attr)
        if sub is None:
            self._sub_target(self.owner, path.attr, label)  # raises, naming the choices
        return _Scalar(label, sub, _JsonSource(_Element(), sub.name))


class _MembershipScope(_Scope):
    """Names inside ``groups[...]``/``members[...]``: columns of a :class:`ScimGroupMember`."""

    def __init__(self, owner: _Membership, error: type[ScimError]):
        super().__init__(error)
        self.owner = owner

    def resolve(self, path: AttrPath) -> _Target:
        _check_inner_path(path, self.owner.label, self.error)
        label = f"{self.owner.label}.{path.attr}"
        sub = self.owner.attribute.sub(path.attr)
        if sub is None:
            self._sub_target(self.owner, path.attr, label)  # raises, naming the choices
        if sub.name == "$ref":
            raise self._unfilterable(label, _COMPUTED_WHY)
        user_side = self.owner.owner_field == "user"
        if sub.name == "value":
            columns = (
                (("group_id", False),)
                if user_side
                else (("user_id", True), ("member_group_id", True))
            )
            return _Scalar(label, sub, _UuidSource(columns))
        if sub.name == "display":
            if user_side:
                return _Scalar(label, sub, _ExprSource(F("group__display_name"), nullable=False))
            display = Coalesce(F("user__display_name"), F("member_group__display_name"))
            return _Scalar(label, sub, _ExprSource(display, nullable=True))
        # type: every stored membership of a user is direct; a member is a User or a Group.
        if user_side:
            return _Scalar(label, sub, _ConstantSource("direct"))
        kind = Case(
            When(user__isnull=False, then=Value("User")),
            default=Value("Group"),
            output_field=TextField(),
        )
        return _Scalar(label, sub, _ExprSource(kind, nullable=False))


def _check_inner_path(path: AttrPath, owner: str, error: type[ScimError]) -> None:
    if path.uri is not None or path.sub_attr is not None:
        raise error(
            f"inside {owner}[...] only sub-attributes of {owner} can be named, not {str(path)!r}"
        )


# --------------------------------------------------------------------------------------------
# The compiler
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def compile_filter(text: str, *, resource_type: str, policy: CompatibilityPolicy) -> Q:
    """Compile a SCIM filter into a :class:`Q` over ``ScimUser`` or ``ScimGroup``.

    ``resource_type`` is ``"User"`` or ``"Group"``. The result is one ``Q`` node, meant for
    ``Model.objects.filter(tenant=t).filter(q)``: Django parenthesises it, so a top-level ``or``
    cannot escape the tenant clause. Anything invalid raises :class:`InvalidFilter` whose
    ``detail`` says what is wrong and where.
    """
    node = parse_filter(text, policy=policy)
    return _Compiler(_ResourceScope(resource_type, InvalidFilter), policy).visit(node)


def compile_sort(sort_by: str, *, resource_type: str, descending: bool) -> list:
    """Compile ``sortBy``/``sortOrder`` into arguments for ``.order_by(*...)``.

    Strings sort case-insensitively unless ``caseExact``; a multi-valued attribute sorts by its
    primary value, or its first one (RFC 7644 §3.4.2.3); resources without the attribute come
    last in both directions. ``id`` is appended as a tie-breaker so that pages are stable.
    An unusable ``sortBy`` raises :class:`InvalidValue` (``scimType`` ``invalidValue``): RFC 7644
    defines ``invalidFilter`` for filters only.
    """
    if not isinstance(sort_by, str) or not sort_by.strip():
        raise InvalidValue("sortBy is empty")
    if len(sort_by) > MAX_FILTER_LENGTH:
        raise InvalidValue(f"sortBy is longer than {MAX_FILTER_LENGTH} characters")
    try:
        path = Path(sort_by.strip()).ast
    except InvalidPathException as exc:
        raise InvalidValue(f"sortBy {sort_by!r} is not an attribute path: {exc.detail}") from None
    if not isinstance(path, AttrPath):
        raise InvalidValue(f"sortBy {sort_by!r} must name an attribute, not select values")
    target = _ResourceScope(resource_type, InvalidValue).resolve(path)
    key = _sort_key(target, path, sort_by)
    tie_breaker = F("id").desc() if descending else F("id").asc()
    if key is None:
        return [tie_breaker]
    ordered = key.desc(nulls_last=True) if descending else key.asc(nulls_last=True)
    return [ordered] if path.attr.lower() == "id" and path.uri is None else [ordered, tie_breaker]


def _sort_key(target: _Target, path: AttrPath, sort_by: str) -> Any:
    if isinstance(target, _Scalar):
        # Custom extension values (untyped) sort like strings, without case.
        case_exact = not target.untyped and (
            target.attribute.case_exact or target.attribute.type != "string"
        )
        return target.source.sort_key(case_exact=case_exact)
    if isinstance(target, _Membership):
        raise InvalidValue(f"cannot sort by {sort_by!r}: {_COMPUTED_WHY}")
    sub = target.attribute.sub(path.sub_attr or "value")
    if sub is None or isinstance(target, _Object) and target.json is None:
        raise InvalidValue(
            f"cannot sort by {sort_by!r}: it is complex; name one of its sub-attributes"
        )
    if isinstance(target, _Object):
        return _JsonSource(target.json, sub.name).sort_key(case_exact=sub.case_exact)
    return _primary_or_first(target.json, sub)


def _primary_or_first(array: Any, sub: Attribute) -> Any:
    """``sub`` of the element marked primary, else of the first element."""
    # The jsonpath is built from a schema name only (never client text) and bound as a param.
    jsonpath = (
        '$[*] ? (@.primary == true || @.primary == "true" || @.primary == "True").'
        + json.dumps(sub.name)
    )
    primary = Func(
        array,
        Func(Value(jsonpath), template="(%(expressions)s)::jsonpath", output_field=TextField()),
        function="jsonb_path_query_first",
        output_field=JSONField(),
    )
    primary_text = Func(primary, template="(%(expressions)s #>> '{}')", output_field=TextField())
    first_text = KeyTextTransform(sub.name, KeyTransform(0, array))
    value = Coalesce(primary_text, first_text, output_field=TextField())
    return value if sub.case_exact or sub.type != "string" else Lower(value)
