"""Filter text to scim2-models' syntax tree, with Azure AD's unquoted values, limits on length and
nesting, and error details that say what is wrong and where."""

from __future__ import annotations

import json
import re
from typing import Any

from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedToken,
    VisitError,
)
from scim2_models import ScimFilter
from scim2_models.exceptions import InvalidFilterException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    Not,
    ValuePath,
)

from scim_api.errors import InvalidFilter
from scim_api.policy import CompatibilityPolicy

#: Longer filters are refused before parsing: no client needs more, and parsing and compiling
#: cost grows with the text.
MAX_FILTER_LENGTH = 4096
#: How deeply ``and``/``or``/``not``/``[...]`` may nest. Azure AD never goes past 2; the cap keeps
#: the recursive visitor and the generated SQL small. (scim2-models refuses more than 32 while
#: parsing, so this must stay below that.)
MAX_NESTING_DEPTH = 16

#: Azure AD's matching query, sent for every object of a cycle: ``userName eq "value"``, a plain
#: attribute name, ``eq`` and a quoted value without escapes or control characters. That shape
#: is read without the grammar, into the tree the grammar builds for it (the grammar's parse of
#: a filter with a value never seen before was a twelfth of such a request's time).
_PLAIN_EQ = re.compile(r'([A-Za-z][A-Za-z0-9_-]*) eq "([^"\\\x00-\x1f\x7f]*)"')


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
    plain = _PLAIN_EQ.fullmatch(text)
    if plain and plain[1].lower() != "not":  # the grammar's one keyword an attribute can spell
        attribute, value = plain.groups()
        return Comparison(attr_path=AttrPath(attr=attribute), op=CompareOperator.eq, value=value)
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
