"""Writes to a job's object and attribute mappings and scoping filters. Every change records
the audit activity "Update attribute mappings or scope"."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from provisioning.audit import Activity, provisioning_audit_record
from provisioning.defaults import TEMPLATE_MAPPINGS
from provisioning.expressions import ExpressionSyntaxError, parse_expression
from provisioning.models import AttributeMapping, ObjectMapping, ProvisioningJob
from provisioning.scoping import (
    ScopingFilter,
    filters_from_json,
    filters_to_json,
    validate_filter,
)

MappingType = AttributeMapping.MappingType


def object_mappings_reset(*, job: ProvisioningJob) -> list[ObjectMapping]:
    """Replace every object mapping (and its attribute mappings and scoping filters) of the job
    with its gallery template's defaults. No audit event: callers decide the activity."""
    application = job.application
    job.mappings.all().delete()
    created = []
    for template in TEMPLATE_MAPPINGS[application.template]:
        mapping = ObjectMapping.objects.create(
            job=job,
            object_type=template.object_type,
            name=template.name(app_name=application.name),
            target_object=template.target_object,
        )
        AttributeMapping.objects.bulk_create(
            AttributeMapping(
                object_mapping=mapping,
                mapping_type=default.mapping_type,
                source_attribute=default.source if default.mapping_type == "Direct" else "",
                expression=default.source if default.mapping_type == "Expression" else "",
                target_attribute=default.target,
                matching_precedence=default.matching_precedence,
                order=index,
            )
            for index, default in enumerate(template.attributes)
        )
        created.append(mapping)
    return created


@transaction.atomic
def object_mappings_restore_defaults(
    *, job: ProvisioningJob, actor: AbstractBaseUser | None = None
) -> list[ObjectMapping]:
    """ "Restore default mappings": all mappings and scoping filters back to the template."""
    mappings = object_mappings_reset(job=job)
    provisioning_audit_record(
        application=job.application,
        activity=Activity.UPDATE_MAPPINGS,
        actor=actor,
        details={"restored_default_mappings": True},
    )
    return mappings


