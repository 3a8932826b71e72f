"""The grammar, and parsing text into an :class:`Expression` with errors a person can act on."""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from provisioning.expressions.errors import ExpressionSyntaxError
from provisioning.expressions.expression import Expression
from provisioning.expressions.functions import FUNCTIONS
from provisioning.expressions.nodes import (
    IDENTIFIERS,
    Attribute,
    Call,
    Comparison,
    Empty,
    Identifier,
    Node,
    NumberLiteral,
    StringLiteral,
)

MAX_EXPRESSION_LENGTH = 10_000
# Deep nesting is never useful in a mapping and would let a 10,000-character input exhaust the
# Python stack during evaluation, so it is rejected as a syntax error.
MAX_NESTING_DEPTH = 64
PARSE_SUCCESS_MESSAGE = "The expression was correctly parsed."


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
            if value in IDENTIFIERS:
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
