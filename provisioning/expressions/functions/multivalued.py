"""Multi-valued attributes and app roles.

Count, Item, RemoveDuplicates and the three ``appRoleAssignments`` functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioning.expressions.evaluator import Evaluator, FunctionSpec
from provisioning.expressions.values import (
    AppRoleAssignments,
    is_null,
    multi_values,
    to_int,
    to_str,
)

ROLE_TYPE = "WindowsAzureActiveDirectoryRole"


def _app_role_items(value: Any) -> list[dict[str, Any]]:
    roles = []
    for item in multi_values(value):
        if isinstance(item, Mapping):
            lowered = {str(key).lower(): val for key, val in item.items()}
            role_value = lowered.get("value") or lowered.get("displayname") or lowered.get("id")
            display = lowered.get("displayname") or lowered.get("display") or role_value
        else:
            role_value = display = to_str(item)
        if role_value:
            roles.append(
                {"primary": False, "type": ROLE_TYPE, "display": display, "value": role_value}
            )
    return roles


def _fn_app_roles(ev: Evaluator, assignments: Any) -> Any:
    roles = _app_role_items(assignments)
    return AppRoleAssignments(roles, replace=False) if roles else None


def _fn_assertive_app_roles(ev: Evaluator, assignments: Any) -> Any:
    # Unlike the additive variant, an empty list still flows: "replace with nothing" is how
    # the last role gets removed in the target.
    return AppRoleAssignments(_app_role_items(assignments), replace=True)


def _fn_single_app_role(ev: Evaluator, assignments: Any) -> Any:
    roles = _app_role_items(assignments)
    # Entra gives no guarantee which role wins when there are several; the first is stable.
    return roles[0]["value"] if roles else None


def _fn_count(ev: Evaluator, attribute: Any) -> int:
    return len(multi_values(attribute))


def _fn_item(ev: Evaluator, attribute: Any, index: Any) -> Any:
    values = multi_values(attribute)
    position = to_int(index, "index")
    # 1-based; Microsoft warns against 0, so 0 and out-of-range indexes yield null.
    return values[position - 1] if 1 <= position <= len(values) else None


def _fn_remove_duplicates(ev: Evaluator, attribute: Any) -> Any:
    if is_null(attribute):
        return None
    unique: list[Any] = []
    for value in multi_values(attribute):
        if value not in unique:
            unique.append(value)
    return unique


SPECS = [
    FunctionSpec("AppRoleAssignmentsComplex", 1, 1, _fn_app_roles),
    FunctionSpec("AssertiveAppRoleAssignmentsComplex", 1, 1, _fn_assertive_app_roles),
    FunctionSpec("Count", 1, 1, _fn_count),
    FunctionSpec("Item", 2, 2, _fn_item),
    FunctionSpec("RemoveDuplicates", 1, 1, _fn_remove_duplicates),
    FunctionSpec("SingleAppRoleAssignment", 1, 1, _fn_single_app_role),
]
