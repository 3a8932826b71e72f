"""Reading the directory change feed incrementally without ever skipping a change.

Why not "ids above the last id seen": ``ChangeRecord.id`` is a bigserial, and PostgreSQL hands
sequence values out when a row is inserted, not when its transaction commits. Transaction A can
take id 10, transaction B id 11; B commits, a reader sees 11 and moves its watermark to 11; A
commits later, and id 10 is never read. Under load that loses changes.

The scheme used instead: every row stores the id of the transaction that wrote it
(``ChangeRecord.txid`` = ``pg_current_xact_id()``, an xid8 — 64-bit, never wraps, filled in
by PostgreSQL as the column's default). A reader takes the *horizon*
``pg_snapshot_xmin(pg_current_snapshot())``: the oldest transaction id still in progress.
Every transaction with an id below the horizon has finished — committed (its rows are visible)
or rolled back (its rows never will be) — and any transaction that gets an id later gets one at
or above the horizon. So the rows with ``txid < horizon`` form a closed, complete set.

A cycle reads the window ``[previous horizon, new horizon)`` and, when it completes, stores the
new horizon as the job's watermark. Each row is read by exactly one window: none is skipped
(late committers sit at or above the horizon and fall into a later window) and none is read
twice. The cost is latency, not loss: a long-running transaction anywhere in the cluster holds
the horizon back, delaying (never dropping) the changes committed after it started.

An initial cycle reads the whole directory; it takes its horizon *before* reading, so what it
reads includes at least everything below the horizon, and the first incremental cycle starts
from there (at worst re-reading a few objects, which is harmless: cycles are idempotent).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from provisioning.models import ChangeRecord, Directory, DirectoryGroupMember, EnterpriseApplication

Kind = ChangeRecord.ObjectType


def change_horizon() -> int:
    """The oldest in-flight transaction id: every change below it is final."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return int(cursor.fetchone()[0])


def change_window(*, directory: Directory, start: int, end: int) -> QuerySet[ChangeRecord]:
    """The directory's changes written by transactions with ids in ``[start, end)``."""
    return ChangeRecord.objects.filter(directory=directory, txid__gte=start, txid__lt=end)


def _chunks(values: Iterable, size: int = 2000):
    batch = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def changed_objects(
    *, directory: Directory, application: EnterpriseApplication, start: int, end: int
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(user object ids, group object ids) whose provisioning may have changed in the window.

    A user is affected by its own changes, by joining or leaving a group (the group may be
    what assigns it to the app) and by an assignment to this app of itself or of a group it is
    a direct member of. A group is affected by its own changes, its memberships and its
    assignments. Ids that turn out not to be users (a nested group in a membership) are
    dropped later, when nothing of that type is found."""
    window = change_window(directory=directory, start=start, end=end)
    users: set[uuid.UUID] = set()
    groups: set[uuid.UUID] = set()
    assigned: set[uuid.UUID] = set()
    rows = window.values_list("object_type", "object_id", "related_object_id").iterator(
        chunk_size=5000
    )
    for object_type, object_id, related in rows:
        if object_type == Kind.USER:
            users.add(object_id)
        elif object_type == Kind.GROUP:
            groups.add(object_id)
        elif object_type == Kind.MEMBERSHIP:
            groups.add(object_id)
            if related:
                users.add(related)
        elif object_type == Kind.ASSIGNMENT and related == application.object_id:
            assigned.add(object_id)
    # An assignment's principal may be a user or a group; a group's direct members follow it.
    users |= assigned
    groups |= assigned
    for batch in _chunks(assigned):
        members = DirectoryGroupMember.objects.filter(
            group__directory=directory,
            group__object_id__in=batch,
            member_user__isnull=False,
        ).values_list("member_user__object_id", flat=True)
        users.update(members)
    return users, groups
