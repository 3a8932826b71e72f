"""Reads and writes on the hot paths without the ORM's query compiler.

Compiling a queryset costs about a millisecond here, several times what PostgreSQL needs to
answer it, and an authenticated SCIM GET makes three of them. These helpers build a model's
SELECT list once from its concrete fields and turn a row into the instance ``Model.from_db``
would give, applying the fields' database converters (e.g. JSONField) as the compiler would.
The SQL around them is static text with bound parameters.

:func:`bulk_insert` writes many rows as one JSON document that PostgreSQL expands
(``json_populate_recordset``): the provisioning engine's per-chunk writes, where
``bulk_create``'s client-side quoting of one array per column cost more CPU than the rest of the
engine's work on a chunk.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import AutoField, BigAutoField, JSONField
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init


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


#: A run of digits that may be an integer past 64 bits, which orjson would read as a float.
_LONG_NUMBER = re.compile(r"\d{19}")


def _json_converter(field):
    """``field.from_db_value`` for a JSONField without a custom decoder, with the parsing done
    by orjson (several times faster than ``json.loads``) when it gives the same value: a
    document with a run of 19 or more digits (an integer orjson would read as a float) or that
    orjson refuses (a number out of a double's range) goes to the field's own converter."""
    slow = field.from_db_value

    def convert(value, expression, connection):
        if isinstance(value, str) and _LONG_NUMBER.search(value) is None:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return slow(value, expression, connection)

    return convert


@functools.cache
def _loader(model, fields: tuple | None) -> tuple[list[str], tuple]:
    """The attribute names of ``fields`` (all concrete fields when None) and, for the fields
    that have database converters, (position, field, converters). The converters of this
    project's one database are the fields' own (``from_db_value``), so they are looked up once
    per model, not per value."""
    fields = _shape(model)[0] if fields is None else fields
    converting = []
    for position, field in enumerate(fields):
        converters = tuple(field.get_db_converters(connection))
        if (
            isinstance(field, JSONField)
            and field.decoder is None
            and converters == (field.from_db_value,)
        ):
            converters = (_json_converter(field),)
        if converters:
            converting.append((position, field, converters))
    return [f.attname for f in fields], tuple(converting)


def instance_from_row(model, values: Sequence, *, fields: tuple | None = None):
    """The model instance for ``values``: a slice of a row in :func:`select_list` order, or the
    values of ``fields`` in their order (the model's other fields are deferred, loaded on first
    access as the ORM's ``defer()`` would). See :func:`instances_from_rows`."""
    return instances_from_rows(model, [values], fields=fields)[0]


def instances_from_rows(model, rows: Iterable[Sequence], *, fields=None, skip: int = 0) -> list:
    """The model instances for ``rows``, each row's values from position ``skip`` on, as
    :func:`instance_from_row` reads them.

    Built as ``Model.from_db`` builds them, less the work of ``Model.__init__`` (about a quarter
    of a page of 100 users' Python time): the values go straight into the instance's
    ``__dict__``, where ``__init__`` would put them one ``setattr`` at a time, and what does not
    change from row to row (the converters, the connection) is looked up once. A model with
    ``pre_init`` or ``post_init`` receivers still goes through ``from_db``, so they run."""
    attnames, converting = _loader(model, fields)
    db = connections[DEFAULT_DB_ALIAS]  # `connection` is a proxy: a thread-local lookup per use
    alias = db.alias
    receivers = pre_init.has_listeners(model) or post_init.has_listeners(model)
    width = len(attnames)
    new = model.__new__
    instances = []
    for row in rows:
        values = list(row[skip:]) if skip else list(row)
        if len(values) != width:
            raise ValueError(f"{len(values)} values for {width} fields of {model.__name__}")
        for position, field, converters in converting:
            value = values[position]
            if value is not None:
                for converter in converters:
                    value = converter(value, field, db)
                values[position] = value
        if receivers:
            instances.append(model.from_db(alias, attnames, values))
            continue
        instance = new(model)
        instance.__dict__.update(zip(attnames, values, strict=True))
        state = instance._state = ModelState()
        state.adding = False
        state.db = alias
        instances.append(instance)
    return instances


@functools.cache
def _insert_sql(model) -> str:
    fields, _ = _shape(model)
    columns = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(["%s"] * len(fields))
    return f'INSERT INTO "{model._meta.db_table}" ({columns}) VALUES ({values})'


def insert(obj, *, around: Callable[[str, list], tuple[str, list]] | None = None) -> None:
    """``obj.save(force_insert=True)`` for a model whose primary key is set in Python (a UUID
    default), as one pre-built INSERT: no signals, every concrete field prepared for the
    database as the ORM would (``pre_save`` defaults, JSON adaptation). ``around`` may turn the
    statement into a bigger one that still inserts the row (e.g. a ``WITH`` that writes a
    related row in the same round trip)."""
    model = type(obj)
    fields, _ = _shape(model)
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    sql = _insert_sql(model)
    if around is not None:
        sql, params = around(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    obj._state.adding = False
    obj._state.db = connection.alias


@functools.cache
def by_id_sql(model, *, for_update: bool = False) -> str:
    """``SELECT`` every concrete field of one row of a tenant-owned ``model`` by id and tenant
    (parameters: id, tenant id), optionally locking it."""
    return (
        f'SELECT {select_list(model, "r")} FROM "{model._meta.db_table}" r '
        'WHERE r."id" = %s AND r."tenant_id" = %s' + (" FOR UPDATE" if for_update else "")
    )


def fetch_one(model, sql: str, params: list):
    """The instance of ``model`` for the first row of ``sql`` (a :func:`select_list` of it), or
    None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return instance_from_row(model, row) if row else None


@functools.cache
def _insert_columns(model) -> list:
    """The fields an INSERT sets: every concrete field but an auto-increment primary key."""
    return [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, AutoField | BigAutoField))
    ]


@functools.cache
def _bulk_insert_sql(model, unique_fields: tuple[str, ...], update_fields: tuple[str, ...]) -> str:
    fields = _insert_columns(model)
    columns = ", ".join(f'"{field.column}"' for field in fields)
    table = model._meta.db_table
    sql = (
        f'INSERT INTO "{table}" ({columns}) '
        f'SELECT {columns} FROM json_populate_recordset(NULL::"{table}", %s::json)'
    )
    if unique_fields:
        column = {f.name: f.column for f in fields}
        conflict = ", ".join(f'"{column[name]}"' for name in unique_fields)
        updates = ", ".join(
            f'"{column[name]}" = EXCLUDED."{column[name]}"' for name in update_fields
        )
        sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    return sql


def _json_default(value):
    return str(value)  # Decimal and the like; datetimes and UUIDs are orjson's own


def bulk_insert(
    model,
    objs: Iterable,
    *,
    unique_fields: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> int:
    """``bulk_create`` for ``objs`` in one statement whose rows travel as one JSON parameter;
    with ``unique_fields``, an upsert that sets ``update_fields`` on conflict
    (``update_conflicts=True``). Each field is prepared by its ``pre_save`` (``auto_now``,
    defaults); no signals, no primary keys set on the instances. Returns the rows written."""
    fields = _insert_columns(model)
    rows = [{field.column: field.pre_save(obj, True) for field in fields} for obj in objs]
    if not rows:
        return 0
    payload = orjson.dumps(rows, default=_json_default).decode()
    with connection.cursor() as cursor:
        cursor.execute(
            _bulk_insert_sql(model, tuple(unique_fields), tuple(update_fields)), [payload]
        )
        return cursor.rowcount


def among(values, cast: str = "") -> tuple[str, object]:
    """SQL comparing a column with ``values`` (after ``= ``'s left side), and its parameter:
    ``= %s`` for one value, ``= ANY(%s)`` for several; ``cast`` is an SQL type for the value
    (``"uuid"``). For ``= ANY`` of a parameter the planner takes ten values, so it judges a
    prepared statement's generic plan dearer than one made for a single value and plans the
    statement again on every run: the single value (the common case of the hot paths) is
    compared with ``=``, which keeps the generic plan."""
    values = list(values)
    if len(values) == 1:
        return f"= %s{'::' + cast if cast else ''}", values[0]
    return f"= ANY(%s{'::' + cast + '[]' if cast else ''})", values
