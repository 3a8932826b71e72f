"""Values made up or hidden at evaluation time.

Guid, RandomString (passwords), Redact, and SelectUniqueValue, which Entra does not offer for
SCIM apps.
"""

from __future__ import annotations

import string
import uuid
from typing import Any

from provisioning.expressions.errors import ConversionError, ExpressionEvaluationError
from provisioning.expressions.evaluator import Evaluator, FunctionSpec
from provisioning.expressions.nodes import Call
from provisioning.expressions.values import redact, to_int, to_str


def _fn_guid(ev: Evaluator) -> str:
    if ev.rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=ev.rng.getrandbits(128), version=4))


# The special characters allowed by Windows password complexity rules.
_SPECIAL_CHARACTERS = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"


def _fn_randomstring(
    ev: Evaluator,
    length: Any,
    min_numbers: Any,
    min_special: Any,
    min_capital: Any,
    min_lower: Any,
    avoid: Any = None,
) -> str:
    total = to_int(length, "Length")
    minimums = [
        to_int(min_numbers, "MinimumNumbers"),
        to_int(min_special, "MinimumSpecialCharacters"),
        to_int(min_capital, "MinimumCapital"),
        to_int(min_lower, "MinimumLowerCase"),
    ]
    if not 1 <= total <= 256:
        raise ConversionError("Length must be between 1 and 256")
    if any(minimum < 0 for minimum in minimums):
        raise ConversionError("minimums must not be negative")
    if sum(minimums) > total:
        raise ConversionError("the minimums add up to more than Length")
    excluded = set(to_str(avoid) or "")
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
            raise ConversionError(f"CharactersToAvoid excludes every allowed {name}")
    everything = [c for pool in pools for c in pool]
    if not everything:
        raise ConversionError("CharactersToAvoid excludes every allowed character")
    rng = ev.random()
    chars = [
        rng.choice(pool)
        for pool, minimum in zip(pools, minimums, strict=True)
        for _ in range(minimum)
    ]
    chars.extend(rng.choice(everything) for _ in range(total - len(chars)))
    rng.shuffle(chars)
    return "".join(chars)


def _fn_redact(ev: Evaluator, value: Any) -> Any:
    return redact(value)


def _fn_select_unique(ev: Evaluator, call: Call) -> Any:
    raise ExpressionEvaluationError(
        "SelectUniqueValue",
        "SelectUniqueValue is not supported for SCIM apps; Entra only supports it for Workday, "
        "SuccessFactors and API-driven provisioning to on-premises Active Directory",
    )


SPECS = [
    FunctionSpec("Guid", 0, 0, _fn_guid),
    FunctionSpec("RandomString", 5, 6, _fn_randomstring),
    FunctionSpec("Redact", 1, 1, _fn_redact),
    FunctionSpec("SelectUniqueValue", 2, None, _fn_select_unique, lazy=True),
]
