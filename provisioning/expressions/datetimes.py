"""Dates for the date functions: the shapes Entra sources write, and .NET format strings.

The emulated server runs in UTC, so .NET's "local" time is UTC throughout.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from provisioning.expressions.errors import ConversionError
from provisioning.expressions.values import DateTimeValue, is_null, to_str

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
                raise ConversionError(f"{text!r} is not a valid date")
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
            raise ConversionError(f"{text!r} is not a valid date: {error}") from None
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
            raise ConversionError(f"{text!r} is not a valid date: {error}") from None
        # A date-only value with an offset ("2020-03-16-07:00") is midnight at that offset.
        return local - timedelta(minutes=_offset_minutes(match["offset"] or "Z"))
    raise ConversionError(f"{text!r} is not a recognised date/time")


def to_datetime(value: Any, what: str) -> datetime:
    if isinstance(value, DateTimeValue):
        return value.moment
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if is_null(value):
        raise ConversionError(f"{what} is null")
    return _parse_date_string(to_str(value) or "")


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
            raise ConversionError(f"unsupported standard date format {fmt!r}")
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char in "'\"":
            end = fmt.find(char, index + 1)
            if end < 0:
                raise ConversionError(f"unterminated quote in date format {fmt!r}")
            tokens.append(("lit", fmt[index + 1 : end]))
            index = end + 1
        elif char == "\\":
            if index + 1 >= len(fmt):
                raise ConversionError(f"date format {fmt!r} ends with a backslash")
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


def dotnet_format(moment: datetime, fmt: str, *, unspecified: bool = False) -> str:
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


def parse_styles(styles: str | None) -> set[str]:
    if not styles:
        # Entra's documented default.
        return {"roundtripkind", "allowleadingwhite", "allowtrailingwhite"}
    parsed = set()
    for part in re.split(r"[,|]", styles):
        name = part.strip().removeprefix("DateTimeStyles.").lower()
        if not name:
            continue
        if name not in _DATE_STYLES:
            raise ConversionError(f"unknown dateTimeStyles value {part.strip()!r}")
        parsed.add(name)
    if "allowwhitespaces" in parsed:
        parsed |= {"allowleadingwhite", "allowtrailingwhite", "allowinnerwhite"}
    return parsed


def dotnet_parse(text: str, fmt: str, styles: set[str]) -> tuple[datetime, bool]:
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
        raise ConversionError(f"unsupported date format {fmt!r}: {error}") from None
    if not match:
        raise ConversionError(f"{text!r} does not match the input format {fmt!r}")
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
        raise ConversionError(f"{text!r} is not a valid date: {error}") from None
    offset = parts.get("offset")
    if offset:
        # RoundtripKind turns an offset into local time, and the emulated server runs in UTC.
        return moment - timedelta(minutes=_offset_minutes(offset)), False
    unspecified = not ({"assumeuniversal", "assumelocal", "adjusttouniversal"} & styles)
    return moment, unspecified
