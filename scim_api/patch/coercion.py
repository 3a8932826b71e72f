"""Checking and canonicalising values against their attribute definitions, including Azure AD's
boolean strings and its shapes of ``manager``."""

from __future__ import annotations

import copy
from typing import Any

from scim_api.errors import InvalidValue
from scim_api.patch.common import (
    _ABSENT,
    _Absent,
    _EngineState,
    _json_type,
    _parse_datetime,
    _short,
)
from scim_api.schema import ANY_TYPE, ENTERPRISE_MANAGER, STRING_TYPES, Attribute


class _Coercion(_EngineState):
    """Values made canonical for the document, or an ``invalidValue`` naming where."""

    def _coerce_simple(self, definition: Attribute, value: Any, where: str) -> Any:
        kind = definition.type
        if kind == ANY_TYPE:
            return copy.deepcopy(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                if self.policy.boolean_strings:
                    return value.strip().lower() == "true"
                raise InvalidValue(
                    f"{where} is a boolean: send true or false, not the string {_short(value)} "
                    "(boolean strings are only read under the boolean_strings switch)."
                )
            raise InvalidValue(f"{where} is a boolean; got {_json_type(value)}.")
        if kind in STRING_TYPES:
            if isinstance(value, str):
                return value
            raise InvalidValue(f"{where} is a string; got {_json_type(value)} {_short(value)}.")
        if kind == "dateTime":
            if isinstance(value, str) and _parse_datetime(value) is not None:
                return value
            raise InvalidValue(f"{where} is a dateTime (ISO 8601); got {_short(value)}.")
        if kind == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise InvalidValue(f"{where} is an integer; got {_json_type(value)}.")
        if kind == "decimal":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            raise InvalidValue(f"{where} is a decimal; got {_json_type(value)}.")
        if kind == "complex":
            return self._coerce_complex(definition, value, where, keep_nulls=False)
        raise InvalidValue(f"{where} has the unsupported type {kind}.")  # pragma: no cover

    def _coerce_complex(
        self, definition: Attribute, value: Any, where: str, *, keep_nulls: bool
    ) -> dict:
        """A complex value with canonical sub-attribute names; None values mark removals."""
        if not isinstance(value, dict):
            subs = ", ".join(a.name for a in definition.sub_attributes)
            raise InvalidValue(
                f"{where} is a complex attribute: send an object with its sub-attributes "
                f"({subs}); got {_json_type(value)}."
            )
        out: dict = {}
        for key, sub_value in value.items():
            sub = definition.sub(key)
            if sub is None:
                known = ", ".join(a.name for a in definition.sub_attributes)
                self._unknown(
                    InvalidValue,
                    f"{where}: {definition.name} has no sub-attribute {key!r} (it has {known}).",
                )
                continue
            if sub.mutability == "readOnly":
                continue  # computed by the server (members.display, manager.displayName)
            if sub_value is None:
                if keep_nulls:
                    out[sub.name] = None
                continue
            out[sub.name] = self._coerce_simple(sub, sub_value, f"{where}.{sub.name}")
        return out

    def _coerce_multi(self, definition: Attribute, value: Any, where: str) -> list | _Absent:
        if not isinstance(value, list):
            if self.mode == "resource":
                raise InvalidValue(
                    f"{where} is multi-valued: send an array; got {_json_type(value)}."
                )
            value = [value]  # RFC 7644 §3.5.2.1 lets a PATCH value be a single element
        items: list = []
        for position, item in enumerate(value):
            if item is None:
                continue
            if definition.type == "complex":
                element = self._coerce_complex(
                    definition, item, f"{where}[{position}]", keep_nulls=False
                )
                if not element:
                    continue  # an element with no values carries nothing
            else:
                element = self._coerce_simple(definition, item, f"{where}[{position}]")
            if element not in items:
                items.append(element)
        if sum(1 for e in items if isinstance(e, dict) and e.get("primary") is True) > 1:
            raise InvalidValue(
                f'{where}: at most one element may have "primary": true (RFC 7643 §2.4).'
            )
        return items or _ABSENT

    def _coerce_manager(self, value: Any, where: str) -> dict | _Absent:
        """Manager → ``{"value": id}``; the caller adds ``$ref``/``displayName`` on output."""
        tolerant = self.policy.manager_as_string
        hint = f'send {{"value": "<manager id>"}} (got {_json_type(value)} {_short(value)}).'
        if isinstance(value, list):
            if not tolerant:
                raise InvalidValue(f"{where}: manager is a single complex value; {hint}")
            if not value:
                return _ABSENT
            if len(value) > 1:
                raise InvalidValue(f"{where}: a user has one manager; got {len(value)} values.")
            value = value[0]
        if isinstance(value, str):
            if not tolerant:
                raise InvalidValue(f"{where}: manager is complex; {hint}")
            return {"value": value} if value.strip() else _ABSENT
        if value is None:
            return _ABSENT
        complex_value = self._coerce_complex(ENTERPRISE_MANAGER, value, where, keep_nulls=False)
        manager_id = complex_value.get("value")
        # Azure AD clears the manager with an empty value; only the id is stored.
        return {"value": manager_id} if manager_id and manager_id.strip() else _ABSENT
