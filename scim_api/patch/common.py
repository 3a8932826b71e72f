"""Pieces every part of the PATCH engine shares: the resolved target, the state the engine
works on, and small helpers for values and error messages."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from scim2_models.path import FilterNode

from scim_api.errors import ScimError
from scim_api.patch.results import MemberChanges
from scim_api.policy import CompatibilityPolicy
from scim_api.schema import Attribute, ResolvedAttribute, ResourceType


def _json_copy(value: Any) -> Any:
    """A deep copy of a JSON document (dicts, lists and scalars, as the database and the JSON
    parser give them): a few times faster than :func:`copy.deepcopy`, which the engine ran on
    every PATCH's whole document. Anything else is left to ``deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {
            key: child if type(child) in _JSON_SCALARS else _json_copy(child)
            for key, child in value.items()
        }
    if kind is list:
        return [child if type(child) in _JSON_SCALARS else _json_copy(child) for child in value]
    return copy.deepcopy(value)


#: The immutable values of a JSON document, shared by the copy rather than copied.
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


class _Absent:
    """The value of an attribute that ends up unassigned (null, ``[]``, a manager of ``""``)."""

    def __repr__(self) -> str:
        return "ABSENT"


_ABSENT = _Absent()


@dataclass(frozen=True)
class _Target:
    """A resolved PATCH target: attribute, optional sub-attribute and optional value filter."""

    attr: ResolvedAttribute  # for a custom attribute, ``extension`` is the document's key
    sub: Attribute | None
    filter: FilterNode | None
    text: str  # as the client wrote it, for error messages


class _EngineState:
    """The state of one :class:`~scim_api.patch.engine._Engine` run, shared by the parts it is
    built from (path resolution, coercion, application, members, value filters)."""

    resource: ResourceType
    policy: CompatibilityPolicy
    #: "patch" follows PATCH rules; "resource" reads a POST/PUT body.
    mode: Literal["patch", "resource"]
    doc: dict  # the working deep copy of the document
    password: str | None
    members: MemberChanges

    def _unknown(self, error: type[ScimError], detail: str) -> None:
        if self.policy.ignore_unknown_attributes:
            return None
        raise error(detail)


def _find_key(container: dict, name: str) -> str | None:
    """The key of ``container`` naming ``name``: attribute names are case-insensitive."""
    if name in container:
        return name
    lowered = name.lower()
    return next((k for k in container if isinstance(k, str) and k.lower() == lowered), None)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short(value: Any) -> str:
    """A value quoted for an error message, truncated: details must stay readable."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _parse_datetime(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    # A dateTime without an offset is read as UTC so that comparisons never mix naive and aware.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})
