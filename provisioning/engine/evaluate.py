"""Attribute mappings, compiled once per cycle and evaluated per object.

A cycle reads the job's object mappings from the database once (:func:`compile_mapping`), so
the per-object work that runs in worker threads touches no ORM object. Evaluation follows the
portal's rules (entra-scim-behaviour.md §3.2): null values are never provisioned; "Default
value if null" applies only when the object is created; "Only during object creation" mappings
flow only in the POST; ``IgnoreFlowIfNullOrEmpty`` drops the attribute; mapping type None
flows nothing but its default value on create. ``manager`` and group ``members`` are reference
attributes: they flow in a later round-trip, once the referenced objects exist in the target.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning.engine.paths import parse_path
from provisioning.expressions import (
    IGNORE_FLOW,
    Expression,
    ExpressionError,
    parse_expression,
)
from provisioning.models import AttributeMapping, ObjectMapping, ProvisioningJob
from provisioning.scoping import ScopingFilter, filters_from_json

MappingType = AttributeMapping.MappingType


class MappingEvaluationError(Exception):
    """An expression failed for this object; the object fails, the cycle goes on."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(f"{target}: {message}")
        self.target = target


@dataclass(frozen=True)
class CompiledAttribute:
    target: str
    mapping_type: str
    source_attribute: str = ""
    constant: str = ""
    expression: Expression | None = None
    expression_text: str = ""
    default: str | None = None
    on_create_only: bool = False
    matching_precedence: int = 0

    @property
    def is_reference(self) -> bool:
        path = parse_path(self.target)
        return path.attribute.lower() in ("manager", "members") and path.sub is None

    @property
    def source_display(self) -> str:
        if self.mapping_type == MappingType.EXPRESSION:
            return self.expression_text
        if self.mapping_type == MappingType.CONSTANT:
            return f'"{self.constant}"'
        return self.source_attribute


@dataclass(frozen=True)
class CompiledMapping:
    object_type: str
    name: str
    enabled: bool
    action_create: bool
    action_update: bool
    action_delete: bool
    scoping_filters: tuple[ScopingFilter, ...]
    attributes: tuple[CompiledAttribute, ...]
    fingerprint_data: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def matching(self) -> list[CompiledAttribute]:
        return sorted(
            (a for a in self.attributes if a.matching_precedence > 0),
            key=lambda a: a.matching_precedence,
        )

    @property
    def regular(self) -> list[CompiledAttribute]:
        return [a for a in self.attributes if not a.is_reference]

    def reference(self, attribute: str) -> CompiledAttribute | None:
        for item in self.attributes:
            if item.is_reference and parse_path(item.target).attribute.lower() == attribute:
                return item
        return None

    @property
    def flows_soft_delete(self) -> bool:
        """Does IsSoftDeleted reach the target (the default ``active`` Switch)? Without it
        Entra sends nothing when a user leaves scope."""
        for item in self.attributes:
            if item.mapping_type == MappingType.DIRECT and item.source_attribute == "IsSoftDeleted":
                return True
            if item.expression is not None and any(
                name.lower() == "issoftdeleted" for name in item.expression.attributes()
            ):
                return True
        return False

    @property
    def active_attribute(self) -> CompiledAttribute | None:
        for item in self.attributes:
            if item.target == "active":
                return item
        return None


def compile_mapping(mapping: ObjectMapping) -> CompiledMapping:
    attributes = []
    for row in mapping.attributes.all():
        expression = None
        if row.mapping_type == MappingType.EXPRESSION:
            expression = parse_expression(row.expression)
        attributes.append(
            CompiledAttribute(
                target=row.target_attribute,
                mapping_type=row.mapping_type,
                source_attribute=row.source_attribute,
                constant=row.constant_value,
                expression=expression,
                expression_text=row.expression,
                default=row.default_value or None,
                on_create_only=row.apply == AttributeMapping.Apply.ON_CREATE,
                matching_precedence=row.matching_precedence,
            )
        )
    fingerprint_data = {
        "enabled": mapping.enabled,
        "actions": [mapping.action_create, mapping.action_update, mapping.action_delete],
        "filters": mapping.scoping_filters,
        "attributes": [
            [
                a.target,
                a.mapping_type,
                a.source_attribute,
                a.constant,
                a.expression_text,
                a.default,
                a.on_create_only,
                a.matching_precedence,
            ]
            for a in attributes
        ],
    }
    return CompiledMapping(
        object_type=mapping.object_type,
        name=mapping.name,
        enabled=mapping.enabled,
        action_create=mapping.action_create,
        action_update=mapping.action_update,
        action_delete=mapping.action_delete,
        scoping_filters=tuple(filters_from_json(mapping.scoping_filters)),
        attributes=tuple(attributes),
        fingerprint_data=fingerprint_data,
    )


def job_mappings(job: ProvisioningJob) -> dict[str, CompiledMapping]:
    mappings = job.mappings.prefetch_related("attributes")
    return {m.object_type: compile_mapping(m) for m in mappings}


def job_fingerprint(job: ProvisioningJob, mappings: Mapping[str, CompiledMapping]) -> str:
    """Changes to mappings, scoping filters or scope trigger a new initial cycle (§3.2)."""
    data = {
        "scope": job.scope,
        "mappings": {key: m.fingerprint_data for key, m in sorted(mappings.items())},
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _lookup(source: Mapping[str, Any], name: str) -> Any:
    if name in source:
        return source[name]
    lowered = name.lower()
    for key, value in source.items():
        if key.lower() == lowered:
            return value
    return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def evaluate_attribute(item: CompiledAttribute, source: Mapping[str, Any]) -> Any:
    """The attribute's value for this object (None when null; IGNORE_FLOW when dropped)."""
    if item.mapping_type == MappingType.DIRECT:
        return _lookup(source, item.source_attribute)
    if item.mapping_type == MappingType.CONSTANT:
        return item.constant
    if item.mapping_type == MappingType.EXPRESSION and item.expression is not None:
        try:
            return item.expression.evaluate(source)
        except ExpressionError as error:
            raise MappingEvaluationError(item.target, str(error)) from None
    return None


def evaluate_mapping(
    mapping: CompiledMapping, source: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """``{target path: value}`` of the non-reference attributes that flow now."""
    values: dict[str, Any] = {}
    for item in mapping.regular:
        if item.on_create_only and not creating:
            continue
        value = evaluate_attribute(item, source)
        if value is IGNORE_FLOW:
            continue
        if _empty(value) and creating and item.default is not None:
            value = item.default
        if _empty(value):
            continue
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        values[item.target] = value if isinstance(value, bool | list) else str(value)
    return values


def matching_values(mapping: CompiledMapping, source: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(target attribute, value) for each matching attribute with a value, by precedence."""
    pairs = []
    for item in mapping.matching:
        value = evaluate_attribute(item, source)
        if value is IGNORE_FLOW or _empty(value):
            continue
        pairs.append((item.target, str(value)))
    return pairs
