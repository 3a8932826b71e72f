"""What PostgreSQL can store: checked once at the edge, so odd input is a 400 ``invalidValue``
rather than a database error in the middle of a write."""

from __future__ import annotations

import math
import uuid

from scim_api.errors import InvalidSyntax, InvalidValue

#: Longest value of the attributes copied into indexed columns (userName, externalId,
#: displayName): the columns are ``varchar(256)``.
MAX_COLUMN_LENGTH = 256
#: Deepest nesting of objects and arrays in a request body. A Bulk request carrying a PATCH of a
#: custom extension is about ten levels deep; recursive code (and PostgreSQL's jsonb) must never
#: meet a thousand.
MAX_JSON_DEPTH = 64
TOO_DEEP = f"The request body is nested more than {MAX_JSON_DEPTH} levels deep."


def parse_uuid(value) -> uuid.UUID | None:
    """A client-supplied id as a UUID, or None when it is not one (an unknown id, not an error)."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def check_storable(value, where: str = "the request body") -> None:
    """Reject NUL characters, lone surrogates and non-finite numbers anywhere in ``value``
    (keys included): PostgreSQL's text and jsonb types cannot hold them.

    Every SCIM write runs this over its body, and a PATCH over the whole patched document, so
    the common case — plain JSON values, all storable — is one walk that builds nothing; only
    when it finds something does :func:`_refuse_unstorable` walk again to say where."""
    if not _storable(value):
        _refuse_unstorable(value, where)


def _storable(value) -> bool:
    """True when ``value`` holds only JSON's own types and nothing PostgreSQL refuses. False
    says "look closer", not "refused": other types are left to :func:`_refuse_unstorable`."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            if not _text_storable(item):
                return False
        elif kind is dict:
            for key in item:
                if type(key) is not str or not _text_storable(key):
                    return False
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif not (kind is int or kind is bool or item is None):
            return False
    return True


def _text_storable(text: str) -> bool:
    # Text that is all ASCII has no surrogates: the encoding is only tried for the rest.
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_unstorable(value, where: str) -> None:
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidValue(f"{path} contains a number out of range.")
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(str(key), path)
                stack.append((child, f"{path} › {str(key)[:40]}"))
        elif isinstance(item, list):
            stack.extend((child, path) for child in item)


def check_depth(value, limit: int = MAX_JSON_DEPTH) -> None:
    """Reject a parsed JSON body whose objects and arrays nest deeper than ``limit``. Walked a
    level at a time, looking only at the containers of each level."""
    containers = (dict, list)
    level = [value] if isinstance(value, containers) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise InvalidSyntax(TOO_DEEP)
        below = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below += [child for child in children if isinstance(child, containers)]
        level = below


def _check_text(text: str, path: str) -> None:
    if "\x00" in text:
        raise InvalidValue(f"{path} contains a NUL character, which cannot be stored.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"{path} contains an invalid Unicode character.") from None


def check_column_lengths(document: dict, names: tuple[str, ...]) -> None:
    for name in names:
        value = document.get(name)
        if isinstance(value, str) and len(value) > MAX_COLUMN_LENGTH:
            raise InvalidValue(f"{name} is longer than {MAX_COLUMN_LENGTH} characters.")
