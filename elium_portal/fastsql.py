"""Reads on the SCIM hot path without the ORM's query compiler.

Compiling a queryset costs about a millisecond here, several times what PostgreSQL needs to
answer it, and an authenticated SCIM GET makes three of them. These helpers build a model's
SELECT list once from its concrete fields and turn a row into an instance with
``Model.from_db``, applying the fields' database converters (e.g. JSONField) as the compiler
would. The SQL around them is static text with bound parameters.
"""

from __future__ import annotations

import functools

from django.db import connection


@functools.cache
def _shape(model) -> tuple[list, list[str]]:
    fields = list(model._meta.concrete_fields)
    return fields, [f.attname for f in fields]


def select_list(model, alias: str) -> str:
    """``alias."col1", alias."col2", …`` for every concrete field of ``model``, in order."""
    fields, _ = _shape(model)
    return ", ".join(f'{alias}."{field.column}"' for field in fields)


def width(model) -> int:
    return len(_shape(model)[0])


def instance_from_row(model, values):
    """The model instance for ``values`` (a slice of a row, in :func:`select_list` order)."""
    fields, attnames = _shape(model)
    converted = []
    for field, value in zip(fields, values, strict=True):
        if value is not None:
            for converter in field.get_db_converters(connection):
                value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, attnames, converted)
