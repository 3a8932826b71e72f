"""The Entra ID attribute-mapping expression language.

Entra's "Expression" mapping type takes a VBA-like script such as
``Join(" ", [givenName], [surname])``. This module parses those scripts with a real grammar,
reports syntax errors with positions for the console's "Expression input" box, and evaluates them
against a directory object (a mapping of attribute name to value) with the semantics Microsoft
documents in "Reference for writing expressions for attribute mappings in Microsoft Entra ID".

Value model (the choices Entra leaves implicit):

* ``None`` is null. An absent attribute, an empty argument slot (``Switch([a], , ...)``) and an
  empty multi-valued attribute are all null. Null values are never provisioned.
* Booleans produced by functions (``CBool``, ``IsNull``, ``Not``, comparisons, ...) are the strings
  ``"True"``/``"False"``, because that is how Entra flows them to SCIM and how ``Switch`` keys are
  written in the default ``active`` mapping. Functions that consume booleans accept those strings
  (any case), Python ``bool`` and numbers (non-zero is true).
* Date functions return :class:`DateTimeValue`, a ``str`` rendered as ``M/d/yyyy h:mm:ss tt`` in UTC
  (Entra's documented output) that also carries the exact ``datetime`` for further date maths.
* ``Redact`` returns :class:`Redacted` (a ``str``); any expression that contains ``Redact`` anywhere
  yields a ``Redacted`` result so a log writer can never leak it (see :func:`redact_for_log`).
* ``IgnoreFlowIfNullOrEmpty`` makes :meth:`Expression.evaluate` return the :data:`IGNORE_FLOW`
  sentinel: the engine must drop the target attribute from the flow.
* The role functions return :class:`AppRoleAssignments`, a list of SCIM role dicts whose
  ``replace`` flag says whether the engine must PATCH ``replace`` (assertive) or ``add``.
"""

from __future__ import annotations

import base64
import difflib
import re
import secrets
import string
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from random import Random
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

__all__ = [
    "IGNORE_FLOW",
    "MAX_EXPRESSION_LENGTH",
    "PARSE_SUCCESS_MESSAGE",
    "AppRoleAssignments",
    "DateTimeValue",
    "Expression",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "FUNCTION_NAMES",
    "Redacted",
    "parse_expression",
    "redact_for_log",
    "validate_expression",
]

MAX_EXPRESSION_LENGTH = 10_000
# Deep nesting is never useful in a mapping and would let a 10,000-character input exhaust the
# Python stack during evaluation, so it is rejected as a syntax error.
MAX_NESTING_DEPTH = 64
PARSE_SUCCESS_MESSAGE = "The expression was correctly parsed."
REDACTED_LOG_TEXT = "[Redact]"
ROLE_TYPE = "WindowsAzureActiveDirectoryRole"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Errors and special values
# --------------------------------------------------------------------------------------------


class ExpressionError(Exception):
    """Base class for everything this module raises on purpose."""


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression; ``message`` is ready to show next to the input box."""

    def __init__(self, message: str, line: int, column: int, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.position = position


class ExpressionEvaluationError(ExpressionError):
    """A function failed on the values it received (recorded as a provisioning-log failure)."""

    def __init__(self, function: str | None, message: str) -> None:
        super().__init__(f"{function}: {message}" if function else message)
        self.function = function
        self.message = message


class _IgnoreFlow:
    """Type of :data:`IGNORE_FLOW`; a singleton so ``is`` comparisons are reliable."""

    _instance: _IgnoreFlow | None = None

    def __new__(cls) -> _IgnoreFlow:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "IGNORE_FLOW"

    def __bool__(self) -> bool:
        return False


IGNORE_FLOW = _IgnoreFlow()


class _IgnoreFlowSignal(Exception):
    """Unwinds evaluation from wherever IgnoreFlowIfNullOrEmpty fired up to ``evaluate``."""


class Redacted(str):
    """A value that flows to the target but must be logged as ``[Redact]``."""

    __slots__ = ()


class DateTimeValue(str):
    """Entra's DateTime: renders as ``M/d/yyyy h:mm:ss tt`` (UTC) and keeps the exact moment."""

    moment: datetime

    def __new__(cls, moment: datetime) -> DateTimeValue:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        instance = super().__new__(cls, _format_entra_datetime(moment))
        instance.moment = moment
        return instance


class AppRoleAssignments(list):
    """SCIM ``roles`` values built from ``[appRoleAssignments]``.

    ``replace`` is True for AssertiveAppRoleAssignmentsComplex: Entra then PATCHes ``replace`` so
    roles no longer assigned are removed; otherwise it PATCHes ``add`` and never removes.
    """

    def __init__(self, roles: Sequence[dict[str, Any]] = (), *, replace: bool = False) -> None:
        super().__init__(roles)
        self.replace = replace


