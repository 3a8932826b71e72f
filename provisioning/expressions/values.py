"""The value model (see the package docstring).

The special values expressions produce, and the conversions every function applies to its
arguments: null, text, boolean, number and multi-valued views of a value.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from provisioning.expressions.errors import ConversionError

REDACTED_LOG_TEXT = "[Redact]"


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


def _format_entra_datetime(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {suffix}"
    )


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


def redact(value: Any) -> Any:
    if value is None or isinstance(value, Redacted):
        return value
    if isinstance(value, list):
        return [redact(item) for item in value]
    text = to_str(value)
    return None if text is None else Redacted(text)


def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, list) and not value)


def is_null_or_empty(value: Any) -> bool:
    return is_null(value) or (isinstance(value, str) and value == "")


def bool_str(flag: bool) -> str:
    return "True" if flag else "False"


def to_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return bool_str(value)
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
            return to_str(value[0])
        raise ConversionError("expected a single value but got a multi-valued attribute")
    if isinstance(value, dict):
        # Reference attributes (e.g. manager) arrive as dicts; their string form is the id.
        for key in ("value", "id", "objectId"):
            if key in value:
                return to_str(value[key])
    return str(value)


def to_bool(value: Any) -> bool:
    if is_null(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    text = to_str(value) or ""
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    number = try_number(lowered)
    if number is not None:
        return number != 0
    raise ConversionError(f"{text!r} is not a boolean")


def try_number(text: str) -> int | Decimal | None:
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
        raise ConversionError(f"{what} must be a number, not a boolean")
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if value is None:
        raise ConversionError(f"{what} is null")
    number = try_number(to_str(value) or "")
    if number is None:
        raise ConversionError(f"{what} must be a number, got {to_str(value)!r}")
    return number


def to_int(value: Any, what: str) -> int:
    number = _to_number(value, what)
    if isinstance(number, Decimal):
        if number != number.to_integral_value():
            raise ConversionError(f"{what} must be a whole number, got {number}")
        return int(number)
    return number


def multi_values(value: Any) -> list[Any]:
    """Multi-valued view of a value: null → [], scalar → [scalar]."""
    if is_null(value):
        return []
    return list(value) if isinstance(value, list) else [value]
