"""Pages of a tenant's users or groups in the default order (``created``, ``id``), at any depth
for the price of a shallow one.

``startIndex`` is a position, and PostgreSQL finds the 90,001st row of an index by stepping
over the 90,000 before it: a page deep in 100,000 users costs tens of milliseconds of the
database, a first page a fraction of one. So each process remembers, per tenant, the key of
every :data:`STRIDE`-th row (its *anchors*), and a deep page starts from the anchor before it:
``(created, id) >= anchor ... OFFSET (start - anchor's position)`` steps over fewer than
:data:`STRIDE` rows.

Anchors are only right while the tenant has the same rows. A row's tenant, ``created`` and id
never change, so only an insert or a delete can move a position, and the count triggers add
up every row inserted or deleted (``ScimResourceCount.writes``). The anchors carry that sum as
it was when they were read; every page reads it again *in the same statement* as its rows (one
snapshot), and is only kept when the two are equal. Snapshots taken one after another see ever
more committed transactions, each of which adds to the sum, so an equal sum means the same rows.
The sum goes with the database server's start time: a server restored from a backup (or a
replica promoted) may have a smaller sum that grows back to the remembered one with other rows,
and it has started since.

A page read from stale anchors is read again from the start of the index, exactly as it would
have been without them, and the anchors are read again — at most once a second per tenant and
process, and never more than a twentieth of the time (:data:`REREAD_FACTOR`), so that a tenant
written to all the time pays little for a cache that cannot help it.

Inside a transaction nothing is remembered or trusted: the transaction's own uncommitted
writes are in its sum, and another transaction could commit the same sum with other rows."""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.db import connection

from elium_portal.fastsql import instances_from_rows
from scim_api.models import ScimResourceCount

#: Rows between two anchors: the most a page steps over.
STRIDE = 1000
#: Tenants × resource types whose anchors a process keeps (least recently used go first).
MAX_REMEMBERED = 256
#: The least time between two readings of one tenant's anchors in one process, and the least
#: multiple of the last reading's own time: reading them is a scan of the tenant's page-order
#: index, so a tenant that changes all the time costs a process at most 1/20 of its time.
REREAD_AFTER = 1.0
REREAD_FACTOR = 20
#: How many ids of the index a page statement reads, the first of these at least its offset and
#: its count (more than the last: the offset and the count are parameters). A ``LIMIT`` that
#: is a parameter is estimated by the planner as a tenth of the tenant's rows, so PostgreSQL
#: judged the prepared statement's generic plan far dearer than one made for the values at hand
#: and planned the page again on every request (~1 ms of its CPU). A constant ``LIMIT`` keeps
#: the generic plan as cheap as a custom one, and it is used.
REACHES = (128, 256, 512, 1024, 2048)


@dataclass(frozen=True)
class Anchors:
    version: str  # the tenant's sum of writes, @ the database server's start time
    stride: int
    keys: tuple  # (created, id) of the rows at positions 0, stride, 2 × stride, …


@dataclass(frozen=True)
class PlainPage:
    rows: list  # model instances
    total: int
    extras: list  # per row, the values of the columns read along


class _Memory:
    """The anchors of the most recently paged tenants, and when each may be read again."""

    def __init__(self):
        self._lock = threading.Lock()
        self._anchors: OrderedDict = OrderedDict()
        self._next_read: dict = {}

    def get(self, key) -> Anchors | None:
        with self._lock:
            anchors = self._anchors.get(key)
            if anchors is not None:
                self._anchors.move_to_end(key)
            return anchors

    def may_read(self, key) -> bool:
        with self._lock:
            return time.monotonic() >= self._next_read.get(key, 0.0)

    def put(self, key, anchors: Anchors, *, took: float) -> None:
        with self._lock:
            self._anchors[key] = anchors
            self._anchors.move_to_end(key)
            self._next_read[key] = time.monotonic() + max(REREAD_AFTER, REREAD_FACTOR * took)
            while len(self._anchors) > MAX_REMEMBERED:
                old, _ = self._anchors.popitem(last=False)
                self._next_read.pop(old, None)

    def forget(self, key) -> None:
        with self._lock:
            self._anchors.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._anchors.clear()
            self._next_read.clear()


memory = _Memory()


def counts_sql() -> str:
    """A tenant's total and its sum of writes @ the server's start time (named parameters:
    ``tenant``, the tenant's id, and ``resource``, the resource type)."""
    return (
        'SELECT COALESCE(SUM("n"), 0) AS total, '
        "COALESCE(SUM(\"writes\"), 0) || '@' || pg_postmaster_start_time() AS version "
        f'FROM "{ScimResourceCount._meta.db_table}" '
        'WHERE "tenant_id" = %(tenant)s AND "resource" = %(resource)s'
    )


@dataclass(frozen=True)
class Along:
    """What a page reads along with its rows, in its own statement: ``ctes`` (``WITH``
    queries, which may use ``page_ids``, the page's ids as the array ``ids``), then ``columns``
    and ``joins`` over the page's row ``p`` (NULL in the one row of an empty page). Its SQL
    names its parameters: ``%(tenant)s``, the tenant's id, and those given to
    :func:`plain_page`."""

    ctes: str = ""
    columns: str = ""
    joins: str = ""


