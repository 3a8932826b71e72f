"""Writing the change feed (:class:`~scim_api.models.ScimChange`) and pruning it.

The user and group services call these inside their own transaction, and fold the feed's
INSERT into the statement that makes the change wherever they can (a data-modifying ``WITH``),
so that a write costs no extra round trip for its feed row: member changes in particular are
recorded by the very statement that inserts or deletes the memberships, from its
``RETURNING`` rows — N members cost one statement, and members that were already there (or
already gone) record nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from elium_portal import clock
from elium_portal.models import Tenant
from scim_api.feed import USER_LABEL_SQL, Origin
from scim_api.models import ScimChange, ScimGroup, ScimGroupMember, ScimUser

TABLE = ScimChange._meta.db_table
COLUMNS = (
    "tenant_id",
    "created_at",
    "kind",
    "object_type",
    "object_id",
    "object_name",
    "user_name",
    "group_id",
    "group_name",
    "changes",
    "token_prefix",
    "request_id",
)
_COLUMN_LIST = ", ".join(f'"{c}"' for c in COLUMNS)
_ROW = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
_CHANGES = ScimChange._meta.get_field("changes")
_NAME_LENGTH = ScimChange._meta.get_field("object_name").max_length


@dataclass(frozen=True)
class FeedRow:
    """One row to write, without what every row of a write shares (tenant, time, origin)."""

    kind: str
    object_type: str
    object_id: uuid.UUID
    object_name: str
    user_name: str = ""
    group_id: uuid.UUID | None = None
    group_name: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)


def feed_insert_sql(
    *,
    tenant: Tenant,
    origin: Origin,
    rows: list[FeedRow],
    now: dt.datetime | None = None,
    only_if: str | None = None,
) -> tuple[str, list]:
    """``INSERT`` of ``rows`` as (sql, params): run it alone (:func:`feed_write`) or as a
    ``WITH`` part of the statement that makes the change. With ``only_if`` (the name of an
    earlier ``WITH`` part), the rows are written only if that part returned a row: a change
    made on a condition (an expected version) records nothing when the condition failed."""
    now = now or clock.now()
    params: list = []
    for row in rows:
        params += [
            tenant.pk,
            now,
            row.kind,
            row.object_type,
            row.object_id,
            row.object_name[:_NAME_LENGTH],
            row.user_name[:_NAME_LENGTH],
            row.group_id,
            row.group_name[:_NAME_LENGTH],
            _CHANGES.get_db_prep_save(row.changes, connection),
            origin.token_prefix,
            origin.request_id,
        ]
    if only_if is None:
        sql = f'INSERT INTO "{TABLE}" ({_COLUMN_LIST}) VALUES ' + ", ".join([_ROW] * len(rows))
    else:
        sql = (
            f'INSERT INTO "{TABLE}" ({_COLUMN_LIST}) SELECT * FROM (VALUES '
            + ", ".join([_typed_row()] * len(rows))
            + f") v WHERE EXISTS (SELECT FROM {only_if})"
        )
    return sql, params


@functools.cache
def _typed_row() -> str:
    """A VALUES row whose placeholders carry their column's type (outside an INSERT's own
    VALUES, PostgreSQL would otherwise read an untyped parameter as text)."""
    by_column = {f.column: f for f in ScimChange._meta.concrete_fields}
    types = [
        f.target_field.db_type(connection) if f.is_relation else f.db_type(connection)
        for f in (by_column[c] for c in COLUMNS)
    ]
    return "(" + ", ".join(f"%s::{t.split('(')[0]}" for t in types) + ")"


def feed_write(*, tenant: Tenant, origin: Origin, rows: list[FeedRow]) -> None:
    """Write ``rows`` in one statement (none when there are none)."""
    if not rows:
        return
    sql, params = feed_insert_sql(tenant=tenant, origin=origin, rows=rows)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def with_feed(
    sql: str, params: list, *, tenant: Tenant, origin: Origin, rows: list[FeedRow]
) -> tuple[str, list]:
    """``sql`` (a statement that may start with its own ``WITH``) with the feed's INSERT of
    ``rows`` as one more ``WITH`` part: one round trip for both. Placeholders stay in order."""
    if not rows:
        return sql, params
    feed_sql, feed_params = feed_insert_sql(tenant=tenant, origin=origin, rows=rows)
    if sql.lstrip().upper().startswith("WITH "):
        body = sql.lstrip()[5:]
        return f"WITH feed AS ({feed_sql}), {body}", feed_params + params
    return f"WITH feed AS ({feed_sql}) {sql}", feed_params + params


def member_feed_sql(
    source: str, *, kind: str, tenant: Tenant, group: ScimGroup, origin: Origin
) -> tuple[str, list]:
    """``INSERT`` of a feed row per membership row of the CTE ``source`` (its ``user_id`` and
    ``member_group_id``): member changes are recorded from what the statement changed, with
    the members' names read in the same statement."""
    user_table = ScimUser._meta.db_table
    group_table = ScimGroup._meta.db_table
    label = USER_LABEL_SQL.format(alias="u")
    sql = (
        f'INSERT INTO "{TABLE}" ({_COLUMN_LIST}) '
        f"SELECT %s, %s, %s, CASE WHEN m.user_id IS NULL THEN 'group' ELSE 'user' END, "
        f"COALESCE(m.user_id, m.member_group_id), "
        f"LEFT(COALESCE({label}, g.display_name, ''), {_NAME_LENGTH}), "
        f"COALESCE(u.user_name, ''), %s, %s, '[]'::jsonb, %s, %s "
        f"FROM {source} m "
        f'LEFT JOIN "{user_table}" u ON u.id = m.user_id '
        f'LEFT JOIN "{group_table}" g ON g.id = m.member_group_id'
    )
    params = [
        tenant.pk,
        clock.now(),
        kind,
        group.pk,
        group.display_name[:_NAME_LENGTH],
        origin.token_prefix,
        origin.request_id,
    ]
    return sql, params


MEMBER_TABLE = ScimGroupMember._meta.db_table


def scim_change_feed_prune(*, days: int | None = None, batch_size: int = 5_000) -> int:
    """Delete feed rows older than ``SCIM_CHANGE_FEED_DAYS``, ``batch_size`` rows per
    transaction (a big backlog never holds one long lock nor one huge transaction); returns
    how many went."""
    days = settings.SCIM_CHANGE_FEED_DAYS if days is None else days
    cutoff = clock.now() - dt.timedelta(days=days)
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f'DELETE FROM "{TABLE}" WHERE id IN '
                f'(SELECT id FROM "{TABLE}" WHERE created_at < %s LIMIT %s)',
                [cutoff, batch_size],
            )
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch_size:
            return total
