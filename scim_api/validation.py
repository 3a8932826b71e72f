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
    (keys included): PostgreSQL's text and jsonb types cannot hold them."""
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
    """Reject a parsed JSON body whose objects and arrays nest deeper than ``limit``."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise InvalidSyntax(TOO_DEEP)
        stack.extend((child, depth + 1) for child in children)


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
