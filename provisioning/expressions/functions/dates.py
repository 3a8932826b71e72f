"""Date functions.

CDate, DateAdd and DateDiff (Visual Basic semantics), DateFromNum and NumFromDate (Active
Directory FILETIME ticks), FormatDateTime and Now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from provisioning.expressions.datetimes import (
    dotnet_format,
    dotnet_parse,
    parse_styles,
    to_datetime,
)
from provisioning.expressions.errors import ConversionError
from provisioning.expressions.evaluator import Evaluator, FunctionSpec
from provisioning.expressions.nodes import Call, StringLiteral
from provisioning.expressions.values import DateTimeValue, is_null_or_empty, to_int, to_str

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise ConversionError("the resulting date is out of range")
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


def _fn_cdate(ev: Evaluator, value: Any) -> Any:
    if is_null_or_empty(value):
        return None
    return DateTimeValue(to_datetime(value, "expression"))


def _fn_dateadd(ev: Evaluator, interval: Any, number: Any, moment: Any) -> Any:
    if is_null_or_empty(moment):
        return None
    unit = to_str(interval)
    if unit not in _INTERVALS:
        raise ConversionError(f"unknown interval {unit!r}; use one of {', '.join(_INTERVALS)}")
    amount = to_int(number, "value")
    start = to_datetime(moment, "dateTime")
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
        raise ConversionError("the resulting date is out of range") from None
    return DateTimeValue(result)


def _week_start(moment: datetime) -> datetime:
    # VBA's DateDiff("ww") counts Sundays crossed (the default first day of the week).
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _fn_datediff(ev: Evaluator, interval: Any, date1: Any, date2: Any) -> Any:
    if is_null_or_empty(date1) or is_null_or_empty(date2):
        return None
    unit = to_str(interval)
    if unit not in _INTERVALS:
        raise ConversionError(f"unknown interval {unit!r}; use one of {', '.join(_INTERVALS)}")
    first, second = to_datetime(date1, "date1"), to_datetime(date2, "date2")
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


def _fn_datefromnum(ev: Evaluator, value: Any) -> Any:
    if is_null_or_empty(value):
        return None
    ticks = to_int(value, "value")
    try:
        return DateTimeValue(_FILETIME_EPOCH + timedelta(microseconds=ticks // 10))
    except OverflowError:
        raise ConversionError(f"{ticks} is outside the AD date range") from None


def _fn_formatdatetime(
    ev: Evaluator, source: Any, styles: Any, input_format: Any, output_format: Any
) -> Any:
    text = to_str(source)
    if text is None or text == "":
        return None
    if not input_format or not output_format:
        raise ConversionError("inputFormat and outputFormat are required")
    moment, unspecified = dotnet_parse(
        text, to_str(input_format) or "", parse_styles(to_str(styles))
    )
    return dotnet_format(moment, to_str(output_format) or "", unspecified=unspecified)


def _fn_now(ev: Evaluator) -> DateTimeValue:
    return DateTimeValue(ev.now_utc())


def _fn_numfromdate(ev: Evaluator, value: Any) -> Any:
    if is_null_or_empty(value):
        return None
    moment = to_datetime(value, "value")
    delta = moment - _FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


SPECS = [
    FunctionSpec("CDate", 1, 1, _fn_cdate),
    FunctionSpec("DateAdd", 3, 3, _fn_dateadd, check=_check_interval),
    FunctionSpec("DateDiff", 3, 3, _fn_datediff, check=_check_interval),
    FunctionSpec("DateFromNum", 1, 1, _fn_datefromnum),
    FunctionSpec("FormatDateTime", 4, 4, _fn_formatdatetime),
    FunctionSpec("Now", 0, 0, _fn_now),
    FunctionSpec("NumFromDate", 1, 1, _fn_numfromdate),
]
