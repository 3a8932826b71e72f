"""Booleans and flow.

CBool, Coalesce, IIF, IsNull and its siblings, Not, Switch, BitAnd and IgnoreFlowIfNullOrEmpty.
"""

from __future__ import annotations

from typing import Any

from provisioning.expressions.errors import ExpressionEvaluationError, IgnoreFlowSignal
from provisioning.expressions.evaluator import Evaluator, FunctionSpec
from provisioning.expressions.nodes import Attribute, Call, walk
from provisioning.expressions.values import (
    bool_str,
    is_null,
    is_null_or_empty,
    to_bool,
    to_int,
    to_str,
)


def _fn_bitand(ev: Evaluator, value1: Any, value2: Any) -> Any:
    if is_null(value1) or is_null(value2):
        return None
    return to_int(value1, "value1") & to_int(value2, "value2")


def _fn_cbool(ev: Evaluator, value: Any) -> str:
    return bool_str(to_bool(value))


def _fn_coalesce(ev: Evaluator, *values: Any) -> Any:
    for value in values:
        if not is_null(value):
            return value
    return None


def _fn_ignore_flow(ev: Evaluator, value: Any) -> Any:
    if is_null_or_empty(value):
        raise IgnoreFlowSignal
    return value


def _fn_iif(ev: Evaluator, call: Call) -> Any:
    condition, if_true, if_false = call.args
    # Documented limitation: "If the source attribute used within the IIF function is empty or
    # null, the condition check fails." Emulated as an error so the behaviour is visible.
    for node in walk(condition):
        if isinstance(node, Attribute) and is_null_or_empty(ev.lookup(node.name)):
            raise ExpressionEvaluationError(
                "IIF",
                f"the condition uses [{node.name}], which is null or empty; IIF conditions fail "
                "on null or empty source attributes (use Switch to handle missing values)",
            )
    branch = if_true if to_bool(ev.eval(condition)) else if_false
    return ev.eval(branch)


def _fn_isnull(ev: Evaluator, value: Any) -> str:
    return bool_str(is_null(value))


def _fn_isnullorempty(ev: Evaluator, value: Any) -> str:
    return bool_str(is_null_or_empty(value))


def _fn_ispresent(ev: Evaluator, value: Any) -> str:
    return bool_str(not is_null_or_empty(value))


def _fn_isstring(ev: Evaluator, value: Any) -> str:
    return bool_str(isinstance(value, str))


def _fn_not(ev: Evaluator, source: Any) -> str:
    # Documented: "If source value is True, returns False. Otherwise, returns True."
    text = to_str(source)
    return bool_str(not (text is not None and text.strip().lower() == "true"))


def _fn_switch(ev: Evaluator, call: Call) -> Any:
    source_node, default_node, *pairs = call.args
    source = to_str(ev.eval(source_node))
    for key_node, value_node in zip(pairs[::2], pairs[1::2], strict=True):
        key = to_str(ev.eval(key_node))
        # Entra stores no empty strings, so the documented "" key is how authors catch an absent
        # value: a null source matches "" (and an omitted key).
        if key == source or (source is None and key in ("", None)):
            return ev.eval(value_node)
    return ev.eval(default_node)


def _check_switch(call: Call) -> str | None:
    if len(call.args) % 2:
        return "keys and values must come in pairs (source, defaultValue, key1, value1, ...)"
    return None


SPECS = [
    FunctionSpec("BitAnd", 2, 2, _fn_bitand),
    FunctionSpec("CBool", 1, 1, _fn_cbool),
    FunctionSpec("Coalesce", 1, None, _fn_coalesce),
    FunctionSpec("IgnoreFlowIfNullOrEmpty", 1, 1, _fn_ignore_flow),
    FunctionSpec("IIF", 3, 3, _fn_iif, lazy=True),
    FunctionSpec("IsNull", 1, 1, _fn_isnull),
    FunctionSpec("IsNullOrEmpty", 1, 1, _fn_isnullorempty),
    FunctionSpec("IsPresent", 1, 1, _fn_ispresent),
    FunctionSpec("IsString", 1, 1, _fn_isstring),
    FunctionSpec("Not", 1, 1, _fn_not),
    FunctionSpec("Switch", 4, None, _fn_switch, lazy=True, check=_check_switch),
]