def redact_for_log(value: Any) -> Any:
    """The text a provisioning log may show for ``value``."""
    if isinstance(value, Redacted):
        return REDACTED_LOG_TEXT
    if isinstance(value, list) and any(isinstance(item, Redacted) for item in value):
        return [REDACTED_LOG_TEXT for _ in value]
    return value


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A syntax-tree node. Positions are excluded from equality so re-parsed text compares equal."""

    position: int = field(default=0, compare=False, kw_only=True)
    line: int = field(default=1, compare=False, kw_only=True)
    column: int = field(default=1, compare=False, kw_only=True)

    def children(self) -> tuple[Node, ...]:
        return ()

    def to_text(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(frozen=True)
class Empty(Node):
    """An omitted argument, e.g. the default in ``Switch([IsSoftDeleted], , ...)``; means null."""

    def to_text(self) -> str:
        return ""


@dataclass(frozen=True)
class StringLiteral(Node):
    value: str = ""

    def to_text(self) -> str:
        return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class NumberLiteral(Node):
    value: int | Decimal = 0

    def to_text(self) -> str:
        return format(self.value, "f") if isinstance(self.value, Decimal) else str(self.value)


@dataclass(frozen=True)
class Attribute(Node):
    name: str = ""

    def to_text(self) -> str:
        return f"[{self.name}]"


@dataclass(frozen=True)
class Identifier(Node):
    """A bare VBA constant such as ``vbTextCompare`` (InStr's compare type)."""

    name: str = ""

    def to_text(self) -> str:
        return self.name


@dataclass(frozen=True)
class Comparison(Node):
    operator: str = "="
    left: Node = field(default_factory=Empty)
    right: Node = field(default_factory=Empty)

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def to_text(self) -> str:
        return f"{self.left.to_text()} {self.operator} {self.right.to_text()}"


@dataclass(frozen=True)
class Call(Node):
    name: str = ""
    args: tuple[Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return self.args

    def to_text(self) -> str:
        return f"{self.name}(" + ", ".join(arg.to_text() for arg in self.args) + ")"


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


# --------------------------------------------------------------------------------------------
# Grammar and parsing
# --------------------------------------------------------------------------------------------

_GRAMMAR = r"""
?start: expr

?expr: term
     | term COMP_OP term            -> comparison

?term: call
     | ATTRIBUTE                    -> attribute
     | STRING                       -> string
     | NUMBER                       -> number
     | HEXNUMBER                    -> hexnumber
     | NAME                         -> identifier

call: NAME "(" arglist ")"
arglist: [expr] ("," [expr])*

COMP_OP: "<>" | "<=" | ">=" | "=" | "<" | ">"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
ATTRIBUTE: /\[[A-Za-z0-9_.\-]+\]/
STRING: /"(?:[^"\\]|\\.)*"/s
NUMBER: /-?[0-9]+(?:\.[0-9]+)?/
HEXNUMBER: /&[Hh][0-9A-Fa-f]+/

%import common.WS
%ignore WS
"""

_PARSER = Lark(
    _GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True, start="start"
)

# Friendly names for lark's terminal names in "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a function name",
    "ATTRIBUTE": "an [attribute]",
    "STRING": 'a "string"',
    "NUMBER": "a number",
    "HEXNUMBER": "a number",
    "COMP_OP": "a comparison operator",
    "LPAR": '"("',
    "RPAR": '")"',
    "COMMA": '","',
    "$END": "the end of the expression",
}

_IDENTIFIERS = {"vbTextCompare", "vbBinaryCompare"}


def _describe_position(line: int, column: int) -> str:
    return f"line {line}, column {column}"


def _syntax_error(message: str, text: str, position: int) -> ExpressionSyntaxError:
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return ExpressionSyntaxError(
        f"{message} (at {_describe_position(line, column)}, position {position}).",
        line,
        column,
        position,
    )


def _expected_text(expected: set[str] | frozenset[str]) -> str:
    names = sorted({_TERMINAL_NAMES.get(name, name) for name in expected})
    return ", ".join(names) if names else "something else"


def _convert_lark_error(error: UnexpectedInput, text: str) -> ExpressionSyntaxError:
    position = getattr(error, "pos_in_stream", None) or 0
    if isinstance(error, UnexpectedCharacters):
        char = text[position] if position < len(text) else ""
        if char == '"':
            message = "Unterminated string constant; close it with a double quote"
        elif char == "[":
            message = (
                "Invalid attribute reference; attribute names go in [brackets] and may contain "
                "letters, digits, '.', '_' and '-'"
            )
        elif char == "&":
            message = "Invalid hexadecimal number; write it as &H followed by hex digits"
        else:
            message = f"Unexpected character {char!r}"
        return _syntax_error(message, text, position)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token: Token = error.token
        position = token.start_pos or 0
        return _syntax_error(
            f"Unexpected {str(token)!r}; expected {_expected_text(error.expected)}", text, position
        )
    expected = getattr(error, "expected", None) or set()
    return _syntax_error(
        f"Unexpected end of expression; expected {_expected_text(expected)}", text, len(text)
    )


def _unescape(raw: str) -> str:
    # Microsoft documents only \" and \\ as escapes; any other backslash is kept literally so
    # regular expressions pasted with single backslashes still mean what the author intended.
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in '"\\':
            out.append(raw[index + 1])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _tree_depth(tree: Tree) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Tree):
            level = depth + (1 if node.data == "call" else 0)
            deepest = max(deepest, level)
            stack.extend((child, level) for child in node.children)
    return deepest


