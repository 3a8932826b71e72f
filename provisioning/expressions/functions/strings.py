"""String functions.

Append, InStr, Join, Mid, PCase, Replace (with .NET regular expressions), ToLower and ToUpper
(with .NET's invariant casing), Word and the rest.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from typing import Any

from provisioning.expressions.errors import ConversionError
from provisioning.expressions.evaluator import Evaluator, FunctionSpec
from provisioning.expressions.nodes import IDENTIFIERS, Call, Empty, StringLiteral
from provisioning.expressions.values import is_null, multi_values, to_int, to_str


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


def _dotnet_regex(pattern: str) -> re.Pattern[str]:
    """Compile a .NET pattern: ``(?<name>…)``/``(?'name'…)``/``\\k<name>`` become Python syntax."""
    converted = re.sub(r"\(\?<(?![=!])([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", pattern)
    converted = re.sub(r"\(\?'([A-Za-z_][A-Za-z0-9_]*)'", r"(?P<\1>", converted)
    converted = re.sub(r"\\k<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P=\1)", converted)
    try:
        return re.compile(converted)
    except re.error as error:
        raise ConversionError(f"invalid regular expression {pattern!r}: {error}") from None


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


def _fn_append(ev: Evaluator, source: Any, suffix: Any) -> Any:
    text = to_str(source)
    if text is None:
        return None
    return text + (to_str(suffix) or "")


def _fn_base64(ev: Evaluator, source: Any) -> Any:
    text = to_str(source)
    # .NET's Encoding.Unicode is UTF-16 little-endian without a byte-order mark.
    return None if text is None else base64.b64encode(text.encode("utf-16-le")).decode("ascii")


def _fn_utf8hex(ev: Evaluator, source: Any) -> Any:
    text = to_str(source)
    return None if text is None else text.encode("utf-8").hex().upper()


def _fn_cstr(ev: Evaluator, value: Any) -> Any:
    return to_str(value)


def _fn_instr(
    ev: Evaluator, value1: Any, value2: Any, start: Any = None, compare: Any = None
) -> Any:
    haystack, needle = to_str(value1), to_str(value2)
    if haystack is None or needle is None:
        return None
    begin = 1 if is_null(start) else to_int(start, "start")
    if begin < 1:
        raise ConversionError("start must be 1 or greater")
    mode = to_str(compare) or "vbBinaryCompare"
    if mode in ("vbTextCompare", "1"):
        haystack, needle = _invariant_lower(haystack), _invariant_lower(needle)
    elif mode not in ("vbBinaryCompare", "0"):
        raise ConversionError(f"compareType must be vbTextCompare or vbBinaryCompare, not {mode!r}")
    if begin > len(haystack) + 1:
        return 0
    return haystack.find(needle, begin - 1) + 1


def _check_instr(call: Call) -> str | None:
    if len(call.args) == 4:
        compare = call.args[3]
        if isinstance(compare, StringLiteral) and compare.value not in IDENTIFIERS:
            return "compareType must be vbTextCompare or vbBinaryCompare"
    return None


def _fn_join(ev: Evaluator, separator: Any, *sources: Any) -> Any:
    parts: list[str] = []
    for source in sources:
        for value in multi_values(source):
            text = to_str(value)
            # Microsoft's own example Join(", ", "", [surname], [givenName]) = "Doe, John"
            # shows that empty strings are skipped as well as nulls.
            if text:
                parts.append(text)
    if not parts:
        return None
    return (to_str(separator) or "").join(parts)


def _fn_left(ev: Evaluator, source: Any, count: Any) -> str:
    text = to_str(source)
    if text is None:
        return ""
    number = to_int(count, "numChars")
    if number < 0:
        return text
    return text[:number]


def _fn_mid(ev: Evaluator, source: Any, start: Any, length: Any) -> Any:
    text = to_str(source)
    if text is None:
        return None
    begin, size = to_int(start, "start"), to_int(length, "length")
    if begin < 1:
        raise ConversionError("start must be 1 or greater (the first character is 1)")
    if size < 0:
        raise ConversionError("length must not be negative")
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


def _fn_normalize(ev: Evaluator, source: Any) -> Any:
    text = to_str(source)
    return None if text is None else _normalize_diacritics(text)


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


def _fn_pcase(ev: Evaluator, source: Any, separators: Any = None) -> Any:
    text = to_str(source)
    if text is None:
        return None
    chars = to_str(separators)
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


def _fn_replace(ev: Evaluator, call: Call) -> Any:
    slots = list(call.args) + [Empty()] * (7 - len(call.args))
    given = [not isinstance(node, Empty) for node in slots]
    source_node, old_node, pattern_node, group_node, value_node, attr_node, template_node = slots
    source = to_str(ev.eval(source_node))
    _, has_old, has_pattern, has_group, has_value, has_attr, has_template = given

    if has_old:
        old = to_str(ev.eval(old_node)) or ""
        if has_template:
            # "oldValue" is the placeholder inside the template that the source value fills.
            template = to_str(ev.eval(template_node))
            if template is None or source is None:
                return None
            return template.replace(old, source) if old else template
        if source is None:
            return None
        replacement = to_str(ev.eval(value_node)) if has_value else ""
        return source.replace(old, replacement or "") if old else source

    if not has_pattern:
        raise ConversionError("provide oldValue or regexPattern")
    pattern = _dotnet_regex(to_str(ev.eval(pattern_node)) or "")
    group = to_str(ev.eval(group_node)) if has_group else None
    if group and group not in pattern.groupindex:
        raise ConversionError(f"regexGroupName {group!r} is not a named group in regexPattern")

    if has_group and has_attr and not has_value:
        if source:
            return source
        if isinstance(attr_node, StringLiteral):
            fallback = ev.lookup(attr_node.value)  # the attribute named by the string
        else:
            fallback = ev.eval(attr_node)
        fallback_text = to_str(fallback)
        if fallback_text is None:
            return None
        found = pattern.search(fallback_text)
        return found.group(group) if found and group else None

    if source is None:
        return None
    if not has_value:
        raise ConversionError("provide replacementValue (or replacementAttributeName with a group)")
    replacement = to_str(ev.eval(value_node)) or ""
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


def _fn_split(ev: Evaluator, source: Any, delimiter: Any) -> Any:
    text = to_str(source)
    if text is None:
        return None
    separator = to_str(delimiter) or ""
    if not separator:
        return [text]
    # Microsoft's example splits "PermissionSetOne, PermissionSetTwo" on "," into values without
    # the leading space, so parts are trimmed; empty parts would be empty multi-values.
    parts = [part.strip() for part in text.split(separator)]
    return [part for part in parts if part]


def _fn_stripspaces(ev: Evaluator, source: Any) -> Any:
    text = to_str(source)
    return None if text is None else text.replace(" ", "")


def _fn_tolower(ev: Evaluator, source: Any, culture: Any = None) -> Any:
    text = to_str(source)
    if text is None:
        return None
    if (to_str(culture) or "").lower()[:2] in ("tr", "az"):
        text = text.replace("I", "ı").replace("İ", "i")
    return _invariant_lower(text)


def _fn_toupper(ev: Evaluator, source: Any, culture: Any = None) -> Any:
    text = to_str(source)
    if text is None:
        return None
    if (to_str(culture) or "").lower()[:2] in ("tr", "az"):
        text = text.replace("i", "İ").replace("ı", "I")
    return _invariant_upper(text)


def _fn_word(ev: Evaluator, source: Any, number: Any, delimiters: Any) -> str:
    text = to_str(source)
    position = to_int(number, "WordNumber")
    if text is None or position < 1:
        return ""
    chars = to_str(delimiters) or ""
    words = re.split("[" + re.escape(chars) + "]", text) if chars else [text]
    # Runs of delimiters do not create empty words.
    words = [word for word in words if word]
    return words[position - 1] if position <= len(words) else ""


SPECS = [
    FunctionSpec("Append", 2, 2, _fn_append),
    FunctionSpec("ConvertToBase64", 1, 1, _fn_base64),
    FunctionSpec("ConvertToUTF8Hex", 1, 1, _fn_utf8hex),
    FunctionSpec("CStr", 1, 1, _fn_cstr),
    FunctionSpec("InStr", 2, 4, _fn_instr, check=_check_instr),
    FunctionSpec("Join", 2, None, _fn_join),
    FunctionSpec("Left", 2, 2, _fn_left),
    FunctionSpec("Mid", 3, 3, _fn_mid),
    FunctionSpec("NormalizeDiacritics", 1, 1, _fn_normalize),
    FunctionSpec("PCase", 1, 2, _fn_pcase),
    FunctionSpec("Replace", 3, 7, _fn_replace, lazy=True),
    FunctionSpec("Split", 2, 2, _fn_split),
    FunctionSpec("StripSpaces", 1, 1, _fn_stripspaces),
    FunctionSpec("ToLower", 1, 2, _fn_tolower),
    FunctionSpec("ToUpper", 1, 2, _fn_toupper),
    FunctionSpec("Word", 3, 3, _fn_word),
]