@transaction.atomic
def object_mapping_update(
    *,
    mapping: ObjectMapping,
    enabled: bool,
    action_create: bool,
    action_update: bool,
    action_delete: bool,
    actor: AbstractBaseUser | None = None,
) -> list[str]:
    """Save the Attribute Mapping blade's Enabled toggle and Target Object Actions."""
    if mapping.object_type == ObjectMapping.ObjectType.USER and not enabled:
        raise ValidationError({"enabled": "The users mapping cannot be disabled."})
    wanted = {
        "enabled": enabled,
        "action_create": action_create,
        "action_update": action_update,
        "action_delete": action_delete,
    }
    changed = [name for name, value in wanted.items() if getattr(mapping, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(mapping, name, wanted[name])
    mapping.save(update_fields=changed)
    provisioning_audit_record(
        application=mapping.job.application,
        activity=Activity.UPDATE_MAPPINGS,
        actor=actor,
        details={"mapping": mapping.name, "changed": changed},
    )
    return changed


def _validate_attribute(
    mapping: ObjectMapping,
    *,
    instance: AttributeMapping | None,
    mapping_type: str,
    source_attribute: str,
    constant_value: str,
    expression: str,
    target_attribute: str,
    matching_precedence: int,
) -> None:
    errors: dict[str, str] = {}
    if mapping_type not in MappingType.values:
        errors["mapping_type"] = "Select a valid mapping type."
    if mapping_type == MappingType.DIRECT and not source_attribute:
        errors["source_attribute"] = "This field is required."
    if mapping_type == MappingType.CONSTANT and constant_value == "":
        errors["constant_value"] = "This field is required."
    if mapping_type == MappingType.EXPRESSION:
        try:
            parse_expression(expression)
        except ExpressionSyntaxError as error:
            errors["expression"] = error.message
    if not target_attribute:
        errors["target_attribute"] = "This field is required."
    elif target_attribute == "id":
        errors["target_attribute"] = "The primary key (id) cannot be a target attribute."
    siblings = mapping.attributes.all()
    if instance is not None:
        siblings = siblings.exclude(pk=instance.pk)
    if target_attribute and siblings.filter(target_attribute=target_attribute).exists():
        errors["target_attribute"] = f"{target_attribute} is already the target of a mapping."
    if matching_precedence < 0:
        errors["matching_precedence"] = "Enter a whole number of 1 or more."
    elif matching_precedence and siblings.filter(matching_precedence=matching_precedence).exists():
        errors["matching_precedence"] = (
            f"Another matching attribute already has precedence {matching_precedence}."
        )
    if errors:
        raise ValidationError(errors)


def _clean_values(mapping_type: str, values: dict) -> dict:
    """Keep only the fields the mapping type uses, as the dialog hides the others."""
    if mapping_type != MappingType.DIRECT:
        values["source_attribute"] = ""
    if mapping_type != MappingType.CONSTANT:
        values["constant_value"] = ""
    if mapping_type != MappingType.EXPRESSION:
        values["expression"] = ""
    if mapping_type == MappingType.CONSTANT:
        values["default_value"] = ""
    return values


@transaction.atomic
def attribute_mapping_save(
    *,
    mapping: ObjectMapping,
    instance: AttributeMapping | None = None,
    mapping_type: str,
    target_attribute: str,
    source_attribute: str = "",
    constant_value: str = "",
    expression: str = "",
    default_value: str = "",
    matching_precedence: int = 0,
    apply: str = AttributeMapping.Apply.ALWAYS,
    actor: AbstractBaseUser | None = None,
) -> AttributeMapping:
    """Create (``instance=None``, "Add New Mapping") or change one attribute mapping (the Edit
    Attribute dialog's Ok). Raises ``ValidationError`` with per-field messages."""
    if instance is not None and instance.object_mapping_id != mapping.pk:
        raise ValueError("attribute mapping belongs to another object mapping")
    _validate_attribute(
        mapping,
        instance=instance,
        mapping_type=mapping_type,
        source_attribute=source_attribute,
        constant_value=constant_value,
        expression=expression,
        target_attribute=target_attribute,
        matching_precedence=matching_precedence,
    )
    if apply not in AttributeMapping.Apply.values:
        raise ValidationError({"apply": "Select a valid choice."})
    values = _clean_values(
        mapping_type,
        {
            "mapping_type": mapping_type,
            "source_attribute": source_attribute,
            "constant_value": constant_value,
            "expression": expression,
            "default_value": default_value,
            "target_attribute": target_attribute,
            "matching_precedence": matching_precedence,
            "apply": apply,
        },
    )
    if instance is None:
        next_order = (mapping.attributes.aggregate(top=Max("order"))["top"] or 0) + 1
        attribute = AttributeMapping.objects.create(
            object_mapping=mapping, order=next_order, **values
        )
        change = "added"
    else:
        for name, value in values.items():
            setattr(instance, name, value)
        instance.save()
        attribute = instance
        change = "edited"
    provisioning_audit_record(
        application=mapping.job.application,
        activity=Activity.UPDATE_MAPPINGS,
        actor=actor,
        details={"mapping": mapping.name, change: target_attribute},
    )
    return attribute


@transaction.atomic
def attribute_mapping_delete(
    *, attribute: AttributeMapping, actor: AbstractBaseUser | None = None
) -> None:
    """Remove one attribute mapping (the table's Delete)."""
    mapping = attribute.object_mapping
    if mapping.object_type == ObjectMapping.ObjectType.USER and attribute.is_matching:
        remaining = mapping.attributes.filter(matching_precedence__gt=0).exclude(pk=attribute.pk)
        if not remaining.exists():
            raise ValidationError("At least one attribute must be used to match objects.")
    target = attribute.target_attribute
    attribute.delete()
    provisioning_audit_record(
        application=mapping.job.application,
        activity=Activity.UPDATE_MAPPINGS,
        actor=actor,
        details={"mapping": mapping.name, "deleted": target},
    )


@transaction.atomic
def object_mapping_scoping_filters_set(
    *,
    mapping: ObjectMapping,
    filters: Sequence[ScopingFilter],
    actor: AbstractBaseUser | None = None,
) -> None:
    """Replace the Source Object Scope of a mapping. Each filter must validate."""
    problems = {}
    for index, scoping_filter in enumerate(filters):
        errors = validate_filter(scoping_filter)
        if errors:
            problems[f"filter {index + 1}"] = str(errors)
    if problems:
        raise ValidationError(problems)
    before = mapping.scoping_filters
    mapping.scoping_filters = filters_to_json(filters)
    if mapping.scoping_filters == before:
        return
    mapping.save(update_fields=["scoping_filters"])
    provisioning_audit_record(
        application=mapping.job.application,
        activity=Activity.UPDATE_MAPPINGS,
        actor=actor,
        details={"mapping": mapping.name, "scoping_filters": [f.title for f in filters]},
    )


def object_mapping_scoping_filter_add(
    *, mapping: ObjectMapping, scoping_filter: ScopingFilter, actor: AbstractBaseUser | None = None
) -> None:
    filters = filters_from_json(mapping.scoping_filters)
    object_mapping_scoping_filters_set(
        mapping=mapping, filters=[*filters, scoping_filter], actor=actor
    )


def object_mapping_scoping_filter_replace(
    *,
    mapping: ObjectMapping,
    index: int,
    scoping_filter: ScopingFilter,
    actor: AbstractBaseUser | None = None,
) -> None:
    filters = filters_from_json(mapping.scoping_filters)
    if not 0 <= index < len(filters):
        raise IndexError("no such scoping filter")
    filters[index] = scoping_filter
    object_mapping_scoping_filters_set(mapping=mapping, filters=filters, actor=actor)


def object_mapping_scoping_filter_delete(
    *, mapping: ObjectMapping, index: int, actor: AbstractBaseUser | None = None
) -> None:
    filters = filters_from_json(mapping.scoping_filters)
    if not 0 <= index < len(filters):
        raise IndexError("no such scoping filter")
    del filters[index]
    object_mapping_scoping_filters_set(mapping=mapping, filters=filters, actor=actor)
