"""Target attribute paths as the attribute-mapping table names them, and what they mean in a
SCIM resource.

The mapping table only ever holds four shapes (defaults.py lists them all): a simple
attribute (``displayName``), a sub-attribute (``name.givenName``), a value-filtered element of
a multi-valued attribute (``emails[type eq "work"].value``) and an extension attribute
(``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department``). This module turns
a flat ``{path: value}`` into a POST body and reads a path back out of a GET response, so the
engine can diff against the target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
MANAGER_PATH = f"{ENTERPRISE}:manager"
BOOLEAN_ATTRIBUTES = frozenset({"active"})

_FILTERED = re.compile(
    r'^(?P<attr>[A-Za-z][\w$-]*)\[\s*(?P<fattr>[A-Za-z][\w$-]*)\s+eq\s+"(?P<fvalue>[^"]*)"\s*\]'
    r"(?:\.(?P<sub>[A-Za-z][\w$-]*))?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TargetPath:
    """A parsed target attribute: ``schema`` is the extension URN (or None for core)."""

    text: str
    schema: str | None
    attribute: str
    sub: str | None = None
    filter_attribute: str | None = None
    filter_value: str | None = None

    @property
    def is_filtered(self) -> bool:
        return self.filter_attribute is not None

    @property
    def is_simple(self) -> bool:
        return not self.is_filtered


@lru_cache(maxsize=512)
def parse_path(text: str) -> TargetPath:
    text = text.strip()
    schema = None
    rest = text
    if text.lower().startswith("urn:"):
        schema, _, rest = text.rpartition(":")
    match = _FILTERED.match(rest)
    if match:
        return TargetPath(
            text,
            schema,
            match["attr"],
            match["sub"],
            match["fattr"],
            match["fvalue"],
        )
    attribute, _, sub = rest.partition(".")
    return TargetPath(text, schema, attribute, sub or None)


def _get(container: Any, key: str) -> Any:
    if not isinstance(container, dict):
        return None
    if key in container:
        return container[key]
    lowered = key.lower()
    for name, value in container.items():
        if name.lower() == lowered:
            return value
    return None


def _filter_matches(element: Any, path: TargetPath) -> bool:
    actual = _get(element, path.filter_attribute or "")
    if isinstance(actual, bool):
        actual = "True" if actual else "False"
    return actual is not None and str(actual).lower() == (path.filter_value or "").lower()


def read_value(resource: dict[str, Any], text: str) -> Any:
    """The value a path designates in a SCIM resource (None when absent). The manager is the
    RFC complex value; its ``value`` (the manager's id) is what is returned."""
    path = parse_path(text)
    container = _get(resource, path.schema) if path.schema else resource
    value = _get(container, path.attribute)
    if path.is_filtered:
        if not isinstance(value, list):
            return None
        for element in value:
            if _filter_matches(element, path):
                return _get(element, path.sub or "value")
        return None
    if path.sub:
        return _get(value, path.sub)
    if isinstance(value, dict) and "value" in value and path.attribute.lower() == "manager":
        return value["value"]
    return value


def normalize(value: Any) -> str | None:
    """The comparable form of a value: null and "" are null, booleans are Entra's strings."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict) and "value" in value:
        return normalize(value["value"])
    return str(value)


def _typed(path: TargetPath, value: Any) -> Any:
    if path.attribute in BOOLEAN_ATTRIBUTES and not path.sub and path.schema is None:
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return bool(value)
    return value


def build_resource(values: dict[str, Any], *, schemas: list[str]) -> dict[str, Any]:
    """A POST body from ``{target path: value}`` (values already non-null). Multi-valued
    elements selected by the same filter share one element; the first ``emails`` element is
    marked primary, as in Entra's documented request."""
    body: dict[str, Any] = {"schemas": list(schemas)}
    for text, value in values.items():
        path = parse_path(text)
        container = body
        if path.schema:
            container = body.setdefault(path.schema, {})
            if path.schema not in body["schemas"] and path.schema == ENTERPRISE:
                body["schemas"].append(path.schema)
        typed = _typed(path, value)
        if path.is_filtered:
            elements = container.setdefault(path.attribute, [])
            element = next((e for e in elements if _filter_matches(e, path)), None)
            if element is None:
                filter_value: Any = path.filter_value
                if (path.filter_value or "").lower() in ("true", "false"):
                    filter_value = (path.filter_value or "").lower() == "true"
                element = {path.filter_attribute: filter_value}
                if path.attribute == "emails" and not elements:
                    element = {"primary": True, **element}
                elements.append(element)
            element[path.sub or "value"] = typed
        elif path.sub:
            container.setdefault(path.attribute, {})[path.sub] = typed
        else:
            container[path.attribute] = typed
    return body