def _reach(offset: int, count: int) -> int | None:
    """The first of :data:`REACHES` that holds the page, or None (LIMIT and OFFSET then)."""
    return next((reach for reach in REACHES if reach >= offset + count), None)


@functools.cache
def _page_sql(model, fields: tuple, anchored: bool, along: Along, reach: int | None) -> str:
    """The tenant's total and sum of writes, with the page's rows (none: one row of NULLs) and
    what is read ``along``. The page's ids are found in the page-order index (the first
    ``reach`` of them, then the page's slice; without ``reach``, by LIMIT and OFFSET), then the
    rows read by primary key, so that even a generic plan of the prepared statement reads 100
    rows, not the table."""
    table = model._meta.db_table
    columns = [f'p."{f.column}"' for f in fields]
    if along.columns:
        columns.append(along.columns)
    after = ' AND ("created", "id") >= (%(after_created)s, %(after_id)s)' if anchored else ""
    ids = (
        f'SELECT "id" FROM "{table}" WHERE "tenant_id" = %(tenant)s{after} ORDER BY "created", "id"'
    )
    if reach is None:
        page_ids = f"ARRAY({ids} LIMIT %(count)s OFFSET %(offset)s)"
    else:
        page_ids = (
            f"(ARRAY({ids} LIMIT {reach}))[%(offset)s::int + 1 : %(offset)s::int + %(count)s::int]"
        )
    return (
        f"WITH page_ids AS (SELECT {page_ids} AS ids)"
        + (f", {along.ctes}" if along.ctes else "")
        + f" SELECT c.total, c.version, {', '.join(columns)}"
        + f" FROM ({counts_sql()}) c CROSS JOIN page_ids"
        + f' LEFT JOIN "{table}" p ON p."id" = ANY(page_ids.ids)'
        + (f" {along.joins}" if along.joins else "")
        + ' ORDER BY p."created", p."id"'
    )


@functools.cache
def _anchors_sql(model, stride: int) -> str:
    """The sum of writes, with the key of every STRIDE-th row of the tenant (an index-only scan
    of the page-order index)."""
    table = model._meta.db_table
    return (
        f"SELECT c.version, a.created, a.id FROM ({counts_sql()}) c LEFT JOIN ("
        'SELECT "created", "id", row_number() OVER (ORDER BY "created", "id") AS rn '
        f'FROM "{table}" WHERE "tenant_id" = %(tenant)s) a ON a.rn %% {stride} = 1 '
        "ORDER BY a.rn"
    )


def _read_anchors(model, resource: str, tenant_id: int) -> Anchors:
    with connection.cursor() as cursor:
        cursor.execute(_anchors_sql(model, STRIDE), {"tenant": tenant_id, "resource": resource})
        rows = cursor.fetchall()
    keys = tuple((row[1], row[2]) for row in rows if row[2] is not None)
    return Anchors(rows[0][0], STRIDE, keys)


def _read_page(model, fields, along, params, *, count, offset, anchor=None):
    params = {**params, "count": count, "offset": offset}
    if anchor is not None:
        params["after_created"], params["after_id"] = anchor
    with connection.cursor() as cursor:
        sql = _page_sql(model, fields, anchor is not None, along, _reach(offset, count))
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    total, version = int(rows[0][0]), rows[0][1]
    rows = [row for row in rows if row[2] is not None]
    end = 2 + len(fields)
    page = PlainPage(
        instances_from_rows(
            model, [row[:end] for row in rows] if along.columns else rows, fields=fields, skip=2
        )
        if fields
        else [],
        total,
        [row[end:] for row in rows] if along.columns else [],
    )
    return page, version


def plain_page(
    model,
    fields: tuple,
    *,
    resource: str,
    tenant_id: int,
    offset: int,
    count: int,
    along: Along = Along(),
    params: dict | None = None,
) -> PlainPage:
    """``count`` of the tenant's ``model`` rows (instances with ``fields`` loaded; none when
    ``fields`` is empty) from position ``offset`` in the default order, each with the values of
    the columns read ``along`` with it (``params``: the values of their named parameters), and
    the tenant's total: one statement, which steps over fewer than :data:`STRIDE` rows when the
    tenant's anchors are known and still hold. Without ``fields``, the first column read along
    must be NULL only where the page has no row."""
    params = {**(params or {}), "tenant": tenant_id, "resource": resource}
    read = functools.partial(_read_page, model, fields, along, params, count=count)
    if offset >= STRIDE and not connection.in_atomic_block:
        key = (model, tenant_id)
        anchors = memory.get(key)
        for _ in range(2):
            if anchors is None:
                if not memory.may_read(key):
                    break
                started = time.monotonic()
                anchors = _read_anchors(model, resource, tenant_id)
                memory.put(key, anchors, took=time.monotonic() - started)
            position = min(offset // anchors.stride, len(anchors.keys) - 1)
            if position <= 0:
                break  # fewer rows than one stride: nothing to step over
            page, version = read(
                offset=offset - position * anchors.stride, anchor=anchors.keys[position]
            )
            if version == anchors.version:
                return page
            memory.forget(key)  # stale
            anchors = None
    return read(offset=offset)[0]