class _Builder:
    """Turns lark's tree into :class:`Node` objects and checks names, arity and constants."""

    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, message: str, position: int) -> ExpressionSyntaxError:
        return _syntax_error(message, self.text, position)

    def build(self, item: Any, fallback_position: int = 0) -> Node:
        if item is None:
            return Empty(position=fallback_position)
        if isinstance(item, Token):
            return self.build_token(item)
        tree: Tree = item
        meta = tree.meta
        pos = {
            "position": getattr(meta, "start_pos", fallback_position),
            "line": getattr(meta, "line", 1),
            "column": getattr(meta, "column", 1),
        }
        if tree.data == "comparison":
            left, operator, right = tree.children
            return Comparison(
                operator=str(operator), left=self.build(left), right=self.build(right), **pos
            )
        if tree.data == "call":
            name_token, arglist = tree.children
            raw_args = list(arglist.children)
            # "F()" parses as one omitted argument; it means a call without arguments.
            if len(raw_args) == 1 and raw_args[0] is None:
                raw_args = []
            args = tuple(self.build(arg, pos["position"]) for arg in raw_args)
            call = Call(name=str(name_token), args=args, **pos)
            self.check_call(call)
            return call
        return self.build_token(tree.children[0], tree.data)

    def build_token(self, token: Token, kind: str | None = None) -> Node:
        pos = {
            "position": token.start_pos or 0,
            "line": token.line or 1,
            "column": token.column or 1,
        }
        kind = kind or {
            "ATTRIBUTE": "attribute",
            "STRING": "string",
            "NUMBER": "number",
            "HEXNUMBER": "hexnumber",
            "NAME": "identifier",
        }.get(token.type, token.type)
        value = str(token)
        if kind == "attribute":
            return Attribute(name=value[1:-1], **pos)
        if kind == "string":
            return StringLiteral(value=_unescape(value[1:-1]), **pos)
        if kind == "number":
            number: int | Decimal = Decimal(value) if "." in value else int(value)
            return NumberLiteral(value=number, **pos)
        if kind == "hexnumber":
            return NumberLiteral(value=int(value[2:], 16), **pos)
        if kind == "identifier":
            if value in _IDENTIFIERS:
                return Identifier(name=value, **pos)
            if value in FUNCTIONS:
                raise self.error(
                    f"Function '{value}' must be called with parentheses", pos["position"]
                )
            raise self.error(
                f"Unknown name '{value}'; attributes must be written in [brackets] and strings "
                'in "double quotes"',
                pos["position"],
            )
        raise self.error(f"Unexpected {value!r}", pos["position"])  # pragma: no cover

    def check_call(self, call: Call) -> None:
        spec = FUNCTIONS.get(call.name)
        if spec is None:
            suggestion = _suggest_function(call.name)
            hint = f"; did you mean '{suggestion}'?" if suggestion else ""
            raise self.error(f"Unknown function '{call.name}'{hint}", call.position)
        count = len(call.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            raise self.error(
                f"Function '{call.name}' expects {spec.arity_text()} but got {count}",
                call.position,
            )
        if spec.check is not None:
            problem = spec.check(call)
            if problem:
                raise self.error(f"Function '{call.name}': {problem}", call.position)


def _suggest_function(name: str) -> str | None:
    by_lower = {function.lower(): function for function in FUNCTIONS}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


def parse_expression(text: str) -> Expression:
    """Parse ``text`` or raise :class:`ExpressionSyntaxError` with a human-readable message."""
    if not isinstance(text, str):
        raise TypeError("expression text must be a string")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise _syntax_error(
            f"The expression is {len(text):,} characters long; the maximum is "
            f"{MAX_EXPRESSION_LENGTH:,}",
            text,
            MAX_EXPRESSION_LENGTH,
        )
    if not text.strip():
        raise _syntax_error("The expression is empty", text, 0)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as error:
        raise _convert_lark_error(error, text) from None
    if _tree_depth(tree) > MAX_NESTING_DEPTH:
        raise _syntax_error(
            f"Functions are nested more than {MAX_NESTING_DEPTH} levels deep", text, 0
        )
    root = _Builder(text).build(tree)
    return Expression(root=root, text=text)


def validate_expression(text: str) -> str:
    """Console helper: the success text, or raise :class:`ExpressionSyntaxError`."""
    parse_expression(text)
    return PARSE_SUCCESS_MESSAGE


# --------------------------------------------------------------------------------------------
# The parsed expression
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed mapping expression; compare, render and evaluate it."""

    root: Node
    text: str = ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and self.root == other.root

    def __hash__(self) -> int:
        return hash(self.root)

    def to_text(self) -> str:
        """Canonical rendering: ``Func(a, , "b")``, comparisons spaced, strings re-escaped."""
        return self.root.to_text()

    def attributes(self) -> set[str]:
        """Source attribute names referenced (as written), for change detection and the UI."""
        names: set[str] = set()
        for node in _walk(self.root):
            if isinstance(node, Attribute):
                names.add(node.name)
            elif isinstance(node, Call) and node.name == "Replace" and len(node.args) >= 6:
                # replacementAttributeName may name the attribute as a string constant.
                argument = node.args[5]
                if isinstance(argument, StringLiteral) and argument.value:
                    names.add(argument.value)
        return names

    def functions(self) -> set[str]:
        """Function names used, e.g. to reject SelectUniqueValue when saving a SCIM mapping."""
        return {node.name for node in _walk(self.root) if isinstance(node, Call)}

    @property
    def contains_redact(self) -> bool:
        return "Redact" in self.functions()

    def evaluate(
        self,
        source: Mapping[str, Any],
        *,
        now: datetime | None = None,
        rng: Random | None = None,
    ) -> Any:
        """Evaluate against a directory object (attribute name → value, names case-insensitive).

        ``now`` pins ``Now()`` (naive means UTC); ``rng`` makes ``Guid``/``RandomString``
        reproducible (without it they use the OS CSPRNG because RandomString makes passwords).
        """
        evaluator = _Evaluator(source, now=now, rng=rng)
        try:
            result = evaluator.eval(self.root)
        except _IgnoreFlowSignal:
            return IGNORE_FLOW
        if self.contains_redact:
            result = _redact(result)
        return result


def _redact(value: Any) -> Any:
    if value is None or isinstance(value, Redacted):
        return value
    if isinstance(value, list):
        return [_redact(item) for item in value]
    text = _to_str(value)
    return None if text is None else Redacted(text)


# --------------------------------------------------------------------------------------------
# Value conversions
# --------------------------------------------------------------------------------------------


class _ConversionError(ValueError):
    """Raised by helpers; the evaluator adds the function name."""


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, list) and not value)


def _is_null_or_empty(value: Any) -> bool:
    return _is_null(value) or (isinstance(value, str) and value == "")


def _bool_str(flag: bool) -> str:
    return "True" if flag else "False"


def _to_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _bool_str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        if len(value) == 1:
            return _to_str(value[0])
        raise _ConversionError("expected a single value but got a multi-valued attribute")
    if isinstance(value, dict):
        # Reference attributes (e.g. manager) arrive as dicts; their string form is the id.
        for key in ("value", "id", "objectId"):
            if key in value:
                return _to_str(value[key])
    return str(value)


def _to_bool(value: Any) -> bool:
    if _is_null(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    text = _to_str(value) or ""
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    number = _try_number(lowered)
    if number is not None:
        return number != 0
    raise _ConversionError(f"{text!r} is not a boolean")


def _try_number(text: str) -> int | Decimal | None:
    text = text.strip()
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return int(text)
    if re.fullmatch(r"&[Hh][0-9A-Fa-f]+", text):
        return int(text[2:], 16)
    if re.fullmatch(r"[+-]?[0-9]*\.[0-9]+", text):
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern guarantees validity
            return None
    return None


def _to_number(value: Any, what: str) -> int | Decimal:
    if isinstance(value, bool):
        raise _ConversionError(f"{what} must be a number, not a boolean")
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if value is None:
        raise _ConversionError(f"{what} is null")
    number = _try_number(_to_str(value) or "")
    if number is None:
        raise _ConversionError(f"{what} must be a number, got {_to_str(value)!r}")
    return number


def _to_int(value: Any, what: str) -> int:
    number = _to_number(value, what)
    if isinstance(number, Decimal):
        if number != number.to_integral_value():
            raise _ConversionError(f"{what} must be a whole number, got {number}")
        return int(number)
    return number


def _values(value: Any) -> list[Any]:
    """Multi-valued view of a value: null → [], scalar → [scalar]."""
    if _is_null(value):
        return []
    return list(value) if isinstance(value, list) else [value]


def _invariant_lower(text: str) -> str:
    # .NET's invariant culture maps character by character; Python's full case mapping can change
    # the length (e.g. "İ"), which would shift InStr positions.
    out = []
    for char in text:
        lowered = char.lower()
        out.append(lowered if len(lowered) == 1 else ("i" if char == "İ" else char))
    return "".join(out)


def _invariant_upper(text: str) -> str:
    out = []
    for char in text:
        upper = char.upper()
        out.append(upper if len(upper) == 1 else char)  # "ß" stays "ß" as in .NET
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Dates: Entra's format, loose parsing and .NET custom format strings
# --------------------------------------------------------------------------------------------


def _format_entra_datetime(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {suffix}"
    )


_ENTRA_DATE_RE = re.compile(
    r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?"
)
_ISO_DATE_RE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,7}))?)?)?"
    r"\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?"
)


def _offset_minutes(text: str) -> int:
    if text in ("Z", "z"):
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:-2]) if len(digits) > 2 else int(digits)
    minutes = int(digits[-2:]) if len(digits) > 2 else 0
    return sign * (hours * 60 + minutes)


def _parse_date_string(text: str) -> datetime:
    """Parse the date shapes Entra sources use; a missing offset means UTC."""
    stripped = text.strip()
    match = _ENTRA_DATE_RE.fullmatch(stripped)
    if match:
        hour = int(match["hour"] or 0)
        if match["ampm"]:
            if not 1 <= hour <= 12:
                raise _ConversionError(f"{text!r} is not a valid date")
            hour = hour % 12 + (12 if match["ampm"].upper() == "PM" else 0)
        try:
            return datetime(
                int(match["year"]),
                int(match["month"]),
                int(match["day"]),
                hour,
                int(match["minute"] or 0),
                int(match["second"] or 0),
                tzinfo=UTC,
            )
        except ValueError as error:
            raise _ConversionError(f"{text!r} is not a valid date: {error}") from None
    match = _ISO_DATE_RE.fullmatch(stripped)
    if match:
        fraction = (match["fraction"] or "").ljust(6, "0")[:6]
        try:
            local = datetime(
                int(match["year"]),
                int(match["month"]),
                int(match["day"]),
                int(match["hour"] or 0),
                int(match["minute"] or 0),
                int(match["second"] or 0),
                int(fraction or 0),
                tzinfo=UTC,
            )
        except ValueError as error:
            raise _ConversionError(f"{text!r} is not a valid date: {error}") from None
        # A date-only value with an offset ("2020-03-16-07:00") is midnight at that offset.
        return local - timedelta(minutes=_offset_minutes(match["offset"] or "Z"))
    raise _ConversionError(f"{text!r} is not a recognised date/time")


def _to_datetime(value: Any, what: str) -> datetime:
    if isinstance(value, DateTimeValue):
        return value.moment
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if _is_null(value):
        raise _ConversionError(f"{what} is null")
    return _parse_date_string(_to_str(value) or "")


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# .NET standard format strings that are just shorthands for invariant custom patterns.
_STANDARD_FORMATS = {
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
}
_SPECIFIER_CHARS = "yMdHhmsfFtzK"
_MAX_RUN = {"y": 5, "M": 4, "d": 4, "H": 2, "h": 2, "m": 2, "s": 2, "f": 7, "F": 7, "t": 2, "z": 3}


def _tokenize_dotnet_format(fmt: str) -> list[tuple[str, str]]:
    """Split a .NET custom date format into ("spec", "yyyy") and ("lit", "text") tokens."""
    if len(fmt) == 1:
        if fmt in _STANDARD_FORMATS:
            fmt = _STANDARD_FORMATS[fmt]
        elif fmt not in _SPECIFIER_CHARS:
            raise _ConversionError(f"unsupported standard date format {fmt!r}")
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char in "'\"":
            end = fmt.find(char, index + 1)
            if end < 0:
                raise _ConversionError(f"unterminated quote in date format {fmt!r}")
            tokens.append(("lit", fmt[index + 1 : end]))
            index = end + 1
        elif char == "\\":
            if index + 1 >= len(fmt):
                raise _ConversionError(f"date format {fmt!r} ends with a backslash")
            tokens.append(("lit", fmt[index + 1]))
            index += 2
        elif char == "%":
            index += 1  # "%d" means the single-letter custom specifier "d"
        elif char in _SPECIFIER_CHARS:
            end = index
            while end < len(fmt) and fmt[end] == char:
                end += 1
            run = end - index
            if char == "K":
                tokens.extend(("spec", "K") for _ in range(run))
            else:
                tokens.append(("spec", char * min(run, _MAX_RUN[char])))
            index = end
        else:
            tokens.append(("lit", char))
            index += 1
    return tokens


def _format_offset(moment: datetime, spec: str, unspecified: bool) -> str:
    if spec == "K":
        return "" if unspecified else "Z"
    # The emulated server runs in UTC, so a local/unspecified value has offset +00:00.
    return {"z": "+0", "zz": "+00", "zzz": "+00:00"}[spec]


def _dotnet_format(moment: datetime, fmt: str, *, unspecified: bool = False) -> str:
    """Render ``moment`` (UTC) with a .NET custom format string in the invariant culture."""
    out: list[str] = []
    for kind, text in _tokenize_dotnet_format(fmt):
        if kind == "lit":
            out.append(text)
            continue
        letter, width = text[0], len(text)
        if letter == "y":
            out.append(
                str(moment.year % 100)
                if width == 1
                else (f"{moment.year % 100:02d}" if width == 2 else f"{moment.year:0{width}d}")
            )
        elif letter == "M":
            out.append(
                [
                    str(moment.month),
                    f"{moment.month:02d}",
                    _MONTHS[moment.month - 1][:3],
                    _MONTHS[moment.month - 1],
                ][width - 1]
            )
        elif letter == "d":
            out.append(
                [
                    str(moment.day),
                    f"{moment.day:02d}",
                    _DAYS[moment.weekday()][:3],
                    _DAYS[moment.weekday()],
                ][width - 1]
            )
        elif letter == "H":
            out.append(f"{moment.hour:0{width}d}")
        elif letter == "h":
            out.append(f"{moment.hour % 12 or 12:0{width}d}")
        elif letter == "m":
            out.append(f"{moment.minute:0{width}d}")
        elif letter == "s":
            out.append(f"{moment.second:0{width}d}")
        elif letter in "fF":
            digits = f"{moment.microsecond:06d}0"[:width]
            out.append(digits if letter == "f" else digits.rstrip("0"))
        elif letter == "t":
            out.append(("AM" if moment.hour < 12 else "PM")[:width])
        else:
            out.append(_format_offset(moment, text, unspecified))
    return "".join(out)


_DATE_STYLES = {
    "none",
    "allowleadingwhite",
    "allowtrailingwhite",
    "allowinnerwhite",
    "allowwhitespaces",
    "nocurrentdatedefault",
    "adjusttouniversal",
    "assumelocal",
    "assumeuniversal",
    "roundtripkind",
}


def _parse_styles(styles: str | None) -> set[str]:
    if not styles:
        # Entra's documented default.
        return {"roundtripkind", "allowleadingwhite", "allowtrailingwhite"}
    parsed = set()
    for part in re.split(r"[,|]", styles):
        name = part.strip().removeprefix("DateTimeStyles.").lower()
        if not name:
            continue
        if name not in _DATE_STYLES:
            raise _ConversionError(f"unknown dateTimeStyles value {part.strip()!r}")
        parsed.add(name)
    if "allowwhitespaces" in parsed:
        parsed |= {"allowleadingwhite", "allowtrailingwhite", "allowinnerwhite"}
    return parsed


def _dotnet_parse(text: str, fmt: str, styles: set[str]) -> tuple[datetime, bool]:
    """Parse ``text`` exactly like .NET ``ParseExact``; returns (UTC moment, kind unspecified)."""
    pattern: list[str] = []
    for kind, token in _tokenize_dotnet_format(fmt):
        if kind == "lit":
            if "allowinnerwhite" in styles and token.isspace():
                pattern.append(r"\s*")
            else:
                pattern.append(re.escape(token))
            continue
        letter, width = token[0], len(token)
        group = {
            "y": ("year", [r"\d{1,2}", r"\d{2}", r"\d{3,4}", r"\d{4}", r"\d{5}"]),
            "M": (
                "month",
                [r"\d{1,2}", r"\d{2}", "|".join(m[:3] for m in _MONTHS), "|".join(_MONTHS)],
            ),
            "d": ("day", [r"\d{1,2}", r"\d{2}", "|".join(d[:3] for d in _DAYS), "|".join(_DAYS)]),
            "H": ("hour24", [r"\d{1,2}", r"\d{2}"]),
            "h": ("hour12", [r"\d{1,2}", r"\d{2}"]),
            "m": ("minute", [r"\d{1,2}", r"\d{2}"]),
            "s": ("second", [r"\d{1,2}", r"\d{2}"]),
            "t": ("ampm", ["[AaPp]", "[AaPp][Mm]"]),
            "z": ("offset", [r"[+-]\d{1,2}", r"[+-]\d{2}", r"[+-]\d{2}:\d{2}"]),
        }.get(letter)
        if letter == "f":
            pattern.append(rf"(?P<fraction>\d{{{width}}})")
        elif letter == "F":
            pattern.append(rf"(?P<fraction>\d{{0,{width}}})")
        elif letter == "K":
            pattern.append(r"(?P<offset>Z|[+-]\d{2}:\d{2})?")
        else:
            assert group is not None
            name, choices = group
            if letter == "d" and width >= 3:
                pattern.append(f"(?:{choices[width - 1]})")  # day names carry no information
            else:
                pattern.append(f"(?P<{name}>{choices[width - 1]})")
    candidate = text
    if "allowleadingwhite" in styles:
        candidate = candidate.lstrip()
    if "allowtrailingwhite" in styles:
        candidate = candidate.rstrip()
    try:
        match = re.fullmatch("".join(pattern), candidate, flags=re.IGNORECASE)
    except re.error as error:  # duplicate specifiers, e.g. "yyyy yyyy"
        raise _ConversionError(f"unsupported date format {fmt!r}: {error}") from None
    if not match:
        raise _ConversionError(f"{text!r} does not match the input format {fmt!r}")
    parts = match.groupdict()
    month = parts.get("month") or "1"
    if not month.isdigit():
        month = str([m[:3].lower() for m in _MONTHS].index(month[:3].lower()) + 1)
    year_text = parts.get("year")
    year = 1
    if year_text:
        year = int(year_text)
        if len(year_text) <= 2:
            # .NET's TwoDigitYearMax is 2049.
            year += 2000 if year <= 49 else 1900
    if parts.get("hour24") is not None:
        hour = int(parts["hour24"])
    else:
        hour = int(parts.get("hour12") or 0) % 12
        if (parts.get("ampm") or "A")[0].upper() == "P":
            hour += 12
    fraction = (parts.get("fraction") or "").ljust(6, "0")[:6]
    try:
        moment = datetime(
            year,
            int(month),
            int(parts.get("day") or 1),
            hour,
            int(parts.get("minute") or 0),
            int(parts.get("second") or 0),
            int(fraction or 0),
            tzinfo=UTC,
        )
    except ValueError as error:
        raise _ConversionError(f"{text!r} is not a valid date: {error}") from None
    offset = parts.get("offset")
    if offset:
        # RoundtripKind turns an offset into local time, and the emulated server runs in UTC.
        return moment - timedelta(minutes=_offset_minutes(offset)), False
    unspecified = not ({"assumeuniversal", "assumelocal", "adjusttouniversal"} & styles)
    return moment, unspecified


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise _ConversionError("the resulting date is out of range")
    # .NET AddMonths clamps to the last day of the month (Jan 31 + 1 month = Feb 28/29).
    days_in_month = (
        datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC) - timedelta(days=1)
    ).day
    return moment.replace(year=year, month=month, day=min(moment.day, days_in_month))


_INTERVALS = ("yyyy", "q", "m", "y", "d", "w", "ww", "h", "n", "s")


def _check_interval(call: Call) -> str | None:
    interval = call.args[0]
    if isinstance(interval, StringLiteral) and interval.value not in _INTERVALS:
        return f"unknown interval {interval.value!r}; use one of {', '.join(_INTERVALS)}"
    return None


# --------------------------------------------------------------------------------------------
# Regular expressions written for .NET
# --------------------------------------------------------------------------------------------


def _dotnet_regex(pattern: str) -> re.Pattern[str]:
    """Compile a .NET pattern: ``(?<name>…)``/``(?'name'…)``/``\\k<name>`` become Python syntax."""
    converted = re.sub(r"\(\?<(?![=!])([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", pattern)
    converted = re.sub(r"\(\?'([A-Za-z_][A-Za-z0-9_]*)'", r"(?P<\1>", converted)
    converted = re.sub(r"\\k<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P=\1)", converted)
    try:
        return re.compile(converted)
    except re.error as error:
        raise _ConversionError(f"invalid regular expression {pattern!r}: {error}") from None


def _dotnet_substitute(replacement: str, match: re.Match[str]) -> str:
    """Expand a .NET replacement string: ``$1``, ``${name}``, ``$&``, ``$$``."""

    def expand(token: re.Match[str]) -> str:
        body = token.group(1)
        if body == "$":
            return "$"
        if body == "&":
            return match.group(0)
        name = body[1:-1] if body.startswith("{") else body
        try:
            key: int | str = int(name) if name.isdigit() else name
            return match.group(key) or ""
        except IndexError:
            return token.group(0)  # .NET leaves unknown group references as literal text

    return re.sub(r"\$(\$|&|\d+|\{[A-Za-z_0-9]+\})", expand, replacement)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


class _Evaluator:
    def __init__(
        self, source: Mapping[str, Any], *, now: datetime | None, rng: Random | None
    ) -> None:
        self.source = {str(key).lower(): value for key, value in source.items()}
        self.now = now
        self.rng = rng

    def lookup(self, name: str) -> Any:
        value = self.source.get(name.lower())
        if isinstance(value, tuple | set | frozenset):
            value = list(value)
        return None if _is_null(value) else value

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
            return _bool_str(self.compare(node))
        assert isinstance(node, Call)
        spec = FUNCTIONS[node.name]
        try:
            if spec.lazy:
                return spec.impl(self, node)
            return spec.impl(self, *[self.eval(arg) for arg in node.args])
        except (_IgnoreFlowSignal, ExpressionEvaluationError):
            raise
        except (_ConversionError, ValueError, TypeError, OverflowError) as error:
            raise ExpressionEvaluationError(node.name, str(error)) from None

    def compare(self, node: Comparison) -> bool:
        left, right = self.eval(node.left), self.eval(node.right)
        operator = node.operator
        if operator in ("=", "<>"):
            equal = _to_str(left) == _to_str(right)
            return equal if operator == "=" else not equal
        if _is_null(left) or _is_null(right):
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
    left_text, right_text = _to_str(left) or "", _to_str(right) or ""
    left_number, right_number = _try_number(left_text), _try_number(right_text)
    if left_number is not None and right_number is not None:
        return Decimal(left_number), Decimal(right_number)
    return left_text, right_text


# Each implementation receives the evaluator and the evaluated arguments (or, for ``lazy``
# functions, the evaluator and the call node so it can evaluate only what it needs).


def _fn_append(ev: _Evaluator, source: Any, suffix: Any) -> Any:
    text = _to_str(source)
    if text is None:
        return None
    return text + (_to_str(suffix) or "")


def _app_role_items(value: Any) -> list[dict[str, Any]]:
    roles = []
    for item in _values(value):
        if isinstance(item, Mapping):
            lowered = {str(key).lower(): val for key, val in item.items()}
            role_value = lowered.get("value") or lowered.get("displayname") or lowered.get("id")
            display = lowered.get("displayname") or lowered.get("display") or role_value
        else:
            role_value = display = _to_str(item)
        if role_value:
            roles.append(
                {"primary": False, "type": ROLE_TYPE, "display": display, "value": role_value}
            )
    return roles


def _fn_app_roles(ev: _Evaluator, assignments: Any) -> Any:
    roles = _app_role_items(assignments)
    return AppRoleAssignments(roles, replace=False) if roles else None


def _fn_assertive_app_roles(ev: _Evaluator, assignments: Any) -> Any:
    # Unlike the additive variant, an empty list still flows: "replace with nothing" is how
    # the last role gets removed in the target.
    return AppRoleAssignments(_app_role_items(assignments), replace=True)


def _fn_single_app_role(ev: _Evaluator, assignments: Any) -> Any:
    roles = _app_role_items(assignments)
    # Entra gives no guarantee which role wins when there are several; the first is stable.
    return roles[0]["value"] if roles else None


def _fn_bitand(ev: _Evaluator, value1: Any, value2: Any) -> Any:
    if _is_null(value1) or _is_null(value2):
        return None
    return _to_int(value1, "value1") & _to_int(value2, "value2")


def _fn_cbool(ev: _Evaluator, value: Any) -> str:
    return _bool_str(_to_bool(value))


def _fn_cdate(ev: _Evaluator, value: Any) -> Any:
    if _is_null_or_empty(value):
        return None
    return DateTimeValue(_to_datetime(value, "expression"))


def _fn_coalesce(ev: _Evaluator, *values: Any) -> Any:
    for value in values:
        if not _is_null(value):
            return value
    return None


def _fn_base64(ev: _Evaluator, source: Any) -> Any:
    text = _to_str(source)
    # .NET's Encoding.Unicode is UTF-16 little-endian without a byte-order mark.
    return None if text is None else base64.b64encode(text.encode("utf-16-le")).decode("ascii")


def _fn_utf8hex(ev: _Evaluator, source: Any) -> Any:
    text = _to_str(source)
    return None if text is None else text.encode("utf-8").hex().upper()


def _fn_count(ev: _Evaluator, attribute: Any) -> int:
    return len(_values(attribute))


def _fn_cstr(ev: _Evaluator, value: Any) -> Any:
    return _to_str(value)


def _fn_dateadd(ev: _Evaluator, interval: Any, number: Any, moment: Any) -> Any:
    if _is_null_or_empty(moment):
        return None
    unit = _to_str(interval)
    if unit not in _INTERVALS:
        raise _ConversionError(f"unknown interval {unit!r}; use one of {', '.join(_INTERVALS)}")
    amount = _to_int(number, "value")
    start = _to_datetime(moment, "dateTime")
    try:
        if unit == "yyyy":
            result = _add_months(start, 12 * amount)
        elif unit == "q":
            result = _add_months(start, 3 * amount)
        elif unit == "m":
            result = _add_months(start, amount)
        else:
            step = {
                "y": timedelta(days=1),
                "d": timedelta(days=1),
                "w": timedelta(days=1),
                "ww": timedelta(weeks=1),
                "h": timedelta(hours=1),
                "n": timedelta(minutes=1),
                "s": timedelta(seconds=1),
            }[unit]
            result = start + step * amount
    except OverflowError:
        raise _ConversionError("the resulting date is out of range") from None
    return DateTimeValue(result)


def _week_start(moment: datetime) -> datetime:
    # VBA's DateDiff("ww") counts Sundays crossed (the default first day of the week).
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _fn_datediff(ev: _Evaluator, interval: Any, date1: Any, date2: Any) -> Any:
    if _is_null_or_empty(date1) or _is_null_or_empty(date2):
        return None
    unit = _to_str(interval)
    if unit not in _INTERVALS:
        raise _ConversionError(f"unknown interval {unit!r}; use one of {', '.join(_INTERVALS)}")
    first, second = _to_datetime(date1, "date1"), _to_datetime(date2, "date2")
    # Visual Basic semantics: count calendar boundaries crossed, not elapsed fractions.
    if unit == "yyyy":
        return second.year - first.year
    if unit == "q":
        return (second.year - first.year) * 4 + (second.month - 1) // 3 - (first.month - 1) // 3
    if unit == "m":
        return (second.year - first.year) * 12 + second.month - first.month
    days = (second.date() - first.date()).days
    if unit in ("y", "d"):
        return days
    if unit == "w":
        return int(days / 7)
    if unit == "ww":
        return (_week_start(second) - _week_start(first)).days // 7
    truncate = {"h": "hour", "n": "minute", "s": "second"}[unit]
    fields = ["microsecond", "second", "minute", "hour"]
    drop = fields[: fields.index(truncate)]
    first = first.replace(**dict.fromkeys(drop, 0))
    second = second.replace(**dict.fromkeys(drop, 0))
    seconds = int((second - first).total_seconds())
    return seconds // {"h": 3600, "n": 60, "s": 1}[unit]


def _fn_datefromnum(ev: _Evaluator, value: Any) -> Any:
    if _is_null_or_empty(value):
        return None
    ticks = _to_int(value, "value")
    try:
        return DateTimeValue(_FILETIME_EPOCH + timedelta(microseconds=ticks // 10))
    except OverflowError:
        raise _ConversionError(f"{ticks} is outside the AD date range") from None


def _fn_formatdatetime(
    ev: _Evaluator, source: Any, styles: Any, input_format: Any, output_format: Any
) -> Any:
    text = _to_str(source)
    if text is None or text == "":
        return None
    if not input_format or not output_format:
        raise _ConversionError("inputFormat and outputFormat are required")
    moment, unspecified = _dotnet_parse(
        text, _to_str(input_format) or "", _parse_styles(_to_str(styles))
    )
    return _dotnet_format(moment, _to_str(output_format) or "", unspecified=unspecified)


def _fn_guid(ev: _Evaluator) -> str:
    if ev.rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=ev.rng.getrandbits(128), version=4))


def _fn_ignore_flow(ev: _Evaluator, value: Any) -> Any:
    if _is_null_or_empty(value):
        raise _IgnoreFlowSignal
    return value


def _fn_iif(ev: _Evaluator, call: Call) -> Any:
    condition, if_true, if_false = call.args
    # Documented limitation: "If the source attribute used within the IIF function is empty or
    # null, the condition check fails." Emulated as an error so the behaviour is visible.
    for node in _walk(condition):
        if isinstance(node, Attribute) and _is_null_or_empty(ev.lookup(node.name)):
            raise ExpressionEvaluationError(
                "IIF",
                f"the condition uses [{node.name}], which is null or empty; IIF conditions fail "
                "on null or empty source attributes (use Switch to handle missing values)",
            )
    branch = if_true if _to_bool(ev.eval(condition)) else if_false
    return ev.eval(branch)


def _fn_instr(
    ev: _Evaluator, value1: Any, value2: Any, start: Any = None, compare: Any = None
) -> Any:
    haystack, needle = _to_str(value1), _to_str(value2)
    if haystack is None or needle is None:
        return None
    begin = 1 if _is_null(start) else _to_int(start, "start")
    if begin < 1:
        raise _ConversionError("start must be 1 or greater")
    mode = _to_str(compare) or "vbBinaryCompare"
    if mode in ("vbTextCompare", "1"):
        haystack, needle = _invariant_lower(haystack), _invariant_lower(needle)
    elif mode not in ("vbBinaryCompare", "0"):
        raise _ConversionError(
            f"compareType must be vbTextCompare or vbBinaryCompare, not {mode!r}"
        )
    if begin > len(haystack) + 1:
        return 0
    return haystack.find(needle, begin - 1) + 1


def _fn_isnull(ev: _Evaluator, value: Any) -> str:
    return _bool_str(_is_null(value))


def _fn_isnullorempty(ev: _Evaluator, value: Any) -> str:
    return _bool_str(_is_null_or_empty(value))


def _fn_ispresent(ev: _Evaluator, value: Any) -> str:
    return _bool_str(not _is_null_or_empty(value))


def _fn_isstring(ev: _Evaluator, value: Any) -> str:
    return _bool_str(isinstance(value, str))


def _fn_item(ev: _Evaluator, attribute: Any, index: Any) -> Any:
    values = _values(attribute)
    position = _to_int(index, "index")
    # 1-based; Microsoft warns against 0, so 0 and out-of-range indexes yield null.
    return values[position - 1] if 1 <= position <= len(values) else None


def _fn_join(ev: _Evaluator, separator: Any, *sources: Any) -> Any:
    parts: list[str] = []
    for source in sources:
        for value in _values(source):
            text = _to_str(value)
            # Microsoft's own example Join(", ", "", [surname], [givenName]) = "Doe, John"
            # shows that empty strings are skipped as well as nulls.
            if text:
                parts.append(text)
    if not parts:
        return None
    return (_to_str(separator) or "").join(parts)


def _fn_left(ev: _Evaluator, source: Any, count: Any) -> str:
    text = _to_str(source)
    if text is None:
        return ""
    number = _to_int(count, "numChars")
    if number < 0:
        return text
    return text[:number]


def _fn_mid(ev: _Evaluator, source: Any, start: Any, length: Any) -> Any:
    text = _to_str(source)
    if text is None:
        return None
    begin, size = _to_int(start, "start"), _to_int(length, "length")
    if begin < 1:
        raise _ConversionError("start must be 1 or greater (the first character is 1)")
    if size < 0:
        raise _ConversionError("length must not be negative")
    return text[begin - 1 : begin - 1 + size]


# Letters that Unicode decomposition does not reduce to ASCII, from Microsoft's table.
_DIACRITIC_SPECIALS = {
    "æ": "ae",
    "Æ": "AE",
    "ø": "oe",
    "Ø": "OE",
    "œ": "oe",
    "Œ": "OE",
    "ß": "ss",
    "ł": "l",
    "Ł": "L",
    "ı": "i",
}


def _normalize_diacritics(text: str) -> str:
    out: list[str] = []
    base_is_latin = False
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.category(char) == "Mn":
            # Only strip marks sitting on Latin letters; Thai or Devanagari vowel signs are
            # combining marks too and dropping them would corrupt the name.
            if base_is_latin:
                continue
        else:
            base_is_latin = char.isascii() and char.isalpha() or char in _DIACRITIC_SPECIALS
        out.append(char)
    stripped = unicodedata.normalize("NFC", "".join(out))
    return "".join(_DIACRITIC_SPECIALS.get(char, char) for char in stripped)


def _fn_normalize(ev: _Evaluator, source: Any) -> Any:
    text = _to_str(source)
    return None if text is None else _normalize_diacritics(text)


def _fn_not(ev: _Evaluator, source: Any) -> str:
    # Documented: "If source value is True, returns False. Otherwise, returns True."
    text = _to_str(source)
    return _bool_str(not (text is not None and text.strip().lower() == "true"))


def _fn_now(ev: _Evaluator) -> DateTimeValue:
    return DateTimeValue(ev.now_utc())


def _fn_numfromdate(ev: _Evaluator, value: Any) -> Any:
    if _is_null_or_empty(value):
        return None
    moment = _to_datetime(value, "value")
    delta = moment - _FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


_TITLE_SEPARATOR_CATEGORIES = {
    "Zs",
    "Zl",
    "Zp",
    "Cc",
    "Cf",
    "Pc",
    "Pd",
    "Ps",
    "Pe",
    "Pi",
    "Pf",
    "Po",
    "Sm",
    "Sc",
    "Sk",
    "So",
}


def _title_case(text: str) -> str:
    """Emulate .NET ``ToTitleCase`` on lower-cased input (Entra upper-cases nothing else)."""
    out: list[str] = []
    in_word = False
    for char in _invariant_lower(text):
        category = unicodedata.category(char)
        if category.startswith("L"):
            out.append(_invariant_upper(char) if not in_word else char)
            in_word = True
        elif char == "'":
            out.append(char)  # .NET keeps apostrophes inside words: "o'neil" → "O'neil"
        elif category in _TITLE_SEPARATOR_CATEGORIES:
            out.append(char)
            in_word = False
        else:
            out.append(char)  # digits and marks neither start nor end a word
    return "".join(out)


def _fn_pcase(ev: _Evaluator, source: Any, separators: Any = None) -> Any:
    text = _to_str(source)
    if text is None:
        return None
    chars = _to_str(separators)
    if not chars:
        return _title_case(text)
    out: list[str] = []
    at_start = True
    for char in text:
        if char in chars:
            out.append(char)
            at_start = True
        else:
            out.append(_invariant_upper(char) if at_start else _invariant_lower(char))
            at_start = False
    return "".join(out)


# The special characters allowed by Windows password complexity rules.
_SPECIAL_CHARACTERS = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"


def _fn_randomstring(
    ev: _Evaluator,
    length: Any,
    min_numbers: Any,
    min_special: Any,
    min_capital: Any,
    min_lower: Any,
    avoid: Any = None,
) -> str:
    total = _to_int(length, "Length")
    minimums = [
        _to_int(min_numbers, "MinimumNumbers"),
        _to_int(min_special, "MinimumSpecialCharacters"),
        _to_int(min_capital, "MinimumCapital"),
        _to_int(min_lower, "MinimumLowerCase"),
    ]
    if not 1 <= total <= 256:
        raise _ConversionError("Length must be between 1 and 256")
    if any(minimum < 0 for minimum in minimums):
        raise _ConversionError("minimums must not be negative")
    if sum(minimums) > total:
        raise _ConversionError("the minimums add up to more than Length")
    excluded = set(_to_str(avoid) or "")
    pools = [
        [c for c in pool if c not in excluded]
        for pool in (
            string.digits,
            _SPECIAL_CHARACTERS,
            string.ascii_uppercase,
            string.ascii_lowercase,
        )
    ]
    for pool, minimum, name in zip(
        pools,
        minimums,
        ("numbers", "special characters", "capitals", "lower-case letters"),
        strict=True,
    ):
        if minimum and not pool:
            raise _ConversionError(f"CharactersToAvoid excludes every allowed {name}")
    everything = [c for pool in pools for c in pool]
    if not everything:
        raise _ConversionError("CharactersToAvoid excludes every allowed character")
    rng = ev.random()
    chars = [
        rng.choice(pool)
        for pool, minimum in zip(pools, minimums, strict=True)
        for _ in range(minimum)
    ]
    chars.extend(rng.choice(everything) for _ in range(total - len(chars)))
    rng.shuffle(chars)
    return "".join(chars)


def _fn_redact(ev: _Evaluator, value: Any) -> Any:
    return _redact(value)


def _fn_remove_duplicates(ev: _Evaluator, attribute: Any) -> Any:
    if _is_null(attribute):
        return None
    unique: list[Any] = []
    for value in _values(attribute):
        if value not in unique:
            unique.append(value)
    return unique


def _fn_replace(ev: _Evaluator, call: Call) -> Any:
    slots = list(call.args) + [Empty()] * (7 - len(call.args))
    given = [not isinstance(node, Empty) for node in slots]
    source_node, old_node, pattern_node, group_node, value_node, attr_node, template_node = slots
    source = _to_str(ev.eval(source_node))
    _, has_old, has_pattern, has_group, has_value, has_attr, has_template = given

    if has_old:
        old = _to_str(ev.eval(old_node)) or ""
        if has_template:
            # "oldValue" is the placeholder inside the template that the source value fills.
            template = _to_str(ev.eval(template_node))
            if template is None or source is None:
                return None
            return template.replace(old, source) if old else template
        if source is None:
            return None
        replacement = _to_str(ev.eval(value_node)) if has_value else ""
        return source.replace(old, replacement or "") if old else source

    if not has_pattern:
        raise _ConversionError("provide oldValue or regexPattern")
    pattern = _dotnet_regex(_to_str(ev.eval(pattern_node)) or "")
    group = _to_str(ev.eval(group_node)) if has_group else None
    if group and group not in pattern.groupindex:
        raise _ConversionError(f"regexGroupName {group!r} is not a named group in regexPattern")

    if has_group and has_attr and not has_value:
        if source:
            return source
        if isinstance(attr_node, StringLiteral):
            fallback = ev.lookup(attr_node.value)  # the attribute named by the string
        else:
            fallback = ev.eval(attr_node)
        fallback_text = _to_str(fallback)
        if fallback_text is None:
            return None
        found = pattern.search(fallback_text)
        return found.group(group) if found and group else None

    if source is None:
        return None
    if not has_value:
        raise _ConversionError(
            "provide replacementValue (or replacementAttributeName with a group)"
        )
    replacement = _to_str(ev.eval(value_node)) or ""
    if group:
        # Replace only the text captured by the named group in each match.
        pieces: list[str] = []
        cursor = 0
        for found in pattern.finditer(source):
            start, end = found.span(group)
            if start < 0:
                continue
            pieces.append(source[cursor:start])
            pieces.append(_dotnet_substitute(replacement, found))
            cursor = end
        pieces.append(source[cursor:])
        return "".join(pieces)
    return pattern.sub(lambda found: _dotnet_substitute(replacement, found), source)


def _fn_select_unique(ev: _Evaluator, call: Call) -> Any:
    raise ExpressionEvaluationError(
        "SelectUniqueValue",
        "SelectUniqueValue is not supported for SCIM apps; Entra only supports it for Workday, "
        "SuccessFactors and API-driven provisioning to on-premises Active Directory",
    )


def _fn_split(ev: _Evaluator, source: Any, delimiter: Any) -> Any:
    text = _to_str(source)
    if text is None:
        return None
    separator = _to_str(delimiter) or ""
    if not separator:
        return [text]
    # Microsoft's example splits "PermissionSetOne, PermissionSetTwo" on "," into values without
    # the leading space, so parts are trimmed; empty parts would be empty multi-values.
    parts = [part.strip() for part in text.split(separator)]
    return [part for part in parts if part]


def _fn_stripspaces(ev: _Evaluator, source: Any) -> Any:
    text = _to_str(source)
    return None if text is None else text.replace(" ", "")


def _fn_switch(ev: _Evaluator, call: Call) -> Any:
    source_node, default_node, *pairs = call.args
    source = _to_str(ev.eval(source_node))
    for key_node, value_node in zip(pairs[::2], pairs[1::2], strict=True):
        key = _to_str(ev.eval(key_node))
        # Entra stores no empty strings, so the documented "" key is how authors catch an absent
        # value: a null source matches "" (and an omitted key).
        if key == source or (source is None and key in ("", None)):
            return ev.eval(value_node)
    return ev.eval(default_node)


def _check_switch(call: Call) -> str | None:
    if len(call.args) % 2:
        return "keys and values must come in pairs (source, defaultValue, key1, value1, ...)"
    return None


def _fn_tolower(ev: _Evaluator, source: Any, culture: Any = None) -> Any:
    text = _to_str(source)
    if text is None:
        return None
    if (_to_str(culture) or "").lower()[:2] in ("tr", "az"):
        text = text.replace("I", "ı").replace("İ", "i")
    return _invariant_lower(text)


def _fn_toupper(ev: _Evaluator, source: Any, culture: Any = None) -> Any:
    text = _to_str(source)
    if text is None:
        return None
    if (_to_str(culture) or "").lower()[:2] in ("tr", "az"):
        text = text.replace("i", "İ").replace("ı", "I")
    return _invariant_upper(text)


def _fn_word(ev: _Evaluator, source: Any, number: Any, delimiters: Any) -> str:
    text = _to_str(source)
    position = _to_int(number, "WordNumber")
    if text is None or position < 1:
        return ""
    chars = _to_str(delimiters) or ""
    words = re.split("[" + re.escape(chars) + "]", text) if chars else [text]
    # Runs of delimiters do not create empty words.
    words = [word for word in words if word]
    return words[position - 1] if position <= len(words) else ""


def _check_instr(call: Call) -> str | None:
    if len(call.args) == 4:
        compare = call.args[3]
        if isinstance(compare, StringLiteral) and compare.value not in _IDENTIFIERS:
            return "compareType must be vbTextCompare or vbBinaryCompare"
    return None


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


FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in [
        FunctionSpec("Append", 2, 2, _fn_append),
        FunctionSpec("AppRoleAssignmentsComplex", 1, 1, _fn_app_roles),
        FunctionSpec("AssertiveAppRoleAssignmentsComplex", 1, 1, _fn_assertive_app_roles),
        FunctionSpec("BitAnd", 2, 2, _fn_bitand),
        FunctionSpec("CBool", 1, 1, _fn_cbool),
        FunctionSpec("CDate", 1, 1, _fn_cdate),
        FunctionSpec("Coalesce", 1, None, _fn_coalesce),
        FunctionSpec("ConvertToBase64", 1, 1, _fn_base64),
        FunctionSpec("ConvertToUTF8Hex", 1, 1, _fn_utf8hex),
        FunctionSpec("Count", 1, 1, _fn_count),
        FunctionSpec("CStr", 1, 1, _fn_cstr),
        FunctionSpec("DateAdd", 3, 3, _fn_dateadd, check=_check_interval),
        FunctionSpec("DateDiff", 3, 3, _fn_datediff, check=_check_interval),
        FunctionSpec("DateFromNum", 1, 1, _fn_datefromnum),
        FunctionSpec("FormatDateTime", 4, 4, _fn_formatdatetime),
        FunctionSpec("Guid", 0, 0, _fn_guid),
        FunctionSpec("IgnoreFlowIfNullOrEmpty", 1, 1, _fn_ignore_flow),
        FunctionSpec("IIF", 3, 3, _fn_iif, lazy=True),
        FunctionSpec("InStr", 2, 4, _fn_instr, check=_check_instr),
        FunctionSpec("IsNull", 1, 1, _fn_isnull),
        FunctionSpec("IsNullOrEmpty", 1, 1, _fn_isnullorempty),
        FunctionSpec("IsPresent", 1, 1, _fn_ispresent),
        FunctionSpec("IsString", 1, 1, _fn_isstring),
        FunctionSpec("Item", 2, 2, _fn_item),
        FunctionSpec("Join", 2, None, _fn_join),
        FunctionSpec("Left", 2, 2, _fn_left),
        FunctionSpec("Mid", 3, 3, _fn_mid),
        FunctionSpec("NormalizeDiacritics", 1, 1, _fn_normalize),
        FunctionSpec("Not", 1, 1, _fn_not),
        FunctionSpec("Now", 0, 0, _fn_now),
        FunctionSpec("NumFromDate", 1, 1, _fn_numfromdate),
        FunctionSpec("PCase", 1, 2, _fn_pcase),
        FunctionSpec("RandomString", 5, 6, _fn_randomstring),
        FunctionSpec("Redact", 1, 1, _fn_redact),
        FunctionSpec("RemoveDuplicates", 1, 1, _fn_remove_duplicates),
        FunctionSpec("Replace", 3, 7, _fn_replace, lazy=True),
        FunctionSpec("SelectUniqueValue", 2, None, _fn_select_unique, lazy=True),
        FunctionSpec("SingleAppRoleAssignment", 1, 1, _fn_single_app_role),
        FunctionSpec("Split", 2, 2, _fn_split),
        FunctionSpec("StripSpaces", 1, 1, _fn_stripspaces),
        FunctionSpec("Switch", 4, None, _fn_switch, lazy=True, check=_check_switch),
        FunctionSpec("ToLower", 1, 2, _fn_tolower),
        FunctionSpec("ToUpper", 1, 2, _fn_toupper),
        FunctionSpec("Word", 3, 3, _fn_word),
    ]
}

FUNCTION_NAMES: tuple[str, ...] = tuple(sorted(FUNCTIONS, key=str.lower))
